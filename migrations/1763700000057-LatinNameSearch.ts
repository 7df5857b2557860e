import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ensureExtension } from './extensions';
import { createIndexConcurrently } from './concurrent-index';

/**
 * Staff search finds a customer by the Latin spelling of their name too (1763700000056: a customer named
 * 李小龍 is found as "li xiaolong", as they would spell it on the phone), on a trigram index of its own
 * beside 1763700000055's, so that the search stays a bitmap of indexes. Only users who have one are in it.
 * pg_trgm is there (1763700000055 made it, or it was before), and stays on down.
 */
export class LatinNameSearch1763700000057 implements MigrationInterface {
  name = 'LatinNameSearch1763700000057';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    const { schema } = await ensureExtension(q, 'pg_trgm');
    await createIndexConcurrently(
      q,
      'users',
      'users_latin_name_trgm_idx',
      `users.users USING gin (latin_name ${schema}.gin_trgm_ops) WHERE latin_name IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    // A revert runs in a transaction, where CONCURRENTLY is not allowed; dropping is quick anyway.
    await q.query(`DROP INDEX users.users_latin_name_trgm_idx`);
  }
}
