import type { EntityManager } from 'typeorm';
import type { Movement } from './movements';

type Queryable = Pick<EntityManager, 'query'>;

const RECORD = `jsonb_to_recordset($1::jsonb) AS m(
  transaction_id uuid, user_id uuid, direction text, amount bigint, currency char(3), category text,
  merchant text, counterparty_id uuid, kind text, occurred_at timestamptz, day date)`;
export const MOVEMENT_COLUMNS = `transaction_id, user_id, direction, amount, currency, category, merchant, counterparty_id, kind,
  occurred_at, day`;

/**
 * Records movements and adds to the daily rollups exactly those it inserted, in one statement: a
 * movement already there (a rebuild wrote it, or a redelivery) changes nothing, so each is counted once.
 */
export async function recordMovements(db: Queryable, movements: Movement[]): Promise<void> {
  if (movements.length === 0) return;
  await db.query(
    `WITH inserted AS (
       INSERT INTO analytics.movements (${MOVEMENT_COLUMNS})
       SELECT ${MOVEMENT_COLUMNS} FROM ${RECORD}
       ON CONFLICT DO NOTHING
       RETURNING user_id, day, currency, direction, category, merchant, amount)
     INSERT INTO analytics.daily_rollups AS r (user_id, day, currency, direction, category, merchant, amount, count)
     SELECT user_id, day, currency, direction, category, coalesce(merchant, ''), sum(amount), count(*)
       FROM inserted GROUP BY 1, 2, 3, 4, 5, 6
     ON CONFLICT (user_id, day, currency, direction, category, merchant)
       DO UPDATE SET amount = r.amount + excluded.amount, count = r.count + excluded.count`,
    [JSON.stringify(movements)],
  );
}

/** A rebuild's page of movements, into its staging table (see RebuildRun). */
export async function stageMovements(db: Queryable, movements: Movement[]): Promise<void> {
  if (movements.length === 0) return;
  await db.query(
    `INSERT INTO analytics.movements_rebuild (${MOVEMENT_COLUMNS}) SELECT ${MOVEMENT_COLUMNS} FROM ${RECORD} ON CONFLICT DO NOTHING`,
    [JSON.stringify(movements)],
  );
}
