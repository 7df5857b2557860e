import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ensureExtension } from './extensions';
import { createIndexConcurrently } from './concurrent-index';

/** Said on the name index when this migration created pg_trgm, for `down` to drop it then only. */
const CREATED = 'trigram index of folded names; its migration created the pg_trgm extension';
const FOUND = 'trigram index of folded names; pg_trgm was there before its migration';

/**
 * Staff search (`GET /admin/users?query=`: a part of an e-mail or of a name, folded by users.folded) reads
 * every user: measured on 300,000 users, 474 ms a search with the names folded (186 ms before 1763700000054
 * folded them; helper-162). Trigram indexes (PostgreSQL's pg_trgm, a trusted extension like unaccent, created
 * in `public` unless the database has it) on the e-mail and the folded name serve `ILIKE '%…%'` of three
 * characters or more. Built CONCURRENTLY, outside a transaction, as 1763700000029 does: registrations and
 * profile changes go on while they build. Down drops both, and the extension only if this migration made it.
 */
export class StaffSearchIndexes1763700000055 implements MigrationInterface {
  name = 'StaffSearchIndexes1763700000055';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    const { existed, schema } = await ensureExtension(q, 'pg_trgm');
    await createIndexConcurrently(
      q,
      'users',
      'users_email_trgm_idx',
      `users.users USING gin (email ${schema}.gin_trgm_ops)`,
    );
    await createIndexConcurrently(
      q,
      'users',
      'users_name_trgm_idx',
      `users.users USING gin (users.folded(full_name) ${schema}.gin_trgm_ops)`,
    );
    await q.query(`COMMENT ON INDEX users.users_name_trgm_idx IS '${existed ? FOUND : CREATED}'`);
  }

  async down(q: QueryRunner): Promise<void> {
    const [{ created }] = (await q.query(
      `SELECT obj_description('users.users_name_trgm_idx'::regclass, 'pg_class') = $1 AS created`,
      [CREATED],
    )) as { created: boolean }[];
    // A revert runs in a transaction, where CONCURRENTLY is not allowed; dropping is quick anyway.
    await q.query(`DROP INDEX users.users_name_trgm_idx`);
    await q.query(`DROP INDEX users.users_email_trgm_idx`);
    if (created) await q.query(`DROP EXTENSION IF EXISTS pg_trgm`);
  }
}
