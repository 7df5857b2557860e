import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { Currency } from '@protobank/contracts';
import { IsAmount, IsCurrency, IsPlainText } from '@protobank/platform';
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
    maxLength: 140,
    example: 'Cash paid in at branch',
    description: 'Why the money is paid in: shown to the customer, and the reason in the audit trail',
  })
  @IsPlainText(3, 140)
  reference: string;
}

export class ReverseDto {
  @ApiProperty({
    minLength: 3,
    maxLength: 140,
    example: 'Sent to the wrong account',
    description: "Why: kept in the audit trail, and the reversing entry's reference (both parties see it)",
  })
  @IsPlainText(3, 140)
  reason: string;
}

export class LedgerMismatchDto {
  @ApiProperty({ enum: ['entry_unbalanced', 'account_balance', 'running_balance', 'currency_total'] })
  type: string;
  @ApiPropertyOptional({ format: 'uuid' }) entry_id?: string;
  @ApiPropertyOptional({ format: 'uuid' }) account_id?: string;
  @ApiPropertyOptional() currency?: string;
  @ApiPropertyOptional({ description: 'The posting (by account version) whose balance_after is wrong' })
  account_version?: string;
  @ApiProperty({ description: 'What the postings say (decimal string of minor units)' }) expected: string;
  @ApiProperty({ description: 'What is recorded' }) actual: string;
}

export class LedgerVerifyDto {
  @ApiProperty() ok: boolean;
  @ApiProperty({ type: 'integer' }) checked_accounts: number;
  @ApiProperty({ type: 'integer' }) checked_entries: number;
  @ApiProperty({ type: [LedgerMismatchDto] }) mismatches: LedgerMismatchDto[];
}
