import { Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
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
  CurrentCaller,
  ErrorResponseDto,
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
  ) {}

  @Get('payments/failed')
  @ApiOperation({ summary: 'Failed payments, newest first' })
  @ApiOkResponse({ type: PaymentListDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  failed(@Query() query: PageQuery): Promise<PaymentListDto> {
    return this.history.failed(query.cursor, query.limit ?? 20);
  }

  @Post('payments/run-due')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Run the due sweep now',
    description:
      'Pays what is due, as the every-minute scheduler does, and answers with what it did. Safe at any time and repeatedly: sweeps run one at a time (a call waits for a running one), and each payment is posted under its own key. Audited (due_sweep_run, with the counts).',
  })
  @ApiOkResponse({ type: SweepCountsDto })
  runDue(@CurrentCaller() caller: Caller): Promise<SweepCountsDto> {
    return this.sweep.runFor(staffActor(caller));
  }

  @Get('standing-orders')
  @ApiOperation({ summary: "A customer's standing orders, newest first" })
  @ApiOkResponse({ type: StandingOrderListDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  standingOrders(@Query() query: AdminStandingOrdersQuery): Promise<StandingOrderListDto> {
    return this.orders.list({ owner_id: query.owner_id }, query.cursor, query.limit ?? 20);
  }
}
