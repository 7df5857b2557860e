import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The zone the apps count bank days in: BANK_TIME_ZONE, as the apps read it (default Europe/London). */
const bankTimeZone = () => process.env.BANK_TIME_ZONE?.trim() || 'Europe/London';

/**
 * Analytics days become bank days. A movement's day was the UTC date of the payment; it is now its date in
 * BANK_TIME_ZONE, the day statements and payment dates use: in British Summer Time a standing order paid at
 * 00:00:30 London on 1 July (23:00:30 UTC on 30 June) was June's in analytics and July's due date.
 *
 * Up gives every movement the bank date of its occurred_at and, when any day changed, recomputes the
 * daily rollups from the movements (they are sums of them; the consumer keeps them so from here). The
 * cache generation moves on either way, so that no Redis copy of a day from before is served: the apps
 * raise Redis's generation floor to it when they start (CacheFloorAtBoot). Down does the same in UTC.
 * Rebuild staging tables are left alone: a rebuild clears them before it starts.
 */
export class AnalyticsBankDays1763700000025 implements MigrationInterface {
  name = 'AnalyticsBankDays1763700000025';

  async up(q: QueryRunner): Promise<void> {
    await recompute(q, bankTimeZone());
  }

  async down(q: QueryRunner): Promise<void> {
    await recompute(q, 'UTC');
  }
}

async function recompute(q: QueryRunner, zone: string): Promise<void> {
  const known = (await q.query(`SELECT 1 FROM pg_timezone_names WHERE name = $1`, [zone])) as unknown[];
  if (known.length === 0) throw new Error(`BANK_TIME_ZONE ${zone} is not a time zone Postgres knows`);
  const [{ changed }] = (await q.query(
    `WITH moved AS (
       UPDATE analytics.movements SET day = (occurred_at AT TIME ZONE $1)::date
        WHERE day <> (occurred_at AT TIME ZONE $1)::date
       RETURNING 1)
     SELECT count(*)::int AS changed FROM moved`,
    [zone],
  )) as [{ changed: number }];
  if (changed > 0) {
    await q.query(`DELETE FROM analytics.daily_rollups`);
    await q.query(
      `INSERT INTO analytics.daily_rollups (user_id, day, currency, direction, category, merchant, amount, count)
       SELECT user_id, day, currency, direction, category, coalesce(merchant, ''), sum(amount), count(*)
         FROM analytics.movements GROUP BY 1, 2, 3, 4, 5, 6`,
    );
  }
  await q.query(
    `UPDATE analytics.cache_generation
        SET generation = greatest(generation + 1, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)`,
  );
}
