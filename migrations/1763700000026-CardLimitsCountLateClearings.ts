import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ledgerSql } from './ledger-sql';

/**
 * transactions.authorise_card, version 2 (libs/transactions/sql/authorise_card_v02.sql): a hold that
 * expired or was reversed and then cleared late counts towards the card's daily and monthly limits again.
 * Down puts version 1 back.
 */
export class CardLimitsCountLateClearings1763700000026 implements MigrationInterface {
  name = 'CardLimitsCountLateClearings1763700000026';

  async up(q: QueryRunner): Promise<void> {
    await q.query(ledgerSql('authorise_card_v02.sql'));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(ledgerSql('authorise_card_v01.sql'));
  }
}
