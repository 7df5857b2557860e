import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { CURRENCIES, type Currency } from '@protobank/contracts';
import {
  IsAmount,
  IsCalendarDate,
  IsCurrency,
  IsPlainText,
  IsUuid,
  Optional,
  PageQuery,
} from '@protobank/platform';
import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { FREQUENCIES, type Frequency } from '../schedule/calendar';
import { SCHEME_CHARACTERS, SCHEME_MAPPING } from '../payees/scheme-text';

/** What every payment order has: from which of your accounts, to which payee, how much. */
export class OrderBodyDto {
  @ApiProperty({ format: 'uuid', description: 'Your account the money leaves' })
  @IsUuid()
  from_account_id: string;

  @ApiProperty({ format: 'uuid', description: 'One of your payees' })
  @IsUuid()
  payee_id: string;

  @IsAmount(5000)
  amount: number;

  @IsCurrency()
  currency: Currency;

  @ApiPropertyOptional({
    maxLength: 18,
    example: 'RENT',
    description: `Shown to the payee (1 to 18 characters, as payment schemes carry); plain text, and to an external payee ${SCHEME_CHARACTERS} only (400; ${SCHEME_MAPPING}). Default: the payee's reference (400 naming reference when the payee has none)`,
  })
  @Optional()
  @IsPlainText(1, 18)
  reference?: string;
}

export class CreateScheduledPaymentDto extends OrderBodyDto {
  @ApiProperty({
    format: 'date',
    example: '2026-12-24',
    description:
      "The date to pay, in the bank's time zone: today (paid at once) up to a year ahead. A weekend or bank holiday pays on the next working day",
  })
  @IsCalendarDate()
  pay_on: string;
}

export class CreateStandingOrderDto extends OrderBodyDto {
  @ApiProperty({ enum: FREQUENCIES, example: 'monthly' })
  @IsIn(FREQUENCIES)
  frequency: Frequency;

  @ApiProperty({
    format: 'date',
    example: '2026-12-01',
    description:
      "The first payment's date, today (paid at once) up to a year ahead. Later dates count from it: monthly from the 31st pays on the last day of shorter months",
  })
  @IsCalendarDate()
  start_date: string;

  @ApiPropertyOptional({
    format: 'date',
    example: '2027-11-30',
    description: 'The last date that may be paid (inclusive)',
  })
  @Optional()
  @IsCalendarDate()
  end_date?: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: 1000,
    example: 12,
    description: 'How many payments in all',
  })
  @Optional()
  @IsInt()
  @Min(1)
  @Max(1000)
  count?: number;
}

export class UpdateStandingOrderDto {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, example: 5500, description: 'Minor units' })
  @Optional()
  @IsInt({ message: '$property must be an integer number of minor units' })
  @Min(1, { message: '$property must be above zero' })
  @Max(Number.MAX_SAFE_INTEGER, { message: '$property is too large' })
  amount?: number;

  @ApiPropertyOptional({
    maxLength: 18,
    example: 'RENT 2027',
    description: `Plain text; to an external payee ${SCHEME_CHARACTERS} only (400; ${SCHEME_MAPPING})`,
  })
  @Optional()
  @IsPlainText(1, 18)
  reference?: string;

  @ApiPropertyOptional({
    nullable: true,
    type: String,
    format: 'date',
    example: '2027-06-30',
    description: 'The new last date (inclusive); null removes it',
  })
  @IsOptional()
  @IsCalendarDate()
  end_date?: string | null;
}

export class OrderIdParams {
  @ApiProperty({ format: 'uuid' })
  @IsUuid()
  id: string;
}

export const SCHEDULED_STATUSES = ['scheduled', 'paid', 'failed', 'cancelled', 'reversed'] as const;
export const STANDING_STATUSES = ['active', 'suspended', 'cancelled', 'completed'] as const;
export const PAYMENT_STATUSES = [
  'pending',
  'processing',
  'retrying',
  'paid',
  'failed',
  'skipped',
  'reversed',
] as const;

export class ScheduledPaymentsQuery extends PageQuery {
  @ApiPropertyOptional({ enum: SCHEDULED_STATUSES })
  @IsOptional()
  @IsIn(SCHEDULED_STATUSES)
  status?: (typeof SCHEDULED_STATUSES)[number];
}

