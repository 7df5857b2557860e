import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { MetricsService } from '@protobank/platform';
import type { Counter } from 'prom-client';
import { DataSource } from 'typeorm';
import { daysBetween } from './calendar';
import type { DaySummary } from './day-summary';
import { readRollups } from './rollup-reads';
import { SummaryCache } from './summary-cache';

/** Ranges up to this many days are served from Redis (two months: a month against the last). */
export const CACHED_RANGE_DAYS = 62;

/**
 * A user's day summaries for a range, the one read path of every analytics route: from Redis where it
 * holds them (recent days), the rest from the rollups in one query and written back. Longer ranges go
 * to Postgres only. Either way the answer is the same.
 */
@Injectable()
export class DailySummaries {
  private readonly days: Counter<'source'>;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly cache: SummaryCache,
    metrics: MetricsService,
  ) {
    this.days = metrics.counter(
      'analytics_summary_days_total',
      'Day summaries read by analytics routes, by where they came from (redis or postgres)',
      ['source'],
    );
  }

  async range(userId: string, from: string, to: string): Promise<DaySummary[]> {
    const days = daysBetween(from, to);
    const cacheable = days.length <= CACHED_RANGE_DAYS;
    const cached = cacheable ? await this.cache.read(userId, days) : new Map<string, DaySummary>();
    const missing = days.filter((d) => !cached.has(d));
    this.days.inc({ source: 'redis' }, cached.size);
    if (missing.length === 0) return days.map((d) => cached.get(d)!);
    this.days.inc({ source: 'postgres' }, missing.length);
    const read = await readRollups(this.dataSource, userId, missing);
    if (cacheable) await this.cache.write(userId, read.at, read.days);
    const computed = new Map(read.days.map((d) => [d.day, d]));
    return days.map((d) => cached.get(d) ?? computed.get(d)!);
  }
}
