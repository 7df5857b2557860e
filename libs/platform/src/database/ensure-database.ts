import { Client } from 'pg';

/** Postgres's "database does not exist". */
const NO_SUCH_DATABASE = '3D000';

/**
 * Creates the database named in the URL when it does not exist yet (first start, fresh test run); true
 * when it did. Its own database is tried first, so a server that lets the role reach only that one (no
 * CONNECT on `postgres`) starts the app all the same. With `create: false` (production apps, and migrate
 * there without --create-database) a missing database is an error naming it: a typo in DATABASE_URL, say
 * while pointing the apps at a restored database, would otherwise give a new, empty, fully migrated bank
 * that reported itself ready.
 */
export async function ensureDatabase(
  url: string,
  { create = true }: { create?: boolean } = {},
): Promise<boolean> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) throw new Error('DATABASE_URL names no database');
  const admin = new URL(url);
  admin.pathname = '/postgres';
  if (await exists(url, admin.toString(), name)) return false;
  if (!create) {
    throw new Error(
      `database "${name}" does not exist: check DATABASE_URL, or create it (npm run migration:run -- --create-database; in a container, node dist/apps/migrate/src/main.js --create-database)`,
    );
  }
  try {
    await withClient(admin.toString(), (c) => c.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`));
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === '42P04') return false; // created concurrently by another app
    throw err;
  }
}

/**
 * Whether the database exists: it takes a connection, or Postgres says it does not (3D000). Any other
 * refusal (a pooler's own error, say) is settled as before, by asking the maintenance database.
 */
async function exists(url: string, adminUrl: string, name: string): Promise<boolean> {
  try {
    await withClient(url, async () => undefined);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === NO_SUCH_DATABASE) return false;
    return withClient(adminUrl, async (c) => {
      const found = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      return (found.rowCount ?? 0) > 0;
    }).catch(() => {
      throw err;
    });
  }
}

async function withClient<T>(url: string, work: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  // A connection lost mid-query rejects the query; its 'error' event must not also crash the process.
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
