import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ledgerSql } from './ledger-sql';

/**
 * transactions.authorise_card, version 5 (libs/transactions/sql/authorise_card_v05.sql): a card payment
 * on a frozen account is declined `account_frozen` (before: `card_blocked`, of a card that was never
 * blocked). The declines recorded before keep their reason. Down puts version 4 back and records the
 * new reason as version 4 would have (`card_blocked`), in the ledger's holds and the cards' authorisations,
 * so a replay answers what the code of that version knows.
 */
export class FrozenAccountCardDeclines1763700000049 implements MigrationInterface {
  name = 'FrozenAccountCardDeclines1763700000049';

  async up(q: QueryRunner): Promise<void> {
    await q.query(ledgerSql('authorise_card_v05.sql'));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(ledgerSql('authorise_card_v04.sql'));
    for (const table of ['transactions.holds', 'cards.authorisations']) {
      await q.query(
        `UPDATE ${table} SET decline_reason = 'card_blocked' WHERE decline_reason = 'account_frozen'`,
      );
    }
  }
}
