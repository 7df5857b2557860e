import { Body, Controller, Post, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiHeader,
  ApiNotFoundResponse,
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
  type HttpReply,
  type Caller,
} from '@protobank/platform';
import { TransactionDto } from '../history/transaction.dto';
import { TransferDto } from './transfer.dto';
import { TransferService } from './transfer.service';

@ApiTags('transactions')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@Controller('transactions')
export class TransferController {
  constructor(private readonly transfers: TransferService) {}

  @Post()
  @ApiOperation({ summary: 'Transfer money from your account to another account of the bank' })
  @ApiHeader(IDEMPOTENCY_HEADER_DOC)
  @ApiCreatedResponse({ type: TransactionDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Invalid body or missing Idempotency-Key' })
  @ApiForbiddenResponse({
    type: ErrorResponseDto,
    description:
      "recently_reset: for PASSWORD_RESET_HOLD_HOURS after a password reset by e-mail, only to the customer's own accounts (names the destination field)",
  })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No such account (of yours, for the source)' })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'account_frozen or account_closed' })
  @ApiUnprocessableEntityResponse({
    type: ErrorResponseDto,
    description: 'insufficient_funds, currency_mismatch, same_account, idempotency_key_reused',
  })
  @ApiTooManyRequestsResponse({
    type: ErrorResponseDto,
    description:
      'rate_limited: more than TRANSFER_MISS_LIMIT of your transfers were refused in the window because their destination does not exist, is closed or holds another currency; every transfer by account number waits until Retry-After. lookups_busy: more than TRANSFER_MISS_LIMIT transfers or payees by account number are being checked at once; retry this one after Retry-After (1 s)',
  })
  async transfer(
    @CurrentCaller() caller: Caller,
    @IdempotencyKey() key: string,
    @Body() body: TransferDto,
    @Res({ passthrough: true }) res: HttpReply,
  ): Promise<TransactionDto> {
    return idempotentResponse(res, await this.transfers.transfer(caller, body, key));
  }
}
