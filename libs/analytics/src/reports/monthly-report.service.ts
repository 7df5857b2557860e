import { Injectable } from '@nestjs/common';
import { AppConfig, AppError } from '@protobank/platform';
import { bucketsBetween, isMonth, monthBounds, monthOf, today } from '../summaries/calendar';
import { DailySummaries } from '../summaries/daily-summaries.service';
import { totalsByCurrency } from '../summaries/totals';
import type { MonthlyReportDto, MonthlyReportQuery } from './monthly-report.dto';

/** One month of a customer's money in and out, per currency: totals, categories, merchants, each day. */
@Injectable()
export class MonthlyReportService {
  constructor(
    private readonly summaries: DailySummaries,
    private readonly config: AppConfig,
  ) {}

  async report(userId: string, query: MonthlyReportQuery): Promise<MonthlyReportDto> {
    const month = query.month ?? monthOf(today(this.config.bankTimeZone));
    if (!isMonth(month)) {
      throw AppError.badRequest('validation_failed', 'Invalid request: month', [
        { field: 'month', message: 'month must be from 1970-01 on' },
      ]);
    }
    const { start, end } = monthBounds(month);
    const days = await this.summaries.range(userId, start, end);
    return {
      month,
      from: start,
      to: end,
      currencies: totalsByCurrency(days, bucketsBetween(start, end, 'day')).map((c) => ({
        currency: c.currency,
        money_in: c.money_in,
        money_out: c.money_out,
        net: c.net,
        count: c.count,
        by_category: c.by_category,
        by_merchant: c.by_merchant,
        daily: c.series.map((p) => ({
          day: p.start,
          money_in: p.money_in,
          money_out: p.money_out,
          count: p.count,
        })),
      })),
    };
  }
}
