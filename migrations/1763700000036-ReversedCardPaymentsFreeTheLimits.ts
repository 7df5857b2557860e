import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ledgerSql } from './ledger-sql';

/**
 * transactions.authorise_card, version 4 (libs/transactions/sql/authorise_card_v04.sql): a card payment
 * whose clearing staff reversed counts nothing towards the card's daily and monthly limits. Down puts
 * version 3 back.
 */
export class ReversedCardPaymentsFreeTheLimits1763700000036 implements MigrationInterface {
  name = 'ReversedCardPaymentsFreeTheLimits1763700000036';

  async up(q: QueryRunner): Promise<void> {
    await q.query(ledgerSql('authorise_card_v04.sql'));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(ledgerSql('authorise_card_v03.sql'));
  }
}
