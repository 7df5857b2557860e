import { Client } from 'pg';

export type SessionLockResult<T> = { locked: true; value: T } | { locked: false };

/**
 * Runs `work` holding the Postgres session advisory lock `key`, or answers `{locked: false}` at once when
 * another session holds it. The lock lives on a connection of its own to `directUrl` (DATABASE_LISTEN_URL),
 * never on the pool: behind PgBouncer in transaction mode a pooled client's statements may each run on a
 * different server session, so a lock taken there is unlocked on another session (a no-op) and stays
 * held, unseen, by a server connection that lives on. A holder that dies takes its lock with it (the
 * session ends); `work` must therefore stay correct if it outlives its lock.
 */
export async function withSessionLock<T>(
  directUrl: string,
  key: number,
  work: () => Promise<T>,
): Promise<SessionLockResult<T>> {
  const client = new Client({ connectionString: directUrl, application_name: 'protobank session lock' });
  // A connection lost while `work` runs releases the lock; it must not also crash the process.
  client.on('error', () => undefined);
  await client.connect();
  try {
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
      key,
    ]);
    if (!rows[0].locked) return { locked: false };
    try {
      return { locked: true, value: await work() };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [key]).catch(() => undefined);
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}
