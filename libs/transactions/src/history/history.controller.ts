import { Controller, Get, Param, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { COLLEAGUE_READ_FORBIDDEN, CurrentCaller, ErrorResponseDto, type Caller } from '@protobank/platform';
import { HistoryService } from './history.service';
import {
  ListTransactionsQuery,
  TransactionDto,
  TransactionIdParams,
  TransactionPageDto,
} from './transaction.dto';

@ApiTags('transactions')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@Controller('transactions')
export class HistoryController {
  constructor(private readonly history: HistoryService) {}

  @Get()
  @ApiOperation({
    summary: "An account's transactions, newest first, with the balance after each",
    description:
      "Customers list their own accounts; staff customers' and their own (a colleague's takes an admin). Cursor-paged.",
  })
  @ApiOkResponse({ type: TransactionPageDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No such account of yours' })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: COLLEAGUE_READ_FORBIDDEN })
  list(@CurrentCaller() caller: Caller, @Query() query: ListTransactionsQuery): Promise<TransactionPageDto> {
    return this.history.list(caller, query);
  }

  @Get(':id')
  @ApiOperation({
    summary: 'One transaction (yours, or for staff one with a customer or themselves on a side)',
  })
  @ApiOkResponse({ type: TransactionDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: COLLEAGUE_READ_FORBIDDEN })
  get(@CurrentCaller() caller: Caller, @Param() params: TransactionIdParams): Promise<TransactionDto> {
    return this.history.get(caller, params.id);
  }
}
