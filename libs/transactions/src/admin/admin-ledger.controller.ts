import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
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
  Roles,
  type Caller,
} from '@protobank/platform';
import { TransactionDto, TransactionIdParams } from '../history/transaction.dto';
import {
  DepositDto,
  LedgerVerificationIdParams,
  LedgerVerificationJobDto,
  LedgerVerificationJobQuery,
  LedgerVerifyDto,
  LedgerVerifyQuery,
  ReverseDto,
} from './admin-ledger.dto';
import { AdminLedgerService } from './admin-ledger.service';
import { LedgerVerificationJobs } from './ledger-verification-jobs';
import { LedgerVerifyService } from './ledger-verify.service';

const MONEY_FORBIDDEN =
  "Not staff; own_account; colleague_account (money into or out of a staff member's or an admin's account, for staff)";

@ApiTags('ledger (staff)')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@ApiForbiddenResponse({ type: ErrorResponseDto, description: 'Not staff' })
@Controller('admin')
@Roles('staff', 'admin')
export class AdminLedgerController {
  constructor(
    private readonly admin: AdminLedgerService,
    private readonly verifier: LedgerVerifyService,
    private readonly verifications: LedgerVerificationJobs,
  ) {}

  @Post('deposits')
  @ApiOperation({
    summary: "Fund a customer's account from the bank's cash account",
    description:
      'The reason (required) goes to the audit trail only; the reference (optional) is what the customer reads.',
  })
  @ApiHeader(IDEMPOTENCY_HEADER_DOC)
  @ApiCreatedResponse({ type: TransactionDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: MONEY_FORBIDDEN })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'not_found: no such account (account_id)' })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'account_frozen or account_closed' })
  @ApiUnprocessableEntityResponse({
    type: ErrorResponseDto,
    description: 'currency_mismatch, idempotency_key_reused',
  })
  async deposit(
    @CurrentCaller() caller: Caller,
    @IdempotencyKey() key: string,
    @Body() body: DepositDto,
    @Res({ passthrough: true }) res: HttpReply,
  ): Promise<TransactionDto> {
    return idempotentResponse(res, await this.admin.deposit(caller, body, key));
  }

  @Post('transactions/:id/reverse')
  @ApiOperation({
    summary: 'Post the reversing entry of a transaction (once)',
    description:
      'Moves the amount back; allowed on frozen accounts, not on closed ones, and within overdraft limits. ' +
      "The reason (required) goes to the audit trail only; the reference (optional, 'Reversal of <id>' by " +
      'default) is what both customers read.',
  })
  @ApiHeader(IDEMPOTENCY_HEADER_DOC)
  @ApiCreatedResponse({ type: TransactionDto })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: MONEY_FORBIDDEN })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description:
      'already_reversed, account_closed, already_refunded (a card payment the merchant refunded, in full or in part), payment_sent_externally (a payment to an external payee: the money left through the payment scheme)',
  })
  @ApiUnprocessableEntityResponse({
    type: ErrorResponseDto,
    description: 'insufficient_funds, not_reversible',
  })
  async reverse(
    @CurrentCaller() caller: Caller,
    @IdempotencyKey() key: string,
    @Param() params: TransactionIdParams,
    @Body() body: ReverseDto,
    @Res({ passthrough: true }) res: HttpReply,
  ): Promise<TransactionDto> {
    return idempotentResponse(res, await this.admin.reverse(caller, params.id, body, key));
  }

  @Get('ledger/verify')
  @ApiOperation({
    summary:
      "Recompute every balance from the postings, check every entry sums to zero and every account's held amount equals its active card holds",
    description:
      'By default from the last clean verification on (its checkpoint): the postings and entries since, and ' +
      'every account row. A change to a posting or entry from before the checkpoint (which the append-only ' +
      'triggers refuse) is found only by mode=full. A clean run becomes the next checkpoint. One at a time ' +
      '(each holds a database connection the postings share): another meanwhile is 409 verification_running.',
  })
  @ApiOkResponse({ type: LedgerVerifyDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description: 'verification_running: one asked for here is still running (one at a time); see Retry-After',
  })
  verify(@Query() query: LedgerVerifyQuery): Promise<LedgerVerifyDto> {
    return this.verifier.verifyOnRequest(query.mode ?? 'incremental');
  }

  @Post('ledger/verifications')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Verify the ledger in the background (by default in full), and follow it by its id',
    description:
      "A full run at a million entries outlasts the edge's read timeout: this answers at once with the " +
      'running verification; GET /admin/ledger/verifications/{id} has its result once completed. One at a time.',
  })
  @ApiAcceptedResponse({ type: LedgerVerificationJobDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'verification_running' })
  startVerification(
    @CurrentCaller() caller: Caller,
    @Query() query: LedgerVerificationJobQuery,
  ): Promise<LedgerVerificationJobDto> {
    return this.verifications.start(caller, query.mode ?? 'full');
  }

  @Get('ledger/verifications/:id')
  @ApiOperation({
    summary: 'Where a background verification stands: running, completed (with its result) or failed',
  })
  @ApiOkResponse({ type: LedgerVerificationJobDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  verification(@Param() params: LedgerVerificationIdParams): Promise<LedgerVerificationJobDto> {
    return this.verifications.get(params.id);
  }
}
