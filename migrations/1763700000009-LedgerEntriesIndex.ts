import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createIndexConcurrently } from './concurrent-index';

/**
 * The (created_at, id) index on the ledger's entries that analytics' rebuild pages through
 * (TRANSACTIONS_API.entries). Built CONCURRENTLY, outside a transaction, so postings carry on while it
 * builds: a plain CREATE INDEX would hold off every transfer for as long as a large ledger takes.
 */
export class LedgerEntriesIndex1763700000009 implements MigrationInterface {
  name = 'LedgerEntriesIndex1763700000009';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await createIndexConcurrently(
      q,
      'transactions',
      'entries_created_idx',
      'transactions.entries (created_at, id)',
    );
  }

  async down(q: QueryRunner): Promise<void> {
    // A revert runs in a transaction, where CONCURRENTLY is not allowed; dropping is quick anyway.
    await q.query(`DROP INDEX transactions.entries_created_idx`);
  }
}
