import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { CurrentCaller, ErrorResponseDto, type Caller } from '@protobank/platform';
import {
  NotificationDto,
  NotificationIdParams,
  NotificationListDto,
  NotificationListQuery,
  ReadAllDto,
  UnreadCountDto,
} from './notification.dto';
import { NotificationsService } from './notifications.service';

@ApiTags('notifications')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@Controller('notifications')
export class NotificationsController {
  constructor(private readonly notifications: NotificationsService) {}

  @Get()
  @ApiOperation({ summary: 'Your notifications, newest first, with the unread count' })
  @ApiOkResponse({ type: NotificationListDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  list(@CurrentCaller() caller: Caller, @Query() query: NotificationListQuery): Promise<NotificationListDto> {
    return this.notifications.list(caller.user_id, query);
  }

  @Get('unread-count')
  @ApiOperation({ summary: 'How many of your notifications are unread' })
  @ApiOkResponse({ type: UnreadCountDto })
  async unreadCount(@CurrentCaller() caller: Caller): Promise<UnreadCountDto> {
    return { unread_count: await this.notifications.unreadCount(caller.user_id) };
  }

  @Post('read-all')
  @HttpCode(200)
  @ApiOperation({ summary: 'Mark all your notifications read' })
  @ApiOkResponse({ type: ReadAllDto })
  readAll(@CurrentCaller() caller: Caller): Promise<ReadAllDto> {
    return this.notifications.markAllRead(caller.user_id);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One of your notifications' })
  @ApiOkResponse({ type: NotificationDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  get(@CurrentCaller() caller: Caller, @Param() params: NotificationIdParams): Promise<NotificationDto> {
    return this.notifications.get(caller.user_id, params.id);
  }

  @Post(':id/read')
  @HttpCode(200)
  @ApiOperation({ summary: 'Mark one notification read (again is fine)' })
  @ApiOkResponse({ type: NotificationDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  read(@CurrentCaller() caller: Caller, @Param() params: NotificationIdParams): Promise<NotificationDto> {
    return this.notifications.markRead(caller.user_id, params.id);
  }
}
