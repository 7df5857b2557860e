import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An account's expired, unclaimed holds, by authorisation time: closing an account asks whether a late
 * clearing may still come (CARD_LATE_CLEARING_DAYS), and transactions.holds had no index by account.
 */
export class LateClearingHolds1763700000029 implements MigrationInterface {
  name = 'LateClearingHolds1763700000029';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX holds_late_clearing_idx ON transactions.holds (account_id, created_at)
        WHERE status = 'expired' AND transaction_id IS NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX transactions.holds_late_clearing_idx`);
  }
}
