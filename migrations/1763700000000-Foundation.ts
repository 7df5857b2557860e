import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The module schemas, each with its own outbox (events it produces) and inbox (events it consumed). */
export const MODULE_SCHEMAS = [
  'auth',
  'users',
  'accounts',
  'transactions',
  'cards',
  'payments',
  'notifications',
  'analytics',
];

export class Foundation1763700000000 implements MigrationInterface {
  name = 'Foundation1763700000000';

  async up(q: QueryRunner): Promise<void> {
    for (const s of MODULE_SCHEMAS) {
      await q.query(`CREATE SCHEMA "${s}"`);
      await q.query(`
        CREATE TABLE "${s}".outbox (
          id uuid PRIMARY KEY,
          name text NOT NULL,
          payload jsonb NOT NULL,
          headers jsonb NOT NULL DEFAULT '{}',
          created_at timestamptz NOT NULL DEFAULT now(),
          published_at timestamptz,
          attempts int NOT NULL DEFAULT 0,
          next_attempt_at timestamptz NOT NULL DEFAULT now(),
          last_error text
        )`);
      // The relay only ever scans unpublished rows: keep that index small.
      await q.query(
        `CREATE INDEX outbox_pending_idx ON "${s}".outbox (created_at, id) WHERE published_at IS NULL`,
      );
      await q.query(`
        CREATE TABLE "${s}".inbox (
          event_id uuid NOT NULL,
          consumer text NOT NULL,
          processed_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (event_id, consumer)
        )`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const s of [...MODULE_SCHEMAS].reverse()) {
      await q.query(`DROP TABLE "${s}".inbox`);
      await q.query(`DROP TABLE "${s}".outbox`);
      await q.query(`DROP SCHEMA "${s}"`);
    }
  }
}
