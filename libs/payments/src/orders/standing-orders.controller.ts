import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
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
  PageQuery,
  type Caller,
  type HttpReply,
} from '@protobank/platform';
import {
  CreateStandingOrderDto,
  OrderIdParams,
  PaymentListDto,
  StandingOrderDto,
  StandingOrderListDto,
  UpdateStandingOrderDto,
} from './order.dto';
import { MAX_STANDING_ORDERS } from './order-checks';
import { StandingOrdersService } from './standing-orders.service';

@ApiTags('payments')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@Controller('standing-orders')
export class StandingOrdersController {
  constructor(private readonly orders: StandingOrdersService) {}

  @Post()
  @ApiOperation({
    summary: 'Set up a standing order',
    description:
      "Pays every week, month, quarter or year from start_date (today's first payment is made at once), until end_date or count payments. Dates are in the bank's time zone; a weekend or bank holiday pays on the next working day. Without enough money a payment is tried again PAYMENT_RETRY_ATTEMPTS times, PAYMENT_RETRY_INTERVAL_MINUTES apart (one refused late in the evening is tried again after midnight), then fails for its date; STANDING_ORDER_MAX_CONSECUTIVE_FAILURES failures in a row suspend the order.",
  })
  @ApiHeader(IDEMPOTENCY_HEADER_DOC)
  @ApiCreatedResponse({ type: StandingOrderDto })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description: 'Invalid body (dates, frequency), missing Idempotency-Key',
  })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No such account of yours, or payee' })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description: 'account_closed, account_frozen (the first payment due today: it would fail at once)',
  })
  @ApiUnprocessableEntityResponse({
    type: ErrorResponseDto,
    description: `currency_mismatch, currency_not_supported, same_account, payee_account_closed, idempotency_key_reused, too_many_standing_orders (at most ${MAX_STANDING_ORDERS} active or suspended). A refusal for an internal payee's account (closed, another currency) counts toward TRANSFER_MISS_LIMIT, once per Idempotency-Key`,
  })
  @ApiTooManyRequestsResponse({
    type: ErrorResponseDto,
    description:
      "rate_limited: PAYMENT_ORDERS_PER_DAY of them set up in the last 24 hours (cancelled ones too); or, past TRANSFER_MISS_LIMIT, an order the internal payee's account would refuse is refused so instead (until Retry-After)",
  })
  async create(
    @CurrentCaller() caller: Caller,
    @IdempotencyKey() key: string,
    @Body() body: CreateStandingOrderDto,
    @Res({ passthrough: true }) res: HttpReply,
  ): Promise<StandingOrderDto> {
    return idempotentResponse(res, await this.orders.create(caller.user_id, body, key));
  }

  @Get()
  @ApiOperation({ summary: 'Your standing orders, newest first' })
  @ApiOkResponse({ type: StandingOrderListDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  list(@CurrentCaller() caller: Caller, @Query() query: PageQuery): Promise<StandingOrderListDto> {
    return this.orders.list({ owner_id: caller.user_id }, query.cursor, query.limit ?? 20);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One of your standing orders' })
  @ApiOkResponse({ type: StandingOrderDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  get(@CurrentCaller() caller: Caller, @Param() params: OrderIdParams): Promise<StandingOrderDto> {
    return this.orders.get(caller.user_id, params.id);
  }

  @Patch(':id')
  @ApiOperation({
    summary: 'Change the amount, reference or end date',
    description:
      'From the next payment on, including one scheduled and not yet tried (a weekend date waiting for Monday: ' +
      'pending in /payments, while next_payment_date is already the date after it); one being made or ' +
      'retried keeps its own. end_date is today or later (cancel the order to stop a payment already due).',
  })
  @ApiOkResponse({ type: StandingOrderDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'order_not_active' })
  update(
    @CurrentCaller() caller: Caller,
    @Param() params: OrderIdParams,
    @Body() body: UpdateStandingOrderDto,
  ): Promise<StandingOrderDto> {
    return this.orders.update(caller.user_id, params.id, body);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({ summary: 'Cancel a standing order: no further payments' })
  @ApiOkResponse({ type: StandingOrderDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'already_cancelled, order_completed' })
  cancel(@CurrentCaller() caller: Caller, @Param() params: OrderIdParams): Promise<StandingOrderDto> {
    return this.orders.cancel(caller.user_id, params.id);
  }

  @Post(':id/resume')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Resume a suspended standing order',
    description:
      "An order suspended after STANDING_ORDER_MAX_CONSECUTIVE_FAILURES failed dates pays again from its first date whose paying day is today or later (today's is paid at once). Dates missed while it was suspended are not paid, and still count toward count. The account and the payee are checked as for a new order, and the account must not be frozen.",
  })
  @ApiOkResponse({ type: StandingOrderDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description:
      'order_not_suspended (active, cancelled or completed), order_finished (no date left: end_date or count has passed), account_closed, account_frozen',
  })
  @ApiUnprocessableEntityResponse({ type: ErrorResponseDto, description: 'payee_account_closed' })
  resume(@CurrentCaller() caller: Caller, @Param() params: OrderIdParams): Promise<StandingOrderDto> {
    return this.orders.resume(caller.user_id, params.id);
  }

  @Get(':id/payments')
  @ApiOperation({
    summary: 'Every payment of the order: due date, status, attempts, ledger entry, failure reason',
  })
  @ApiOkResponse({ type: PaymentListDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  payments(
    @CurrentCaller() caller: Caller,
    @Param() params: OrderIdParams,
    @Query() query: PageQuery,
  ): Promise<PaymentListDto> {
    return this.orders.payments(caller.user_id, params.id, query.cursor, query.limit ?? 20);
  }
}
