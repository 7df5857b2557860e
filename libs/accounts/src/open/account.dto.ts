import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { CURRENCIES, type Currency } from '@protobank/contracts';
import { IsCurrency, IsDateOrDateTime, IsPlainText, IsReason, IsUuid, Optional } from '@protobank/platform';
import { IsIn, IsInt, IsOptional, Min } from 'class-validator';

export class OpenAccountDto {
  @ApiProperty({ enum: ['current', 'savings'], example: 'current' })
  @IsIn(['current', 'savings'])
  type: 'current' | 'savings';

  @IsCurrency()
  currency: Currency;

  @ApiPropertyOptional({
    maxLength: 60,
    example: 'Bills',
    description:
      'Defaults to the type, e.g. "Current account"; no control, bidirectional or invisible characters (trimmed, NFC)',
  })
  @Optional()
  @IsPlainText(1, 60)
  name?: string;
}

export class RenameAccountDto {
  @ApiProperty({
    maxLength: 60,
    example: 'Holiday fund',
    description: 'No control, bidirectional or invisible characters (trimmed, NFC)',
  })
  @IsPlainText(1, 60)
  name: string;
}

export class AccountIdParams {
  @ApiProperty({ format: 'uuid' })
  @IsUuid()
  id: string;
}

const HELD_DOC =
  'Minor units held by card payments authorised but not yet cleared: still in the balance, not spendable';
const AVAILABLE_DOC = 'balance - held_amount + overdraft_limit (never below 0); 0 unless active';

export class AccountDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) owner_id: string;
  @ApiProperty({ example: '99-00-01' }) sort_code: string;
  @ApiProperty({
    example: '48219377',
    description: '8 digits drawn at random, the last a modulus-11 check digit',
  })
  account_number: string;
  @ApiProperty({ enum: ['current', 'savings'] }) type: string;
  @ApiProperty({ enum: CURRENCIES }) currency: string;
  @ApiProperty({ example: 'Current account' }) name: string;
  @ApiProperty({ enum: ['active', 'frozen', 'closed'] }) status: string;
  @ApiProperty({ type: 'integer', example: 125050, description: 'Minor units' }) balance: number;
  @ApiProperty({ type: 'integer', example: 2550, description: HELD_DOC }) held_amount: number;
  @ApiProperty({ type: 'integer', example: 132500, description: AVAILABLE_DOC })
  available_balance: number;
  @ApiProperty({ type: 'integer', example: 10000 }) overdraft_limit: number;
  @ApiProperty({ format: 'date-time' }) created_at: string;
}

export class AccountListDto {
  @ApiProperty({ type: [AccountDto] }) data: AccountDto[];
  @ApiProperty({ nullable: true, type: String, description: 'Always null: every account is listed' })
  next_cursor: null;
}

export class BalanceDto {
  @ApiProperty({ format: 'uuid' }) account_id: string;
  @ApiProperty({ example: 'GBP' }) currency: string;
  @ApiProperty({ type: 'integer', example: 125050, description: 'Minor units' }) balance: number;
  @ApiProperty({ type: 'integer', example: 2550, description: HELD_DOC }) held_amount: number;
  @ApiProperty({ type: 'integer', example: 132500, description: AVAILABLE_DOC })
  available_balance: number;
  @ApiProperty({ format: 'date-time', description: 'When this balance was read from the ledger' })
  as_of: string;
}

export class StatementQuery {
  @ApiPropertyOptional({
    example: '2026-11-01',
    description:
      "A date (from its midnight in the bank's time zone, BANK_TIME_ZONE) or an instant. Default: the first of " +
      'the month `to` falls in, or of this month',
  })
  @IsOptional()
  @IsDateOrDateTime()
  from?: string;

  @ApiPropertyOptional({
    example: '2026-11-30',
    description: "Inclusive date (its whole day in the bank's time zone), or exclusive instant. Default: now",
  })
  @IsOptional()
  @IsDateOrDateTime()
  to?: string;
}

export class StatementLineDto {
  @ApiProperty({ format: 'uuid' }) transaction_id: string;
  @ApiProperty({ example: 'transfer' }) kind: string;
  @ApiProperty({ nullable: true, type: String }) reference: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    example: 'Starbucks',
    description:
      "Who was paid or paid us: a card payment's or refund's merchant, an external payee's name; else null",
  })
  merchant: string | null;
  @ApiProperty({ type: 'integer', example: -2550, description: 'Signed minor units' }) amount: number;
  @ApiProperty({ type: 'integer', description: 'Running balance after this line' }) balance: number;
  @ApiProperty({ format: 'date-time' }) created_at: string;
}

export class StatementDto {
  @ApiProperty({ format: 'uuid' }) account_id: string;
  @ApiProperty({ example: '99-00-01' }) sort_code: string;
  @ApiProperty({ example: '48219377' }) account_number: string;
  @ApiProperty({ example: 'GBP' }) currency: string;
  @ApiProperty({ format: 'date-time' }) from: string;
  @ApiProperty({ format: 'date-time' }) to: string;
  @ApiProperty({ type: 'integer' }) opening_balance: number;
  @ApiProperty({ type: 'integer' }) closing_balance: number;
  @ApiProperty({ type: [StatementLineDto] }) entries: StatementLineDto[];
}

/** Why a staff member changes an account: required, kept in the audit trail (never shown to the customer). */
const REASON_DOC = {
  minLength: 3,
  maxLength: 500,
  description: 'Why: kept in the audit trail (GET /admin/audit); not shown to the customer',
};

export class UpdateAccountDto {
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    example: 50000,
    description:
      'Minor units, at most MAX_OVERDRAFT_LIMIT (10,000,000 unless configured): above it, 400 naming it',
  })
  @IsInt()
  @Min(0)
  // No @Max here: the controller checks MAX_OVERDRAFT_LIMIT (at most 10^15 by its schema, below 2^53), so
  // every limit too large gets that one message (a second bound here told 2^53 of larger ones; helper-131).
  overdraft_limit: number;

  @ApiProperty({ ...REASON_DOC, example: 'Arranged overdraft agreed with the customer' })
  @IsReason()
  reason: string;
}

export class AdminAccountsQuery {
  @ApiProperty({ format: 'uuid', description: 'The customer whose accounts to list' })
  @IsUuid()
  owner_id: string;
}
