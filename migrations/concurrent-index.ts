import type { QueryRunner } from 'typeorm';

/**
 * Builds an index CONCURRENTLY, so writes to a busy table carry on while it builds (a plain CREATE INDEX
 * holds them off for as long as the build takes). The migration must say `transaction = false`. A
 * concurrent build that failed halfway leaves an invalid index behind: it is dropped and built again.
 */
export async function createIndexConcurrently(
  q: QueryRunner,
  schema: string,
  name: string,
  definition: string,
): Promise<void> {
  const [invalid] = (await q.query(
    `SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE c.relname = $1 AND c.relnamespace = $2::regnamespace AND NOT i.indisvalid`,
    [name, schema],
  )) as unknown[];
  if (invalid) await q.query(`DROP INDEX CONCURRENTLY ${schema}.${name}`);
  await q.query(`CREATE INDEX CONCURRENTLY IF NOT EXISTS ${name} ON ${definition}`);
}
