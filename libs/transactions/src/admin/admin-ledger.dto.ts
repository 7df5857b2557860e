import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { Currency } from '@protobank/contracts';
import { IsAmount, IsCurrency, IsPlainText, IsReason, IsUuid, Optional } from '@protobank/platform';
import { IsIn, IsOptional } from 'class-validator';
import { LEDGER_VERIFY_MODES, type LedgerVerifyMode } from './ledger-verify.service';

export class DepositDto {
  @ApiProperty({ format: 'uuid' })
  @IsUuid()
  account_id: string;

  @IsAmount(100000)
  amount: number;

  @IsCurrency()
  currency: Currency;

  @ApiProperty({
    minLength: 3,
    maxLength: 500,
    example: 'Cash paid in at the Leeds branch, receipt 20931',
    description: 'Why the money is paid in: kept in the audit trail only, never shown to the customer',
  })
  @IsReason()
  reason: string;

  @ApiPropertyOptional({
    minLength: 1,
    maxLength: 140,
    example: 'Cash paid in at branch',
    description: "The entry's reference, shown to the customer (none when omitted)",
  })
  @Optional()
  @IsPlainText(1, 140)
  reference?: string;
}

export class ReverseDto {
  @ApiProperty({
    minLength: 3,
    maxLength: 500,
    example: 'Payer reported the payment as sent to the wrong account; confirmed by phone',
    description: 'Why: kept in the audit trail only, never shown to either customer',
  })
  @IsReason()
  reason: string;

  @ApiPropertyOptional({
    minLength: 1,
    maxLength: 140,
    example: 'Refund of payment sent in error',
    description:
      "The reversing entry's reference, which both customers see; defaults to 'Reversal of <transaction id>'",
  })
  @Optional()
  @IsPlainText(1, 140)
  reference?: string;
}

export class LedgerMismatchDto {
  @ApiProperty({
    enum: ['entry_unbalanced', 'account_balance', 'running_balance', 'account_held', 'currency_total'],
    description:
      "account_held: the account's held amount is not the sum of what its active card holds have left",
  })
  type: string;
  @ApiPropertyOptional({ format: 'uuid' }) entry_id?: string;
  @ApiPropertyOptional({ format: 'uuid' }) account_id?: string;
  @ApiPropertyOptional() currency?: string;
  @ApiPropertyOptional({ description: 'The posting (by account version) whose balance_after is wrong' })
  account_version?: string;
  @ApiProperty({ description: 'What the postings (or the holds) say (decimal string of minor units)' })
  expected: string;
  @ApiProperty({ description: 'What is recorded' }) actual: string;
}

export class LedgerVerifyQuery {
  @ApiPropertyOptional({
    enum: LEDGER_VERIFY_MODES,
    default: 'incremental',
    description:
      'incremental: what was posted since the last clean verification (its checkpoint), plus every account ' +
      "row and active hold; a full run when there is no checkpoint yet. full: every posting and entry (about 50 s at a million entries, past the edge's timeout: POST /admin/ledger/verifications runs one in the background)",
  })
  @IsOptional()
  @IsIn(LEDGER_VERIFY_MODES, { message: `mode must be one of ${LEDGER_VERIFY_MODES.join(', ')}` })
  mode?: LedgerVerifyMode;
}

export class LedgerVerifyDto {
  @ApiProperty() ok: boolean;
  @ApiProperty({ type: 'integer', description: 'Ledger accounts checked (every one, in either mode)' })
  checked_accounts: number;
  @ApiProperty({
    type: 'integer',
    description: 'Entries verified: up to the checkpoint (by earlier runs) and since it (by this one)',
  })
  checked_entries: number;
  @ApiProperty({ type: [LedgerMismatchDto] }) mismatches: LedgerMismatchDto[];
  @ApiProperty({ enum: LEDGER_VERIFY_MODES, description: 'What this run was (the first one is full)' })
  mode: LedgerVerifyMode;
  @ApiProperty({
    type: 'string',
    format: 'date-time',
    nullable: true,
    example: '2026-12-01T22:00:00.000Z',
    description:
      'The checkpoint an incremental run continued from (when its snapshot was taken); null: a full run',
  })
  since: string | null;
  @ApiProperty({
    type: 'integer',
    description: 'Entries this run read: those posted since the checkpoint (a full run: all of them)',
  })
  new_entries: number;
  @ApiProperty({
    description:
      'Whether this run is now the checkpoint the next one continues from: an incremental run (or the first) that is clean; a full run asked for only reads',
  })
  checkpointed: boolean;
}

export class LedgerVerificationJobQuery {
  @ApiPropertyOptional({
    enum: LEDGER_VERIFY_MODES,
    default: 'full',
    description:
      'full (the reason to run one in the background), or incremental: as GET /admin/ledger/verify',
  })
  @IsOptional()
  @IsIn(LEDGER_VERIFY_MODES, { message: `mode must be one of ${LEDGER_VERIFY_MODES.join(', ')}` })
  mode?: LedgerVerifyMode;
}

export class LedgerVerificationJobDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: LEDGER_VERIFY_MODES, example: 'full' }) mode: LedgerVerifyMode;
  @ApiProperty({
    enum: ['running', 'completed', 'failed'],
    example: 'running',
    description:
      'running: not ended (also while it waits for a verification ahead of it, one at a time); completed: it ran to its end (result.ok says whether the ledger is clean)',
  })
  status: 'running' | 'completed' | 'failed';
  @ApiProperty({ format: 'uuid', description: 'The staff member who asked for it' }) requested_by: string;
  @ApiProperty({ format: 'date-time' }) started_at: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) finished_at: string | null;
  @ApiProperty({
    type: LedgerVerifyDto,
    nullable: true,
    description: 'What GET /admin/ledger/verify answers, once completed',
  })
  result: LedgerVerifyDto | null;
  @ApiProperty({ type: String, nullable: true, example: null, description: 'Why it did not complete' })
  error: string | null;
}

export class LedgerVerificationIdParams {
  @ApiProperty({ format: 'uuid' })
  @IsUuid()
  id: string;
}
