import type { EntityManager } from 'typeorm';
import type { Direction } from '../events/movements';
import type { DaySummary, SummaryVersion } from './day-summary';

interface Row {
  version: string;
  generation: string;
  day: string | null;
  currency: string;
  direction: Direction;
  category: string;
  merchant: string;
  amount: string;
  count: number;
}

type Queryable = Pick<EntityManager, 'query'>;

/** The SQL that reads the current generation (raised by each rebuild; a time in ms, see the migration). */
export const CURRENT_GENERATION = `(SELECT generation FROM analytics.cache_generation)`;

/**
 * A user's summaries of `days` (every day given, empty ones too) and the version and generation they
 * are at, in ONE statement, so one snapshot: the version orders the copy written to Redis against
 * copies written by events committing meanwhile.
 */
export async function readRollups(
  db: Queryable,
  userId: string,
  days: string[],
): Promise<{ at: SummaryVersion; days: DaySummary[] }> {
  const rows = (await db.query(
    `WITH meta AS (
       SELECT coalesce((SELECT version FROM analytics.user_versions WHERE user_id = $1), 0)::text AS version,
              ${CURRENT_GENERATION}::text AS generation)
     SELECT meta.version, meta.generation, r.day::text AS day, r.currency, r.direction, r.category, r.merchant,
            r.amount::text AS amount, r.count
       FROM meta
       LEFT JOIN analytics.daily_rollups r ON r.user_id = $1 AND r.day = ANY($2::date[])
      ORDER BY r.day, r.currency, r.direction, r.category, r.merchant`,
    [userId, days],
  )) as Row[];
  const byDay = new Map<string, DaySummary>(days.map((day) => [day, { day, rows: [] }]));
  for (const r of rows) {
    if (r.day === null) continue;
    byDay.get(r.day)?.rows.push({
      currency: r.currency,
      direction: r.direction,
      category: r.category,
      merchant: r.merchant,
      amount: BigInt(r.amount),
      count: r.count,
    });
  }
  return {
    at: { version: Number(rows[0].version), generation: Number(rows[0].generation) },
    days: [...byDay.values()],
  };
}
