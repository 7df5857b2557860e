import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { Currency } from '@protobank/contracts';
import { IsAmount, IsCurrency, IsPlainText, Optional } from '@protobank/platform';
import { IsUUID } from 'class-validator';
import { LowerCase } from '../transfer/transfer.dto';

export class DepositDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  @LowerCase()
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
  @IsPlainText(3, 500)
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
  @IsPlainText(3, 500)
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

export class LedgerVerifyDto {
  @ApiProperty() ok: boolean;
  @ApiProperty({ type: 'integer' }) checked_accounts: number;
  @ApiProperty({ type: 'integer' }) checked_entries: number;
  @ApiProperty({ type: [LedgerMismatchDto] }) mismatches: LedgerMismatchDto[];
}
