import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A card payment that staff reversed says so in the card's authorisations (reversed_by_id, reversed_at):
 * cards keeps transaction.reversed of card entries (post_entries version 4, migration 045) in
 * cards.reversals, which that read joins. The reversals posted before this migration are filled in from
 * the ledger here (the INSERT adds only what is missing: the README's upgrade note has it run again once
 * the new cards app runs). Down drops the table (the ledger keeps the reversals).
 */
export class ReversedCardPayments1763700000046 implements MigrationInterface {
  name = 'ReversedCardPayments1763700000046';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE cards.reversals (
        -- A card entry (a clearing: cards.authorisations.transaction_id), and the entry reversing it.
        transaction_id uuid PRIMARY KEY,
        reversal_id uuid NOT NULL,
        reversed_at timestamptz(3) NOT NULL
      )`);
    await q.query(`
      INSERT INTO cards.reversals (transaction_id, reversal_id, reversed_at)
      SELECT o.id, r.id, r.created_at
        FROM transactions.entries r JOIN transactions.entries o ON o.id = r.reverses_id
       WHERE r.kind = 'reversal' AND o.kind = 'card'
      ON CONFLICT (transaction_id) DO NOTHING`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE cards.reversals');
  }
}
