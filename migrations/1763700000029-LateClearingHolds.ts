import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createIndexConcurrently } from './concurrent-index';

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
    await createIndexConcurrently(
      q,
      'transactions',
      'holds_late_clearing_idx',
      `transactions.holds (account_id, expires_at) WHERE status = 'expired' AND transaction_id IS NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    // A revert runs in a transaction, where CONCURRENTLY is not allowed; dropping is quick anyway.
    await q.query(`DROP INDEX transactions.holds_late_clearing_idx`);
  }
}
