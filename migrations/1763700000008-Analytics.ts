import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The analytics read model (analytics schema; its inbox is the foundation's): one movement per customer
 * side of each journal entry, daily rollups derived from them, a per-user lock and version that orders
 * the Redis copies, the generation of those copies, and the staff rebuilds.
 */
export class Analytics1763700000008 implements MigrationInterface {
  name = 'Analytics1763700000008';

  async up(q: QueryRunner): Promise<void> {
    // The source of truth of analytics; direction is in the key because an own-account transfer is
    // one entry with an out and an in for the same user.
    const movementColumns = `
        transaction_id uuid NOT NULL,
        user_id uuid NOT NULL,
        direction text NOT NULL CHECK (direction IN ('in', 'out')),
        amount bigint NOT NULL CHECK (amount > 0),
        currency char(3) NOT NULL,
        category text NOT NULL,
        merchant text,
        counterparty_id uuid,
        kind text NOT NULL,
        occurred_at timestamptz(3) NOT NULL,
        day date NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (transaction_id, user_id, direction)`;
    const rollupColumns = `
        user_id uuid NOT NULL,
        day date NOT NULL,
        currency char(3) NOT NULL,
        direction text NOT NULL CHECK (direction IN ('in', 'out')),
        category text NOT NULL,
        -- '' when none: a key column cannot be null.
        merchant text NOT NULL DEFAULT '',
        amount bigint NOT NULL,
        count int NOT NULL,
        PRIMARY KEY (user_id, day, currency, direction, category, merchant)`;
    // Each table has a twin a rebuild fills before the two swap names (see RebuildRun), so a failed
    // rebuild leaves everything as it was and the swap itself is a rename. Twins have the same indexes.
    for (const table of ['movements', 'movements_rebuild']) {
      await q.query(`CREATE TABLE analytics.${table} (${movementColumns})`);
      // Insights read one user's movements of a few months (largest outgoings, recurring payees).
      await q.query(`CREATE INDEX ${table}_user_time_idx ON analytics.${table} (user_id, occurred_at)`);
      // A rebuild catches up with the movements consumed while it ran.
      await q.query(`CREATE INDEX ${table}_recorded_idx ON analytics.${table} (recorded_at)`);
    }
    for (const table of ['daily_rollups', 'daily_rollups_rebuild']) {
      await q.query(`CREATE TABLE analytics.${table} (${rollupColumns})`);
    }
    // The generation of cached summaries: a time in ms, so a reinstalled schema (or a rebuild) starts
    // above any copy left in Redis by an earlier one.
    await q.query(`
      CREATE TABLE analytics.cache_generation (
        only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
        generation bigint NOT NULL
      )`);
    await q.query(
      `INSERT INTO analytics.cache_generation (generation) VALUES ((extract(epoch FROM clock_timestamp()) * 1000)::bigint)`,
    );
    await q.query(`
      CREATE TABLE analytics.user_versions (
        user_id uuid PRIMARY KEY,
        version bigint NOT NULL
      )`);
    await q.query(`
      CREATE TABLE analytics.rebuilds (
        id uuid PRIMARY KEY,
        status text NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
        requested_by uuid NOT NULL,
        started_at timestamptz(3) NOT NULL DEFAULT now(),
        heartbeat_at timestamptz(3) NOT NULL DEFAULT now(),
        finished_at timestamptz(3),
        entries bigint NOT NULL DEFAULT 0,
        -- Set when completed: cached summaries of an older generation are ignored and refused.
        generation bigint,
        error text
      )`);
    await q.query(
      `CREATE UNIQUE INDEX rebuilds_one_running ON analytics.rebuilds ((true)) WHERE status = 'running'`,
    );
    await q.query(
      `CREATE UNIQUE INDEX rebuilds_generation_idx ON analytics.rebuilds (generation) WHERE status = 'completed'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    // Events of a read model that no longer exists must not count as consumed.
    await q.query(`DELETE FROM analytics.inbox`);
    await q.query(`DROP TABLE analytics.rebuilds`);
    await q.query(`DROP TABLE analytics.user_versions`);
    await q.query(`DROP TABLE analytics.cache_generation`);
    await q.query(`DROP TABLE analytics.daily_rollups_rebuild`);
    await q.query(`DROP TABLE analytics.daily_rollups`);
    await q.query(`DROP TABLE analytics.movements_rebuild`);
    await q.query(`DROP TABLE analytics.movements`);
  }
}
