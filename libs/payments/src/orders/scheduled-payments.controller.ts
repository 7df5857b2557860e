import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import {
  CurrentCaller,
  ErrorResponseDto,
  IDEMPOTENCY_HEADER_DOC,
  IdempotencyKey,
  idempotentResponse,
  type Caller,
  type HttpReply,
} from '@protobank/platform';
import {
  CreateScheduledPaymentDto,
  OrderIdParams,
  ScheduledPaymentDto,
  ScheduledPaymentListDto,
  ScheduledPaymentsQuery,
} from './order.dto';
import { MAX_SCHEDULED_PAYMENTS } from './order-checks';
import { ScheduledPaymentsService } from './scheduled-payments.service';

@ApiTags('payments')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@Controller('scheduled-payments')
export class ScheduledPaymentsController {
  constructor(private readonly scheduled: ScheduledPaymentsService) {}

  @Post()
  @ApiOperation({
    summary: 'Schedule a one-off payment to a payee',
    description:
      "Paid on pay_on (the next working day when that is a weekend or bank holiday), within a minute of the day starting in the bank's time zone; today's is paid at once. Funds are checked when it is paid: without enough, it is tried again PAYMENT_RETRY_ATTEMPTS times, PAYMENT_RETRY_INTERVAL_MINUTES apart (one refused late in the evening is tried again after midnight), then fails.",
  })
  @ApiHeader(IDEMPOTENCY_HEADER_DOC)
  @ApiCreatedResponse({ type: ScheduledPaymentDto })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description: 'Invalid body (pay_on in the past or beyond a year), missing Idempotency-Key',
  })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No such account of yours, or payee' })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description: 'account_closed, account_frozen (the first payment due today: it would fail at once)',
  })
  @ApiUnprocessableEntityResponse({
    type: ErrorResponseDto,
    description: `currency_mismatch, currency_not_supported, same_account, payee_account_closed, idempotency_key_reused, too_many_scheduled_payments (at most ${MAX_SCHEDULED_PAYMENTS} waiting). A refusal for an internal payee's account (closed, another currency) counts toward TRANSFER_MISS_LIMIT, once per Idempotency-Key`,
  })
  @ApiTooManyRequestsResponse({
    type: ErrorResponseDto,
    description:
      "rate_limited: PAYMENT_ORDERS_PER_DAY of them set up in the last 24 hours (cancelled ones too); or, past TRANSFER_MISS_LIMIT, an order the internal payee's account would refuse is refused so instead (until Retry-After)",
  })
  async create(
    @CurrentCaller() caller: Caller,
    @IdempotencyKey() key: string,
    @Body() body: CreateScheduledPaymentDto,
    @Res({ passthrough: true }) res: HttpReply,
  ): Promise<ScheduledPaymentDto> {
    return idempotentResponse(res, await this.scheduled.create(caller.user_id, body, key));
  }

  @Get()
  @ApiOperation({ summary: 'Your scheduled payments, newest first' })
  @ApiOkResponse({ type: ScheduledPaymentListDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  list(
    @CurrentCaller() caller: Caller,
    @Query() query: ScheduledPaymentsQuery,
  ): Promise<ScheduledPaymentListDto> {
    return this.scheduled.list(caller.user_id, query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One of your scheduled payments, with its payment' })
  @ApiOkResponse({ type: ScheduledPaymentDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  get(@CurrentCaller() caller: Caller, @Param() params: OrderIdParams): Promise<ScheduledPaymentDto> {
    return this.scheduled.get(caller.user_id, params.id);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({ summary: 'Cancel a scheduled payment that has not run yet' })
  @ApiOkResponse({ type: ScheduledPaymentDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description: 'payment_already_run, payment_in_progress, already_cancelled',
  })
  cancel(@CurrentCaller() caller: Caller, @Param() params: OrderIdParams): Promise<ScheduledPaymentDto> {
    return this.scheduled.cancel(caller.user_id, params.id);
  }
}
