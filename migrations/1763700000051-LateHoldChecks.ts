import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * When the cards module next asks the ledger about the hold of an early reversal's id (HoldExpiry's late
 * pass): an authorisation call the cards app gave up on may have its hold placed by the ledger after the
 * reversal found none. Asked again with backoff until it has been asked at least 15 minutes after the
 * reversal, or the hold was found (and given back): then NULL, and no longer asked. Rows written in the
 * 15 minutes before this migration are asked at the next sweep; older ones are not (NULL). Down drops the
 * column and its index.
 */
export class LateHoldChecks1763700000051 implements MigrationInterface {
  name = 'LateHoldChecks1763700000051';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE cards.early_reversals ADD COLUMN next_check_at timestamptz(3)`);
    await q.query(
      `ALTER TABLE cards.early_reversals ALTER COLUMN next_check_at SET DEFAULT now() + interval '5 seconds'`,
    );
    // A late hold may still come for those of the last 15 minutes: asked at the next sweep.
    await q.query(
      `UPDATE cards.early_reversals SET next_check_at = now() WHERE created_at > now() - interval '15 minutes'`,
    );
    await q.query(
      `CREATE INDEX early_reversals_next_check_idx ON cards.early_reversals (next_check_at)
        WHERE next_check_at IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX cards.early_reversals_next_check_idx');
    await q.query('ALTER TABLE cards.early_reversals DROP COLUMN next_check_at');
  }
}
