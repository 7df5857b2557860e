import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ledgerSql } from './ledger-sql';

/**
 * transactions.post_entries, version 2 (libs/transactions/sql/post_entries_v02.sql): the same rules and
 * result as version 1, with less work per call around them, and time-ordered event ids from the new
 * transactions.uuid_v7 (uuid_v7_v01.sql; see each file's header). Down puts version 1's function back
 * and drops uuid_v7; the posting_item type, created by version 1's file, is unchanged by either.
 */
export class LeanerPostEntries1763700000022 implements MigrationInterface {
  name = 'LeanerPostEntries1763700000022';

  async up(q: QueryRunner): Promise<void> {
    await q.query(ledgerSql('uuid_v7_v01.sql'));
    await q.query(ledgerSql('post_entries_v02.sql'));
  }

  async down(q: QueryRunner): Promise<void> {
    const v01 = ledgerSql('post_entries_v01.sql');
    const fn = v01.indexOf('CREATE FUNCTION transactions.post_entries(');
    await q.query(`CREATE OR REPLACE${v01.slice(fn + 'CREATE'.length)}`);
    await q.query(`DROP FUNCTION transactions.uuid_v7()`);
  }
}
