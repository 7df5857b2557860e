import { Body, Controller, Get, HttpCode, Inject, Post, Query } from '@nestjs/common';
import { USERS_API, type UsersApi } from '@protobank/contracts';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import {
  assertMaySeeOwner,
  CurrentCaller,
  ErrorResponseDto,
  OptionalStaffReasonDto,
  PageQuery,
  Roles,
  staffActor,
  type Caller,
} from '@protobank/platform';
import {
  AdminStandingOrdersQuery,
  PaymentListDto,
  StandingOrderListDto,
  SweepCountsDto,
} from '../orders/order.dto';
import { StandingOrdersService } from '../orders/standing-orders.service';
import { DueSweep } from '../run/due-sweep';
import { PaymentHistoryService } from './payment-history.service';

/** Staff views of payments, and the due sweep on demand. */
@ApiTags('payments (staff)')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@ApiForbiddenResponse({ type: ErrorResponseDto, description: 'Not staff' })
@Controller('admin')
@Roles('staff', 'admin')
export class AdminPaymentsController {
  constructor(
    private readonly history: PaymentHistoryService,
    private readonly orders: StandingOrdersService,
    private readonly sweep: DueSweep,
    @Inject(USERS_API) private readonly users: UsersApi,
  ) {}

  @Get('payments/failed')
  @ApiOperation({
    summary: 'Failed payments, newest first',
    description:
      "A staff member's list leaves out colleagues' (staff members' and admins') payments, which an admin's shows.",
  })
  @ApiOkResponse({ type: PaymentListDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  failed(@CurrentCaller() caller: Caller, @Query() query: PageQuery): Promise<PaymentListDto> {
    return this.history.failed(caller, query.cursor, query.limit ?? 20);
  }

  @Post('payments/run-due')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Run the due sweep now',
    description:
      'Pays what is due, as the every-minute scheduler does, and answers with what it did. Safe at any time and repeatedly: sweeps run one at a time (a call waits for a running one, up to 30 s: then 503 sweep_busy, nothing done), and each payment is posted under its own key. Audited (due_sweep_run, with the counts and the reason, if given).',
  })
  @ApiOkResponse({ type: SweepCountsDto })
  runDue(@CurrentCaller() caller: Caller, @Body() body: OptionalStaffReasonDto): Promise<SweepCountsDto> {
    return this.sweep.runFor(caller, staffActor(caller), body.reason ?? null);
  }

  @Get('standing-orders')
  @ApiOperation({
    summary: "A customer's standing orders, newest first",
    description: "A colleague's (a staff member's or an admin's) take an admin (403 colleague_account).",
  })
  @ApiOkResponse({ type: StandingOrderListDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'Not staff, or colleague_account' })
  async standingOrders(
    @CurrentCaller() caller: Caller,
    @Query() query: AdminStandingOrdersQuery,
  ): Promise<StandingOrderListDto> {
    // Read first (a bad cursor is a 400 that files nothing), filed (or refused) before it is shown.
    const page = await this.orders.list({ owner_id: query.owner_id }, query.cursor, query.limit ?? 20);
    await assertMaySeeOwner(caller, query.owner_id, this.users, {
      resource_type: 'user',
      resource_id: query.owner_id,
      viewed: 'standing_orders',
    });
    return page;
  }
}
