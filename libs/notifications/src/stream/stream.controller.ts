import { Controller, Get, Headers, Req, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiQuery,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import {
  AppError,
  CurrentCaller,
  ErrorResponseDto,
  TokenInQuery,
  type Caller,
  type HttpReply,
  type HttpRequest,
} from '@protobank/platform';
import { isUUID } from 'class-validator';
import { NotificationsService } from '../store/notifications.service';
import { sseEvent, StreamHub } from './stream-hub';

@ApiTags('notifications')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@Controller('notifications')
export class StreamController {
  constructor(
    private readonly hub: StreamHub,
    private readonly notifications: NotificationsService,
  ) {}

  @Get('stream')
  @TokenInQuery()
  @ApiOperation({
    summary: 'Live notifications (Server-Sent Events)',
    description:
      'A text/event-stream: each notification arrives as `event: notification` with its id and the JSON of ' +
      'GET /notifications/{id}. A comment line every 15 s keeps proxies from closing it. The stream ends with ' +
      '`event: end` when the access token expires or the session ends: reconnect with a fresh token and ' +
      '`Last-Event-ID` to receive what was missed. Browsers (EventSource cannot set headers) may pass the ' +
      'token as `access_token`.',
  })
  @ApiProduces('text/event-stream')
  @ApiQuery({ name: 'access_token', required: false, description: 'Instead of the Authorization header' })
  @ApiHeader({
    name: 'Last-Event-ID',
    required: false,
    description: 'The id of the last notification received',
  })
  @ApiOkResponse({ description: 'The event stream', content: { 'text/event-stream': {} } })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  async stream(
    @CurrentCaller() caller: Caller,
    @Req() req: HttpRequest,
    @Res() res: HttpReply,
    @Headers('last-event-id') lastEventId?: string,
  ): Promise<void> {
    if (lastEventId !== undefined && !isUUID(lastEventId)) {
      throw AppError.badRequest('validation_failed', 'Invalid request: Last-Event-ID', [
        { field: 'Last-Event-ID', message: 'Last-Event-ID must be the id of a notification' },
      ]);
    }
    void res.hijack();
    const raw = res.raw;
    raw.writeHead(200, {
      ...(res.getHeaders() as Record<string, string | string[]>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store, no-transform',
      // nginx would otherwise buffer the stream and hold each event back.
      'x-accel-buffering': 'no',
      connection: 'keep-alive',
    });
    raw.write('retry: 3000\n\n');
    // Attached before the replay, so nothing falls between the two (a repeat is possible: ids tell).
    this.hub.attach(caller.user_id, caller.session_id ?? '', req.tokenExpiresAt ?? 0, raw);
    if (!lastEventId) return;
    try {
      for (const n of await this.notifications.since(caller.user_id, lastEventId)) {
        if (raw.writableEnded) break;
        raw.write(sseEvent('notification', n, n.id));
      }
    } catch {
      // The response has started: no error body can follow. The client reconnects and asks again.
      raw.destroy();
    }
  }
}
