import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import {
  CurrentCaller,
  ErrorResponseDto,
  IsUuid,
  OptionalStaffReasonDto,
  PageQuery,
  Roles,
  staffActor,
  StaffGate,
  type Caller,
} from '@protobank/platform';

import { CHANNELS } from '../preferences/preference-rules';
import { FailedDeliveriesService } from './failed-deliveries.service';

class DeliveryIdParams {
  @ApiProperty({ format: 'uuid' })
  @IsUuid()
  id: string;
}

class DeliveryDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) notification_id: string;
  @ApiProperty({ format: 'uuid' }) user_id: string;
  @ApiProperty({ enum: CHANNELS }) channel: string;
  @ApiProperty({ enum: ['pending', 'sent', 'failed', 'skipped'] }) status: string;
  @ApiProperty({ type: 'integer', example: 6 }) attempts: number;
  @ApiProperty({ nullable: true, type: String, example: 'webhook answered 503' }) last_error: string | null;
  @ApiProperty({ example: 'Money sent' }) title: string;
  @ApiProperty({ format: 'date-time' }) created_at: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) failed_at: string | null;
}

class DeliveryListDto {
  @ApiProperty({ type: [DeliveryDto] }) data: DeliveryDto[];
  @ApiProperty({ nullable: true, type: String }) next_cursor: string | null;
}

@ApiTags('notifications (staff)')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@ApiForbiddenResponse({ type: ErrorResponseDto })
@Controller('admin/notifications')
@Roles('staff', 'admin')
export class FailedDeliveriesController {
  constructor(
    private readonly failed: FailedDeliveriesService,
    private readonly gate: StaffGate,
  ) {}

  @Get('failed')
  @ApiOperation({
    summary: 'Deliveries that used up their retries, most recent failure first',
    description: "A staff member's list leaves out colleagues' (staff members' and admins') deliveries.",
  })
  @ApiOkResponse({ type: DeliveryListDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  list(@CurrentCaller() caller: Caller, @Query() query: PageQuery): Promise<DeliveryListDto> {
    return this.failed.list(caller, query.cursor, query.limit ?? 20);
  }

  @Post('failed/:id/retry')
  @HttpCode(202)
  @ApiAcceptedResponse({ type: DeliveryDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'delivery_not_failed' })
  @ApiForbiddenResponse({
    type: ErrorResponseDto,
    description:
      "forbidden: not staff; own_notification: the caller's own; colleague_account: a colleague's takes an admin",
  })
  @ApiOperation({
    summary: 'Try a failed delivery again, with a fresh set of retries',
    description:
      "Audited (delivery_retried in GET /admin/audit, with the reason, if given). Not on the caller's own notification (403 own_notification); a colleague's (a staff member's or an admin's) takes an admin (403 colleague_account).",
  })
  retry(
    @CurrentCaller() caller: Caller,
    @Param() params: DeliveryIdParams,
    @Body() body: OptionalStaffReasonDto,
  ): Promise<DeliveryDto> {
    const actor = staffActor(caller);
    // No change of the actor's or the owner's role or access lands while this runs (StaffGate).
    return this.gate.act(caller, (pass) => this.failed.retry(actor, pass, params.id, body.reason ?? null));
  }
}
