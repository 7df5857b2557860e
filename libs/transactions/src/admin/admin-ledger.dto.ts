import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { Currency } from '@protobank/contracts';
import { IsAmount, IsCurrency, Optional } from '@protobank/platform';
import { IsString, IsUUID, MaxLength } from 'class-validator';
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

  @ApiPropertyOptional({ maxLength: 140, example: 'Cash paid in at branch' })
  @Optional()
  @IsString()
  @MaxLength(140)
  reference?: string;
}

export class ReverseDto {
  @ApiPropertyOptional({ maxLength: 140, example: 'Sent to the wrong account' })
  @Optional()
  @IsString()
  @MaxLength(140)
  reason?: string;
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
