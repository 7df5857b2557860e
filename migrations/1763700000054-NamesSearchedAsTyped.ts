import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ensureExtension } from './extensions';

/** Said on users.folded when this migration created unaccent, so that `down` drops it then only. */
const CREATED = 'folds text with the unaccent extension, which its migration created';
const FOUND = 'folds text with the unaccent extension, which was there before its migration';

/**
 * `users.folded(text)`: text with its accents and typographic apostrophes taken off, as PostgreSQL's
 * unaccent extension does (`Zoë O’Neil` is `Zoe O'Neil`), for staff search: a name registered from a
 * phone often carries `’`, and staff type `'`, or no accents. The extension's one-argument function finds
 * its dictionary through search_path and is only STABLE, so this wrapper names the dictionary in the
 * schema the extension is in (public, unless it was there before elsewhere) and is IMMUTABLE, so that an
 * index on it stays possible (common practice, as the dictionary does not change under a running bank).
 * unaccent is a trusted extension: the database's owner may create it. The SQL-standard body (PostgreSQL
 * 14 and later) binds the function and dictionary when created, so search_path never changes what it
 * calls, and the extension cannot be dropped under it. Down drops the wrapper, and the extension only if
 * this migration created it (as the wrapper's comment says: a database restored into one that had
 * unaccent before keeps the comment of the one dumped).
 */
export class NamesSearchedAsTyped1763700000054 implements MigrationInterface {
  name = 'NamesSearchedAsTyped1763700000054';

  async up(q: QueryRunner): Promise<void> {
    const { existed, schema } = await ensureExtension(q, 'unaccent');
    await q.query(
      `CREATE FUNCTION users.folded(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
         RETURN ${schema}.unaccent('${schema}.unaccent'::regdictionary, $1)`,
    );
    await q.query(`COMMENT ON FUNCTION users.folded(text) IS '${existed ? FOUND : CREATED}'`);
  }

  async down(q: QueryRunner): Promise<void> {
    const [{ created }] = (await q.query(
      `SELECT obj_description('users.folded(text)'::regprocedure, 'pg_proc') = $1 AS created`,
      [CREATED],
    )) as { created: boolean }[];
    await q.query(`DROP FUNCTION users.folded(text)`);
    if (created) await q.query(`DROP EXTENSION IF EXISTS unaccent`);
  }
}
