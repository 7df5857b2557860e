import type { QueryRunner } from 'typeorm';

/**
 * A PostgreSQL extension the schema builds on (unaccent, pg_trgm: trusted extensions, which the database's
 * owner may create), created in `public` unless the database has it already. Whether it was there before
 * (a migration's `down` drops only what its `up` created), and the quoted schema it is in, for naming its
 * objects whatever search_path is.
 */
export async function ensureExtension(
  q: QueryRunner,
  name: 'unaccent' | 'pg_trgm',
): Promise<{ existed: boolean; schema: string }> {
  const [{ existed }] = (await q.query(
    `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = $1) AS existed`,
    [name],
  )) as { existed: boolean }[];
  if (!existed) await q.query(`CREATE EXTENSION IF NOT EXISTS ${name} SCHEMA public`);
  const [{ schema }] = (await q.query(
    `SELECT quote_ident(n.nspname) AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
      WHERE e.extname = $1`,
    [name],
  )) as { schema: string }[];
  return { existed, schema };
}
