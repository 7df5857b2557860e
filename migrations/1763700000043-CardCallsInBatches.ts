import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ledgerSql } from './ledger-sql';

/**
 * transactions.card_calls (libs/transactions/sql/card_calls_v01.sql): the card network's calls to the
 * ledger (authorisations, clearings, refunds, hold releases) run as batches, one transaction and commit
 * each, as post_entries does for postings. It only orders the locks and calls the existing functions,
 * whose rules do not change. Down drops it (the application then calls them one at a time again).
 */
export class CardCallsInBatches1763700000043 implements MigrationInterface {
  name = 'CardCallsInBatches1763700000043';

  async up(q: QueryRunner): Promise<void> {
    await q.query(ledgerSql('card_calls_v01.sql'));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP FUNCTION transactions.card_calls(jsonb)');
  }
}
