import type { EntityManager } from 'typeorm';
import type { Movement } from './movements';

type Queryable = Pick<EntityManager, 'query'>;

const RECORD = `jsonb_to_recordset($1::jsonb) AS m(
  transaction_id uuid, user_id uuid, direction text, amount bigint, currency char(3), category text,
  merchant text, counterparty_id uuid, kind text, reverses_id uuid, occurred_at timestamptz, day date)`;
export const MOVEMENT_COLUMNS = `transaction_id, user_id, direction, amount, currency, category, merchant, counterparty_id, kind,
  reverses_id, occurred_at, day`;

/** The live tables, or the twins a rebuild fills before they swap names (see RebuildRun). */
type Tables = { movements: string; rollups: string };
const LIVE: Tables = { movements: 'movements', rollups: 'daily_rollups' };
const STAGING: Tables = { movements: 'movements_rebuild', rollups: 'daily_rollups_rebuild' };

/**
 * Inserts the movements `source` yields and adds to the daily rollups exactly those it inserted, in one
 * statement: a movement already there (a rebuild wrote it, or a redelivery) changes nothing, so each is
 * counted once.
 */
const insertAndRollUp = (source: string, t: Tables) => `
  WITH inserted AS (
    INSERT INTO analytics.${t.movements} (${MOVEMENT_COLUMNS})
    SELECT ${MOVEMENT_COLUMNS} FROM ${source}
    ON CONFLICT DO NOTHING
    RETURNING user_id, day, currency, direction, category, merchant, amount)
  INSERT INTO analytics.${t.rollups} AS r (user_id, day, currency, direction, category, merchant, amount, count)
  SELECT user_id, day, currency, direction, category, coalesce(merchant, ''), sum(amount), count(*)
    FROM inserted GROUP BY 1, 2, 3, 4, 5, 6
  ON CONFLICT (user_id, day, currency, direction, category, merchant)
    DO UPDATE SET amount = r.amount + excluded.amount, count = r.count + excluded.count`;

/** What the consumer writes for one event. */
export async function recordMovements(db: Queryable, movements: Movement[]): Promise<void> {
  if (movements.length === 0) return;
  await db.query(insertAndRollUp(RECORD, LIVE), [JSON.stringify(movements)]);
}

/** A rebuild's page of movements, into the staging twin (its rollups are computed once, at the end). */
export async function stageMovements(db: Queryable, movements: Movement[]): Promise<void> {
  if (movements.length === 0) return;
  await db.query(
    `INSERT INTO analytics.${STAGING.movements} (${MOVEMENT_COLUMNS}) SELECT ${MOVEMENT_COLUMNS} FROM ${RECORD} ON CONFLICT DO NOTHING`,
    [JSON.stringify(movements)],
  );
}

/** The staged rollups, from all staged movements: the heavy step, done before the rebuild takes its lock. */
export async function rollUpStaging(db: Queryable): Promise<void> {
  await db.query(
    `INSERT INTO analytics.${STAGING.rollups} (user_id, day, currency, direction, category, merchant, amount, count)
     SELECT user_id, day, currency, direction, category, coalesce(merchant, ''), sum(amount), count(*)
       FROM analytics.${STAGING.movements} GROUP BY 1, 2, 3, 4, 5, 6`,
  );
}

/**
 * Brings the staging twins up to date with the movements consumers recorded since `since` (with a
 * minute's margin: recorded_at is a transaction's start, not its commit): those new to staging are
 * added to its rollups too.
 */
export async function catchUpStaging(db: Queryable, since: Date): Promise<void> {
  await db.query(
    insertAndRollUp(
      `analytics.${LIVE.movements} WHERE recorded_at >= $1::timestamptz - interval '1 minute'`,
      STAGING,
    ),
    [since.toISOString()],
  );
}

/*
 * The two catalogue steps of a rebuild need the tables' owner, which the apps are not: each is a SECURITY
 * DEFINER function of migration 1763700000031 that does that step and nothing else.
 */

/** Empties the staging twins (before a rebuild, and after a swap, when they hold the old figures). */
export async function clearStaging(db: Queryable): Promise<void> {
  await db.query(`SELECT analytics.clear_rebuild_staging()`);
}

/**
 * The twins swap names (movements with movements_rebuild, daily_rollups with daily_rollups_rebuild): a
 * catalogue change, so the lock it needs is held for a moment only.
 */
export async function swapStaging(db: Queryable): Promise<void> {
  await db.query(`SELECT analytics.swap_rebuild_staging()`);
}
