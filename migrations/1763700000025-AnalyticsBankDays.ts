import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The zone the apps count bank days in: BANK_TIME_ZONE as the apps read it (default Europe/London), by its
 * canonical name (the apps accept any case, as Intl does; Postgres wants the canonical spelling).
 */
const bankTimeZone = () =>
  new Intl.DateTimeFormat('en', {
    timeZone: process.env.BANK_TIME_ZONE?.trim() || 'Europe/London',
  }).resolvedOptions().timeZone;

/**
 * Analytics days become bank days. A movement's day was the UTC date of the payment; it is now its date in
 * BANK_TIME_ZONE, the day statements and payment dates use: in British Summer Time a standing order paid at
 * 00:00:30 London on 1 July (23:00:30 UTC on 30 June) was June's in analytics and July's due date.
 *
 * Up gives every movement the bank date of its occurred_at and recomputes, from the movements, the
 * rollups of the (user, day) pairs a moved movement left or joined (rollups are sums of movements; the
 * consumer keeps them so from here); only movements of the summer's late hour move. The cache generation
 * moves on, so that no Redis copy of a day from before is served: the apps raise Redis's generation
 * floor to it when they start (CacheFloorAtBoot). Down does the same in UTC. Rebuild staging tables are
 * left alone: a rebuild clears them before it starts.
 *
 * Apps of the version before this one record UTC days, so stop the analytics consumer (the analytics
 * app, or the monolith) while this runs, or run an analytics rebuild once the new version is up
 * (POST /admin/analytics/rebuild), which also repairs anything recorded in between; after a revert, a
 * rebuild by the old version likewise (README, Migrations).
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
  // The (user, day) pairs whose sums change: each moved movement's old day and its new one.
  await q.query(
    `CREATE TEMPORARY TABLE moved_days (user_id uuid, day date, PRIMARY KEY (user_id, day)) ON COMMIT DROP`,
  );
  await q.query(
    `WITH moved AS (
       UPDATE analytics.movements m SET day = (m.occurred_at AT TIME ZONE $1)::date
         FROM analytics.movements old
        WHERE (old.transaction_id, old.user_id, old.direction) = (m.transaction_id, m.user_id, m.direction)
          AND m.day <> (m.occurred_at AT TIME ZONE $1)::date
       RETURNING m.user_id, old.day AS old_day, m.day AS new_day)
     INSERT INTO moved_days
     SELECT DISTINCT user_id, d FROM moved, LATERAL (VALUES (old_day), (new_day)) AS v(d)
     ON CONFLICT DO NOTHING`,
    [zone],
  );
  await q.query(
    `DELETE FROM analytics.daily_rollups r USING moved_days k WHERE r.user_id = k.user_id AND r.day = k.day`,
  );
  await q.query(
    `INSERT INTO analytics.daily_rollups (user_id, day, currency, direction, category, merchant, amount, count)
     SELECT m.user_id, m.day, m.currency, m.direction, m.category, coalesce(m.merchant, ''), sum(m.amount), count(*)
       FROM analytics.movements m JOIN moved_days k ON k.user_id = m.user_id AND k.day = m.day
      GROUP BY 1, 2, 3, 4, 5, 6`,
  );
  await q.query(
    `UPDATE analytics.cache_generation
        SET generation = greatest(generation + 1, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)`,
  );
}
