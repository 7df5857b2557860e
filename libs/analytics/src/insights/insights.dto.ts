import { ApiProperty } from '@nestjs/swagger';

const MINOR = 'Minor units of the currency, a JSON integer';

export class CategoryChangeDto {
  @ApiProperty({ example: 'groceries' }) category: string;
  @ApiProperty({ type: 'integer', example: 0, description: `${MINOR}, this month so far` })
  this_month_in: number;
  @ApiProperty({ type: 'integer', example: 5200, description: `${MINOR}, this month so far` })
  this_month_out: number;
  @ApiProperty({ type: 'integer', example: 0, description: `${MINOR}, the whole of last month` })
  last_month_in: number;
  @ApiProperty({ type: 'integer', example: 4000, description: `${MINOR}, the whole of last month` })
  last_month_out: number;
  @ApiProperty({ type: 'integer', example: 1200, description: 'this_month_out - last_month_out' })
  change_out: number;
  @ApiProperty({
    type: 'integer',
    nullable: true,
    example: 30,
    description: 'change_out as a whole percentage of last_month_out; null when last month had none',
  })
  change_out_percent: number | null;
}

export class OutgoingDto {
  @ApiProperty({ format: 'uuid' }) transaction_id: string;
  @ApiProperty({ type: 'integer', example: 85000, description: MINOR }) amount: number;
  @ApiProperty({ example: 'transfers' }) category: string;
  @ApiProperty({ example: 'transfer' }) kind: string;
  @ApiProperty({ type: String, nullable: true, example: null }) merchant: string | null;
  @ApiProperty({
    type: String,
    nullable: true,
    example: 'Bob Smith',
    description: 'The customer paid, when it was a customer',
  })
  payee_name: string | null;
  @ApiProperty({ format: 'date-time' }) occurred_at: string;
  @ApiProperty({ description: 'Reversed by the bank since (the money came back): shown, and marked' })
  reversed: boolean;
}

export class RecurringPayeeDto {
  @ApiProperty({
    type: String,
    nullable: true,
    example: 'Bob Smith',
    description: 'Merchant or customer name',
  })
  payee: string | null;
  @ApiProperty({ enum: ['merchant', 'customer'] }) payee_type: 'merchant' | 'customer';
  @ApiProperty({ type: 'integer', example: 3, description: 'Payments in the window' }) payments: number;
  @ApiProperty({
    type: [String],
    example: ['2026-10', '2026-11'],
    description: 'Months paid, of this and the two before',
  })
  months: string[];
  @ApiProperty({ type: 'integer', example: 150000, description: `${MINOR}, paid in the window` })
  total: number;
  @ApiProperty({ format: 'date-time' }) last_paid_at: string;
}

export class CurrencyInsightsDto {
  @ApiProperty({ example: 'GBP' }) currency: string;
  @ApiProperty({ type: [CategoryChangeDto], description: 'Most money out this month first' })
  categories: CategoryChangeDto[];
  @ApiProperty({
    type: [OutgoingDto],
    description: 'The five largest payments out this month (own-account transfers aside)',
  })
  largest_outgoings: OutgoingDto[];
  @ApiProperty({
    type: [RecurringPayeeDto],
    description: 'Paid in at least two of the last three calendar months, or three times in 90 days',
  })
  recurring_payees: RecurringPayeeDto[];
}

export class InsightsDto {
  @ApiProperty({ example: '2026-11', description: 'This month (of bank days, BANK_TIME_ZONE), so far' })
  month: string;
  @ApiProperty({ example: '2026-10' }) previous_month: string;
  @ApiProperty({ type: [CurrencyInsightsDto] }) currencies: CurrencyInsightsDto[];
}
