import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The (created_at, id) index on the ledger's entries that analytics' rebuild pages through
 * (TRANSACTIONS_API.entries). Built CONCURRENTLY, outside a transaction, so postings carry on while it
 * builds: a plain CREATE INDEX would hold off every transfer for as long as a large ledger takes.
 */
export class LedgerEntriesIndex1763700000009 implements MigrationInterface {
  name = 'LedgerEntriesIndex1763700000009';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    // A concurrent build that failed halfway leaves an invalid index behind: start again from nothing.
    const [invalid] = (await q.query(
      `SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE c.relname = 'entries_created_idx' AND c.relnamespace = 'transactions'::regnamespace
          AND NOT i.indisvalid`,
    )) as unknown[];
    if (invalid) await q.query(`DROP INDEX CONCURRENTLY transactions.entries_created_idx`);
    await q.query(
      `CREATE INDEX CONCURRENTLY IF NOT EXISTS entries_created_idx ON transactions.entries (created_at, id)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    // A revert runs in a transaction, where CONCURRENTLY is not allowed; dropping is quick anyway.
    await q.query(`DROP INDEX transactions.entries_created_idx`);
  }
}
