import { ApiProperty } from '@nestjs/swagger';
import { IsUuid, PeriodPageQuery } from '@protobank/platform';

export class TransactionDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({
    enum: ['transfer', 'deposit', 'reversal', 'card', 'standing_order', 'scheduled_payment', 'fee'],
    example: 'transfer',
  })
  kind: string;
  @ApiProperty({ enum: ['posted', 'reversed'] }) status: string;
  @ApiProperty({ type: 'integer', example: 2550, description: 'Minor units' }) amount: number;
  @ApiProperty({ example: 'GBP' }) currency: string;
  @ApiProperty({ format: 'uuid', description: 'Ledger account debited (a system account for deposits)' })
  from_account_id: string;
  @ApiProperty({ format: 'uuid', description: 'Ledger account credited' }) to_account_id: string;
  @ApiProperty({ nullable: true, type: String, example: 'Rent November' }) reference: string | null;
  @ApiProperty({ nullable: true, type: String }) merchant: string | null;
  @ApiProperty({ nullable: true, type: String }) category: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'uuid' }) reverses_id: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'uuid' }) reversed_by_id: string | null;
  @ApiProperty({ format: 'date-time' }) created_at: string;
}

export class AccountTransactionDto extends TransactionDto {
  @ApiProperty({
    enum: ['debit', 'credit'],
    description: 'Money left (debit) or reached (credit) the account',
  })
  direction: 'debit' | 'credit';
  @ApiProperty({ type: 'integer', description: "The account's balance after this transaction" })
  balance_after: number;
}

export class TransactionPageDto {
  @ApiProperty({ type: [AccountTransactionDto] }) data: AccountTransactionDto[];
  @ApiProperty({ nullable: true, type: String }) next_cursor: string | null;
}

export class TransactionIdParams {
  @ApiProperty({ format: 'uuid' })
  @IsUuid()
  id: string;
}

export class ListTransactionsQuery extends PeriodPageQuery {
  @ApiProperty({ format: 'uuid', description: 'The account whose transactions to list' })
  @IsUuid()
  account_id: string;
}
