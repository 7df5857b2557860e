/**
 * After the whole e2e run: the group role migration 1763700000031 creates is the server's, shared by every
 * suite's database, so no suite drops it (another's migration may be granting to it at that moment). Once
 * all have finished and dropped their databases, it holds nothing and goes too. A database left on the
 * server that still grants it something (a developer's own, say) keeps it: Postgres refuses (2BP01).
 */
import { Client } from 'pg';
import { PG_BASE } from '../support/test-env';

export default async function dropRuntimeGroup(): Promise<void> {
  const admin = new Client({ connectionString: PG_BASE });
  await admin.connect();
  try {
    await admin.query('DROP ROLE IF EXISTS protobank_runtime');
  } catch (err) {
    if ((err as { code?: string }).code !== '2BP01') throw err;
  } finally {
    await admin.end();
  }
}
