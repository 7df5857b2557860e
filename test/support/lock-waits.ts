/**
 * Forcing a race into one order: a test holds a row or table lock in a connection of its own, sends the
 * racing requests, and waits here until Postgres shows them waiting on a lock, before letting go.
 */
import type { Client } from 'pg';
import { eventually } from './test-env';

/** The queries of the sessions of `db`'s database that wait for a lock while running SQL like `like`. */
export async function lockedQueries(db: Client, like: string): Promise<string[]> {
  const { rows } = await db.query<{ query: string }>(
    `SELECT query FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()
        AND query ILIKE $1`,
    [like],
  );
  return rows.map((r) => r.query);
}

/**
 * Waits until at least `n` sessions of `db`'s database wait for a lock while running SQL like `like`
 * (ILIKE, `%` wildcards), and gives their queries.
 */
export function lockWaiters(db: Client, n: number, like: string, what: string): Promise<string[]> {
  return eventually(
    async () => {
      const queries = await lockedQueries(db, like);
      return queries.length >= n ? queries : undefined;
    },
    15000,
    what,
  );
}
