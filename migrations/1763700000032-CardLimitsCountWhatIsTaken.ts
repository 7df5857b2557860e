import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ledgerSql } from './ledger-sql';

/**
 * transactions.authorise_card, version 3 (libs/transactions/sql/authorise_card_v03.sql): a card's daily
 * and monthly limits count what its payments take (an active hold what it still holds, a cleared one
 * what was cleared), not what was first authorised. Down puts version 2 back.
 */
export class CardLimitsCountWhatIsTaken1763700000032 implements MigrationInterface {
  name = 'CardLimitsCountWhatIsTaken1763700000032';

  async up(q: QueryRunner): Promise<void> {
    await q.query(ledgerSql('authorise_card_v03.sql'));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(ledgerSql('authorise_card_v02.sql'));
  }
}
