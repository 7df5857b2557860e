import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ledgerSql } from './ledger-sql';

/**
 * transactions.release_hold, version 2 (libs/transactions/sql/release_hold_v02.sql): a partial reversal
 * gives back once per network id, recorded in transactions.hold_releases (kept, like the clearings' keys:
 * a network may resend a reversal at any time). The new parameter has a default, so callers of version 1
 * keep working during a rolling deploy. Down drops the table and puts version 1 back.
 */
export class ReversalsOncePerNetworkId1763700000028 implements MigrationInterface {
  name = 'ReversalsOncePerNetworkId1763700000028';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE transactions.hold_releases (
        network_transaction_id text PRIMARY KEY,
        hold_id uuid NOT NULL REFERENCES transactions.holds (id),
        -- As asked: null releases all that remains.
        requested bigint,
        -- The first release's outcome, which a repeat returns; null only inside the claiming transaction.
        status text,
        remaining bigint,
        released bigint,
        created_at timestamptz(3) NOT NULL
      )`);
    await q.query(`DROP FUNCTION transactions.release_hold(uuid, bigint, text)`);
    await q.query(ledgerSql('release_hold_v02.sql'));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION transactions.release_hold(uuid, bigint, text, text)`);
    await q.query(`DROP TABLE transactions.hold_releases`);
    await q.query(ledgerSql('release_hold_v01.sql'));
  }
}
