import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ledgerSql } from './ledger-sql';

/**
 * A standing order's or scheduled payment's payment that staff reverse reads `reversed`, not `paid`.
 * post_entries version 4 (post_entries_v04.sql) writes transaction.reversed with every reversal, and
 * payments records those of its payments' entries in payments.reversals, which its reads join (so the
 * order in which the sweep records a payment and the event arrives does not matter). The reversals posted
 * before this migration are filled in from the ledger here. The INSERT adds only what is missing, and
 * the README's upgrade note has it run again once the new apps run: the reversals posted between this
 * commit and then (or in flight, under version 3, while it commits) are kept by no one. Down puts
 * version 3 back and drops the table (the payments read `paid` again; the ledger keeps the reversals).
 */
export class ReversedPayments1763700000045 implements MigrationInterface {
  name = 'ReversedPayments1763700000045';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE payments.reversals (
        -- The payment's ledger entry (payments.payments.transaction_id), and the entry reversing it.
        transaction_id uuid PRIMARY KEY,
        reversal_id uuid NOT NULL,
        reversed_at timestamptz(3) NOT NULL
      )`);
    await q.query(`
      INSERT INTO payments.reversals (transaction_id, reversal_id, reversed_at)
      SELECT o.id, r.id, r.created_at
        FROM transactions.entries r JOIN transactions.entries o ON o.id = r.reverses_id
       WHERE r.kind = 'reversal' AND o.kind IN ('standing_order', 'scheduled_payment')
      ON CONFLICT (transaction_id) DO NOTHING`);
    await q.query(ledgerSql('post_entries_v04.sql'));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(ledgerSql('post_entries_v03.sql'));
    await q.query('DROP TABLE payments.reversals');
  }
}
