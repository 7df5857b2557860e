import { Injectable } from '@nestjs/common';
import { AppConfig } from '@protobank/platform';
import { bucketsBetween, type Period } from '../summaries/calendar';
import { DailySummaries } from '../summaries/daily-summaries.service';
import { totalsByCurrency } from '../summaries/totals';
import { spendingRange } from './spending-range';
import type { SpendingDto, SpendingQuery } from './spending.dto';

/** Money in and out of a customer's own accounts over a range, per currency, category and merchant. */
@Injectable()
export class SpendingService {
  constructor(
    private readonly summaries: DailySummaries,
    private readonly config: AppConfig,
  ) {}

  async spending(userId: string, query: SpendingQuery): Promise<SpendingDto> {
    const period: Period = query.period ?? 'month';
    const { from, to } = spendingRange(query, this.config.bankTimeZone);
    const days = await this.summaries.range(userId, from, to);
    return { period, from, to, currencies: totalsByCurrency(days, bucketsBetween(from, to, period)) };
  }
}
