import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Timestamps that keyset pagination orders by get millisecond precision: what a JS Date (and so a
 * cursor) can carry. With microseconds, rows in the same millisecond fell between two pages.
 */
export class MillisecondTimestamps1763700000004 implements MigrationInterface {
  name = 'MillisecondTimestamps1763700000004';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users.users ALTER COLUMN created_at TYPE timestamptz(3)`);
    await q.query(`ALTER TABLE users.audit_log ALTER COLUMN created_at TYPE timestamptz(3)`);
    await q.query(`ALTER TABLE users.kyc ALTER COLUMN submitted_at TYPE timestamptz(3)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users.kyc ALTER COLUMN submitted_at TYPE timestamptz`);
    await q.query(`ALTER TABLE users.audit_log ALTER COLUMN created_at TYPE timestamptz`);
    await q.query(`ALTER TABLE users.users ALTER COLUMN created_at TYPE timestamptz`);
  }
}
