import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, Matches } from 'class-validator';
import { CategoryTotalDto, MerchantTotalDto } from '../summaries/totals.dto';

export class MonthlyReportQuery {
  @ApiPropertyOptional({
    example: '2026-11',
    description: 'YYYY-MM, a month of bank days (BANK_TIME_ZONE). Default: this month',
  })
  @IsOptional()
  @Matches(/^\d{4}-(0[1-9]|1[0-2])$/, { message: 'month must be a month, YYYY-MM' })
  month?: string;
}

export class ReportDayDto {
  @ApiProperty({ format: 'date', example: '2026-11-02' }) day: string;
  @ApiProperty({ type: 'integer', example: 100000 }) money_in: number;
  @ApiProperty({ type: 'integer', example: 2550 }) money_out: number;
  @ApiProperty({ type: 'integer', example: 2 }) count: number;
}

export class ReportCurrencyDto {
  @ApiProperty({ example: 'GBP' }) currency: string;
  @ApiProperty({ type: 'integer', example: 100000, description: 'Minor units' }) money_in: number;
  @ApiProperty({ type: 'integer', example: 2550, description: 'Minor units' }) money_out: number;
  @ApiProperty({ type: 'integer', example: 97450, description: 'money_in - money_out' }) net: number;
  @ApiProperty({ type: 'integer', example: 2 }) count: number;
  @ApiProperty({ type: [CategoryTotalDto] }) by_category: CategoryTotalDto[];
  @ApiProperty({ type: [MerchantTotalDto] }) by_merchant: MerchantTotalDto[];
  @ApiProperty({ type: [ReportDayDto], description: 'Every day of the month' }) daily: ReportDayDto[];
}

export class MonthlyReportDto {
  @ApiProperty({ example: '2026-11' }) month: string;
  @ApiProperty({ format: 'date', example: '2026-11-01' }) from: string;
  @ApiProperty({ format: 'date', example: '2026-11-30' }) to: string;
  @ApiProperty({ type: [ReportCurrencyDto], description: 'One entry per currency you moved money in' })
  currencies: ReportCurrencyDto[];
}
