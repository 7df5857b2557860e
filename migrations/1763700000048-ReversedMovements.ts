import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createIndexConcurrently } from './concurrent-index';

/**
 * A reversal's movements carry the entry they reverse (reverses_id), so insights can say that one of the
 * largest payments out was reversed: before, a payment staff reversed was listed as if the money had gone.
 * The live table and its rebuild twin both get the column (a rebuild swaps them); the reversals recorded
 * before are filled in from the ledger. The indexes (reversals only) are built CONCURRENTLY, as 029 and 047
 * do, since consumers write to the table all the time: hence no transaction, and every step may run again.
 */
export class ReversedMovements1763700000048 implements MigrationInterface {
  name = 'ReversedMovements1763700000048';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    for (const table of ['movements', 'movements_rebuild']) {
      await q.query(`ALTER TABLE analytics.${table} ADD COLUMN IF NOT EXISTS reverses_id uuid`);
    }
    await q.query(`
      UPDATE analytics.movements m SET reverses_id = e.reverses_id
        FROM transactions.entries e
       WHERE m.kind = 'reversal' AND m.reverses_id IS NULL AND e.id = m.transaction_id`);
    // On both twins, as 008's indexes are: a swap exchanges the tables with their indexes.
    for (const table of ['movements', 'movements_rebuild']) {
      await createIndexConcurrently(
        q,
        'analytics',
        `${table}_reverses_idx`,
        `analytics.${table} (reverses_id) WHERE reverses_id IS NOT NULL`,
      );
    }
  }

  async down(q: QueryRunner): Promise<void> {
    // Dropping the column drops its index too (whichever twin holds which name after swaps).
    for (const table of ['movements', 'movements_rebuild']) {
      await q.query(`ALTER TABLE analytics.${table} DROP COLUMN IF EXISTS reverses_id`);
    }
  }
}
