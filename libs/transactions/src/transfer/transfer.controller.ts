import { Body, Controller, Post, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
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
  IdempotencyKey,
  idempotentResponse,
  type HttpReply,
  type Caller,
} from '@protobank/platform';
import { TransactionDto } from '../history/transaction.dto';
import { TransferDto } from './transfer.dto';
import { TransferService } from './transfer.service';

export const IDEMPOTENCY_HEADER_DOC = {
  name: 'Idempotency-Key',
  required: true,
  description:
    'Required. Retrying with the same key and body replays the first response (Idempotent-Replayed: true) and moves no money again; the same key with another body is 422. Keys are kept at least 24 h.',
  example: '5f0c2b8e-2f64-4a8f-9d1e-1c8b7d6e5a41',
};

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
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No such account (of yours, for the source)' })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'account_frozen or account_closed' })
  @ApiUnprocessableEntityResponse({
    type: ErrorResponseDto,
    description: 'insufficient_funds, currency_mismatch, same_account, idempotency_key_reused',
  })
  @ApiTooManyRequestsResponse({
    type: ErrorResponseDto,
    description:
      'rate_limited: more than TRANSFER_MISS_LIMIT of your transfers were refused in the window because their destination does not exist, is closed or holds another currency; every transfer waits until Retry-After',
  })
  async transfer(
    @CurrentCaller() caller: Caller,
    @IdempotencyKey() key: string,
    @Body() body: TransferDto,
    @Res({ passthrough: true }) res: HttpReply,
  ) {
    return idempotentResponse(res, await this.transfers.transfer(caller, body, key));
  }
}
