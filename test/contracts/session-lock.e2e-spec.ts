/**
 * withSessionLock holds its lock on a direct connection, so it works when the apps' pool goes through
 * PgBouncer in transaction mode, where a session lock taken on a pooled connection leaks.
 */
import { withSessionLock } from '@protobank/platform';
import { join } from 'node:path';
import { Client } from 'pg';
import { startPgBouncer, type PgBouncer } from '../support/pgbouncer';
import { createTestEnv, type TestEnv } from '../support/test-env';

const KEY = 4242;

describe('session advisory locks behind PgBouncer', () => {
  let t: TestEnv;
  let bouncer: PgBouncer;

  beforeAll(async () => {
    t = await createTestEnv('sessionlock');
    const admin = new Client({ connectionString: t.databaseUrl.replace(/\/[^/]+$/, '/postgres') });
    await admin.connect();
    await admin.query(`CREATE DATABASE "pbtest_${t.id}"`);
    await admin.end();
    bouncer = await startPgBouncer(t.databaseUrl, join(t.logDir, 'pgbouncer.log'));
  });
  afterAll(async () => {
    await bouncer?.stop();
    await t?.cleanup();
  });

  /** Whether any session of this database holds the advisory lock KEY now. */
  const held = async () => {
    const db = await t.db();
    const { rows } = await db.query(
      `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database
        WHERE l.locktype = 'advisory' AND l.objid = $1 AND d.datname = current_database()`,
      [KEY],
    );
    return rows[0].n > 0;
  };

  it('runs the work holding the lock, answers locked: false to a second caller meanwhile, and lets go after', async () => {
    let second: unknown;
    const first = await withSessionLock(t.databaseUrl, KEY, async () => {
      expect(await held()).toBe(true);
      second = await withSessionLock(t.databaseUrl, KEY, () => Promise.resolve('ran'));
      return 'done';
    });
    expect(first).toEqual({ locked: true, value: 'done' });
    expect(second).toEqual({ locked: false });
    expect(await held()).toBe(false);
    expect(await withSessionLock(t.databaseUrl, KEY, () => Promise.resolve(1))).toEqual({
      locked: true,
      value: 1,
    });
  });

  it('lets go when the work throws, and rethrows', async () => {
    await expect(
      withSessionLock(t.databaseUrl, KEY, () => Promise.reject(new Error('sweep failed'))),
    ).rejects.toThrow('sweep failed');
    expect(await held()).toBe(false);
  });

  it('is needed: the same lock and unlock on a pooled client through PgBouncer leave the lock held', async () => {
    // What DueSweep did before: lock and unlock through the pool. Behind PgBouncer in transaction mode
    // each statement outside a transaction gets whichever server session is free: here the lock's
    // session is busy in another client's transaction when the unlock comes, so the unlock runs elsewhere.
    const pooled = new Client({ connectionString: bouncer.url });
    const other = new Client({ connectionString: bouncer.url });
    await pooled.connect();
    await other.connect();
    try {
      await other.query('SELECT pg_try_advisory_lock($1)', [KEY]); // the only server session: S1
      await pooled.query('BEGIN'); // takes S1, idle again, and keeps it until COMMIT
      await pooled.query('SELECT 1');
      const { rows } = await other.query<{ unlocked: boolean }>('SELECT pg_advisory_unlock($1) AS unlocked', [
        KEY,
      ]); // S1 is busy: a new session S2, which holds no lock
      await pooled.query('COMMIT');
      expect(rows[0].unlocked).toBe(false);
      expect(await held()).toBe(true);
    } finally {
      await pooled.end();
      await other.end();
    }
  });
});
