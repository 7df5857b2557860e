import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Checkpoints of the ledger verification (issue 17), so that a run verifies only what was posted since
 * the last clean one instead of every posting since the first (about 50 s at a million entries).
 *
 * - `ledger_checkpoints`: one row per clean verification, the newest (highest seq) being the one the next
 *   run continues from: what it covered (entries, accounts) and the clock time of its snapshot.
 * - `ledger_checkpoint_accounts`: per ledger account, the last posting verified (its account_version) and
 *   its balance_after, as of the newest checkpoint; only accounts with postings have a row. A run takes
 *   every posting with a higher version: versions only grow under the row lock every posting takes, so a
 *   posting committed after a checkpoint's snapshot has a higher version than any that snapshot saw,
 *   however early its transaction began.
 *
 * Staff's verifications in the background (POST /admin/ledger/verifications) are BullMQ jobs, not rows.
 *
 * Only the verification writes the checkpoints, under LOCK TABLE ledger_checkpoints (taken before its snapshot), so
 * verifications never overlap on them. No foreign key to ledger_accounts: its check would lock the
 * account rows postings lock (FOR KEY SHARE) from a transaction that can last a while. Nothing here is a
 * source of truth: deleting both tables' rows makes the next run a full one.
 */
export class LedgerVerifyCheckpoints1763700000021 implements MigrationInterface {
  name = 'LedgerVerifyCheckpoints1763700000021';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE transactions.ledger_checkpoints (
        id uuid PRIMARY KEY,
        seq bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT ledger_checkpoints_seq_unique UNIQUE,
        mode text NOT NULL CHECK (mode IN ('full', 'incremental')),
        -- The checkpoint an incremental run continued from.
        previous_id uuid REFERENCES transactions.ledger_checkpoints (id),
        -- Clock time at the run's snapshot: entries created from then on are re-read by the next run
        -- (by time, which finds an entry with no postings; postings are found by version).
        as_of timestamptz(3) NOT NULL,
        entries bigint NOT NULL CHECK (entries >= 0),
        new_entries bigint NOT NULL CHECK (new_entries >= 0),
        accounts integer NOT NULL CHECK (accounts >= 0),
        duration_ms integer NOT NULL CHECK (duration_ms >= 0),
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        CHECK ((mode = 'full') = (previous_id IS NULL))
      )`);
    await q.query(`
      CREATE TABLE transactions.ledger_checkpoint_accounts (
        account_id uuid PRIMARY KEY,
        version bigint NOT NULL CHECK (version > 0),
        balance bigint NOT NULL,
        checkpoint_id uuid NOT NULL REFERENCES transactions.ledger_checkpoints (id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE transactions.ledger_checkpoint_accounts`);
    await q.query(`DROP TABLE transactions.ledger_checkpoints`);
  }
}
