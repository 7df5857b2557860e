import type { EntityManager } from 'typeorm';
import type { Direction } from '../events/movements';
import type { DaySummary, SummaryVersion } from './day-summary';

interface Row {
  user_id: string;
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

/** What readRollups gives for one user: the summaries asked for, and the version they are at. */
export interface UserRollups {
  at: SummaryVersion;
  days: DaySummary[];
}

/**
 * A user's summaries of `days` (every day given, empty ones too) and the version and generation they
 * are at, in one statement, so one snapshot: the version orders the copy written to Redis against
 * copies written by events committing meanwhile.
 */
export async function readRollups(db: Queryable, userId: string, days: string[]): Promise<UserRollups> {
  return (await readRollupsOf(db, new Map([[userId, days]]))).get(userId)!;
}

/**
 * readRollups for several users at once (user id -> days), still in ONE statement: a consumer's batch
 * reads back every user it changed in one round trip.
 */
export async function readRollupsOf(
  db: Queryable,
  wanted: ReadonlyMap<string, readonly string[]>,
): Promise<Map<string, UserRollups>> {
  const users = [...wanted.keys()];
  const pairs = users.flatMap((u) => wanted.get(u)!.map((day) => [u, day] as const));
  const rows = (await db.query(
    // Keyed by the ids as the caller spelled them (u.key), which Postgres would print in its own case.
    `WITH u AS (SELECT DISTINCT key, key::uuid AS id FROM unnest($1::text[]) AS key),
          w AS (SELECT * FROM unnest($2::uuid[], $3::date[]) AS w(user_id, day))
     SELECT u.key AS user_id, coalesce(v.version, 0)::text AS version,
            ${CURRENT_GENERATION}::text AS generation, r.day::text AS day, r.currency, r.direction,
            r.category, r.merchant, r.amount::text AS amount, r.count
       FROM u
       LEFT JOIN analytics.user_versions v ON v.user_id = u.id
       LEFT JOIN analytics.daily_rollups r
              ON r.user_id = u.id AND (r.user_id, r.day) IN (SELECT w.user_id, w.day FROM w)
      ORDER BY u.key, r.day, r.currency, r.direction, r.category, r.merchant`,
    [users, pairs.map((p) => p[0]), pairs.map((p) => p[1])],
  )) as Row[];
  const out = new Map<string, UserRollups>();
  const byDay = new Map<string, Map<string, DaySummary>>();
  for (const u of users) {
    byDay.set(u, new Map(wanted.get(u)!.map((day) => [day, { day, rows: [] }])));
  }
  for (const r of rows) {
    if (!out.has(r.user_id)) {
      out.set(r.user_id, {
        at: { version: Number(r.version), generation: Number(r.generation) },
        days: [...byDay.get(r.user_id)!.values()],
      });
    }
    if (r.day === null) continue;
    byDay
      .get(r.user_id)!
      .get(r.day)
      ?.rows.push({
        currency: r.currency,
        direction: r.direction,
        category: r.category,
        merchant: r.merchant,
        amount: BigInt(r.amount),
        count: r.count,
      });
  }
  return out;
}
