import { Controller, Get, Query } from '@nestjs/common';
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
import { PaymentHistoryQuery, PaymentListDto } from '../orders/order.dto';
import { PaymentHistoryService } from './payment-history.service';

@ApiTags('payments')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@Controller('payments')
export class PaymentsController {
  constructor(private readonly history: PaymentHistoryService) {}

  @Get()
  @ApiOperation({
    summary: 'Your standing-order and scheduled payments that have run, paid or failed, newest first',
  })
  @ApiOkResponse({ type: PaymentListDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'account_id is not an account of yours' })
  list(@CurrentCaller() caller: Caller, @Query() query: PaymentHistoryQuery): Promise<PaymentListDto> {
    return this.history.forCustomer(caller.user_id, query.account_id, query.cursor, query.limit ?? 20);
  }
}
