import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ledgerSql } from './ledger-sql';

/**
 * A card refund that names its payment is checked against it and recorded against it
 * (refund_card_v02.sql, card_calls_v02.sql): transactions.card_refunds keeps, per refund entry, the hold
 * (authorisation) it refunds, that payment's clearing entry and how much. So refunds cannot come to more
 * than the payment cleared, none lands after staff reversed the payment, and a staff reversal of a
 * refunded payment is refused (post_entries_v03.sql), each under the account's lock. Down puts the
 * versions before back and drops the table (the links are lost; the entries stay).
 */
export class RefundsOfTheirPayment1763700000044 implements MigrationInterface {
  name = 'RefundsOfTheirPayment1763700000044';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE transactions.card_refunds (
        entry_id uuid PRIMARY KEY REFERENCES transactions.entries (id),
        hold_id uuid NOT NULL,
        clearing_id uuid NOT NULL REFERENCES transactions.entries (id),
        amount bigint NOT NULL CHECK (amount > 0)
      )`);
    await q.query(`CREATE INDEX card_refunds_hold_idx ON transactions.card_refunds (hold_id)`);
    await q.query(`CREATE INDEX card_refunds_clearing_idx ON transactions.card_refunds (clearing_id)`);
    await q.query(ledgerSql('refund_card_v02.sql'));
    await q.query(ledgerSql('card_calls_v02.sql'));
    await q.query(ledgerSql('post_entries_v03.sql'));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(ledgerSql('post_entries_v02.sql'));
    await q.query('DROP FUNCTION transactions.card_calls(jsonb)');
    await q.query(ledgerSql('card_calls_v01.sql'));
    await q.query(
      'DROP FUNCTION transactions.refund_card(uuid, text, uuid, uuid, bigint, char(3), text, text, uuid, text, jsonb, uuid)',
    );
    await q.query(ledgerSql('refund_card_v01.sql'));
    await q.query('DROP TABLE transactions.card_refunds');
  }
}