export class PaymentDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: ['standing_order', 'scheduled_payment'] }) source: string;
  @ApiProperty({ format: 'uuid', description: 'The standing order or scheduled payment' }) order_id: string;
  @ApiProperty({ format: 'uuid' }) from_account_id: string;
  @ApiProperty({ format: 'uuid' }) payee_id: string;
  @ApiProperty({ type: 'integer', example: 5000 }) amount: number;
  @ApiProperty({ enum: CURRENCIES }) currency: string;
  @ApiProperty({ example: 'RENT' }) reference: string;
  @ApiProperty({ format: 'date', example: '2026-11-29', description: 'The date it was due' })
  due_date: string;
  @ApiProperty({ format: 'date', example: '2026-11-30', description: 'The working day it is paid on' })
  pay_on: string;
  @ApiProperty({
    enum: PAYMENT_STATUSES,
    description:
      'pending: not tried yet; processing: being paid; retrying: not enough money, tried again PAYMENT_RETRY_INTERVAL_MINUTES later, up to PAYMENT_RETRY_ATTEMPTS times (late in the evening, that can be after midnight); paid; failed (nothing moved); skipped: its order stopped first; reversed: paid, then staff reversed it (the money went back)',
  })
  status: string;
  @ApiProperty({ type: 'integer', example: 1 }) attempts: number;
  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'The ledger entry, once paid' })
  transaction_id: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    example: null,
    description:
      'Why its last attempt was refused (insufficient_funds, account_frozen, …); kept when a payment refused and waiting to be retried is then skipped, so the attempts made still say why they failed',
  })
  failure_reason: string | null;
  @ApiProperty({ description: 'Paid after its paying day, when the scheduler caught up after downtime' })
  late: boolean;
  @ApiProperty({
    format: 'date-time',
    nullable: true,
    type: String,
    description: 'When it was paid or failed',
  })
  settled_at: string | null;
  @ApiProperty({
    format: 'uuid',
    nullable: true,
    type: String,
    description: 'Once staff reversed the payment: the reversing ledger entry (the money went back)',
  })
  reversed_by_id: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String, description: 'When staff reversed it' })
  reversed_at: string | null;
}

export class PaymentListDto {
  @ApiProperty({ type: [PaymentDto] }) data: PaymentDto[];
  @ApiProperty({ nullable: true, type: String }) next_cursor: string | null;
}

class OrderDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) owner_id: string;
  @ApiProperty({ format: 'uuid' }) from_account_id: string;
  @ApiProperty({ format: 'uuid' }) payee_id: string;
  @ApiProperty({ example: 'Landlord' }) payee_name: string;
  @ApiProperty({ type: 'integer', example: 5000 }) amount: number;
  @ApiProperty({ enum: CURRENCIES }) currency: string;
  @ApiProperty({ example: 'RENT' }) reference: string;
  @ApiProperty({
    nullable: true,
    type: String,
    example: null,
    description:
      'Why it stopped: insufficient_funds, account_closed, consecutive_failures, payee_deleted, customer, …',
  })
  status_reason: string | null;
  @ApiProperty({ format: 'date-time' }) created_at: string;
  @ApiProperty({ format: 'date-time' }) updated_at: string;
}

export class ScheduledPaymentDto extends OrderDto {
  @ApiProperty({ format: 'date', example: '2026-12-24' }) pay_on: string;
  @ApiProperty({
    enum: SCHEDULED_STATUSES,
    description: 'reversed: its payment was made, then staff reversed it (the money went back)',
  })
  status: string;
  @ApiProperty({
    type: PaymentDto,
    nullable: true,
    description: 'Its payment: attempts, outcome, ledger entry',
  })
  payment: PaymentDto | null;
}

export class ScheduledPaymentListDto {
  @ApiProperty({ type: [ScheduledPaymentDto] }) data: ScheduledPaymentDto[];
  @ApiProperty({ nullable: true, type: String }) next_cursor: string | null;
}

export class StandingOrderDto extends OrderDto {
  @ApiProperty({ enum: FREQUENCIES }) frequency: string;
  @ApiProperty({ format: 'date', example: '2026-12-01' }) start_date: string;
  @ApiProperty({ nullable: true, type: String, format: 'date', example: null }) end_date: string | null;
  @ApiProperty({ nullable: true, type: 'integer', example: 12 }) count: number | null;
  @ApiProperty({ enum: STANDING_STATUSES, example: 'active' }) status: string;
  @ApiProperty({
    nullable: true,
    type: String,
    format: 'date',
    example: '2027-01-01',
    description: 'The due date of the next payment not yet scheduled; null when none is left',
  })
  next_payment_date: string | null;
  @ApiProperty({ type: 'integer', example: 1 }) payments_made: number;
  @ApiProperty({ type: 'integer', example: 0 }) consecutive_failures: number;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) last_executed_at: string | null;
}

export class StandingOrderListDto {
  @ApiProperty({ type: [StandingOrderDto] }) data: StandingOrderDto[];
  @ApiProperty({ nullable: true, type: String }) next_cursor: string | null;
}

export class PaymentHistoryQuery extends PageQuery {
  @ApiPropertyOptional({ format: 'uuid', description: 'Only payments from this account of yours' })
  @IsOptional()
  @IsUuid()
  account_id?: string;
}

export class AdminStandingOrdersQuery extends PageQuery {
  @ApiProperty({ format: 'uuid' })
  @IsUuid()
  owner_id: string;
}

export class SweepCountsDto {
  @ApiProperty({ type: 'integer', example: 2, description: 'Standing-order payments that came due' })
  scheduled: number;
  @ApiProperty({ type: 'integer', example: 3 }) paid: number;
  @ApiProperty({ type: 'integer', example: 1, description: 'Refused for funds, tried again later' })
  retrying: number;
  @ApiProperty({ type: 'integer', example: 0 }) failed: number;
  @ApiProperty({
    type: 'integer',
    example: 0,
    description:
      'Not made: its order was cancelled (or its payee deleted) while it was being tried, or after its call failed in an outage (voided at the ledger)',
  })
  skipped: number;
  @ApiProperty({ type: 'integer', example: 0, description: 'Left for the next sweep after an outage' })
  errors: number;
}
