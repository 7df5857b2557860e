import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, Matches } from 'class-validator';
import { CurrencyTotalsDto } from '../summaries/totals.dto';
import { PERIODS, type Period } from '../summaries/calendar';

export const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

export class SpendingQuery {
  @ApiPropertyOptional({
    enum: PERIODS,
    default: 'month',
    description: 'Size of the series buckets (weeks start on Monday; dates are bank days, in BANK_TIME_ZONE)',
  })
  @IsOptional()
  @IsIn(PERIODS, { message: `period must be one of ${PERIODS.join(', ')}` })
  period?: Period;

  @ApiPropertyOptional({
    format: 'date',
    example: '2026-11-01',
    description: 'First day (inclusive). Default: the start of the period holding `to` (or today)',
  })
  @IsOptional()
  @Matches(DATE_PATTERN, { message: 'from must be a date (YYYY-MM-DD)' })
  from?: string;

  @ApiPropertyOptional({
    format: 'date',
    example: '2026-11-30',
    description:
      'Last day (inclusive), at most 366 days after `from`. Default: the end of the period holding `from` (or today)',
  })
  @IsOptional()
  @Matches(DATE_PATTERN, { message: 'to must be a date (YYYY-MM-DD)' })
  to?: string;
}

export class SpendingDto {
  @ApiProperty({ enum: PERIODS, example: 'week' }) period: Period;
  @ApiProperty({ format: 'date', example: '2026-11-02' }) from: string;
  @ApiProperty({ format: 'date', example: '2026-11-08' }) to: string;
  @ApiProperty({ type: [CurrencyTotalsDto], description: 'One entry per currency you moved money in' })
  currencies: CurrencyTotalsDto[];
}
