import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An account's holds that expired unclaimed, by expiry: closing an account asks whether a late clearing
 * may still come (CARD_LATE_CLEARING_DAYS after the hold expired), and transactions.holds had no index by
 * account. Built CONCURRENTLY, outside a transaction, as 1763700000009 does: every authorisation, clearing,
 * reversal and expiry writes this table, and a plain CREATE INDEX would hold them all off while it builds.
 */
export class LateClearingHolds1763700000029 implements MigrationInterface {
  name = 'LateClearingHolds1763700000029';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    // A concurrent build that failed halfway leaves an invalid index behind: start again from nothing.
    const [invalid] = (await q.query(
      `SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE c.relname = 'holds_late_clearing_idx' AND c.relnamespace = 'transactions'::regnamespace
          AND NOT i.indisvalid`,
    )) as unknown[];
    if (invalid) await q.query(`DROP INDEX CONCURRENTLY transactions.holds_late_clearing_idx`);
    await q.query(
      `CREATE INDEX CONCURRENTLY IF NOT EXISTS holds_late_clearing_idx ON transactions.holds (account_id, expires_at)
        WHERE status = 'expired' AND transaction_id IS NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    // A revert runs in a transaction, where CONCURRENTLY is not allowed; dropping is quick anyway.
    await q.query(`DROP INDEX transactions.holds_late_clearing_idx`);
  }
}
