/**
 * migrate and the traffic's locks (libs/platform/src/database/migration-locks.ts): a migration that waits
 * for a table a long transaction holds gives up at MIGRATION_LOCK_TIMEOUT_MS, so the queries that queued
 * behind its pending lock run while the long transaction goes on; it is rolled back whole and tried again,
 * and applies once the table is free. After MIGRATION_LOCK_ATTEMPTS, migrate exits 1 naming the statement.
 */
import {
  dataSourceOptions,
  loadConfig,
  withLockRetries,
  withLockTimeout,
  type LockPatience,
  type LockRetry,
} from '@protobank/platform';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Client } from 'pg';
import { DataSource, QueryFailedError, type MigrationInterface, type QueryRunner } from 'typeorm';
import { processes } from './support/processes';
import { createTestEnv, eventually, type TestEnv } from './support/test-env';

const MIGRATE = join(__dirname, '../dist/apps/migrate/src/main.js');

/** A migration of this suite's own, on a table of its own: a side table, then a column on the probe. */
class ProbeColumn1700000000000 implements MigrationInterface {
  name = 'ProbeColumn1700000000000';
  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE lock_probe_side (id int)`);
    await q.query(`ALTER TABLE lock_probe ADD COLUMN added int`);
  }
  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE lock_probe DROP COLUMN added`);
    await q.query(`DROP TABLE lock_probe_side`);
  }
}

describe('migrate and locks held by the traffic', () => {
  let t: TestEnv;
  let owner: Client;

  beforeAll(async () => {
    t = await createTestEnv('miglocks');
    await processes.runOnce('migrate', t.env, { logFile: join(t.logDir, 'migrate.log') });
    owner = await t.db();
  });
  afterAll(async () => {
    await t?.cleanup();
  });

  /** A DataSource that runs only the probe migration, recorded in a migrations table of its own. */
  const probeSource = (patience: LockPatience) =>
    new DataSource({
      ...withLockTimeout(dataSourceOptions(loadConfig(t.env)), patience),
      migrations: [ProbeColumn1700000000000],
      migrationsTableName: 'lock_probe_migrations',
    } as ConstructorParameters<typeof DataSource>[0]);

  /** A session that read the probe table in a transaction it keeps open: a long report. */
  const longReader = async () => {
    const reader = await t.db();
    await reader.query(`BEGIN`);
    await reader.query(`SELECT count(*) FROM lock_probe`);
    const [{ pid }] = (await reader.query(`SELECT pg_backend_pid() AS pid`)).rows as { pid: number }[];
    return { reader, pid };
  };
  const state = async (pid: number) =>
    (
      (await owner.query(`SELECT state FROM pg_stat_activity WHERE pid = $1`, [pid])).rows[0] as {
        state: string;
      }
    ).state;
  const hasColumn = async () =>
    (
      await owner.query(
        `SELECT 1 FROM information_schema.columns WHERE table_name = 'lock_probe' AND column_name = 'added'`,
      )
    ).rowCount === 1;
  const sideTable = async () => (await owner.query(`SELECT to_regclass('lock_probe_side') AS t`)).rows[0].t;

  beforeEach(async () => {
    await owner.query(`DROP TABLE IF EXISTS lock_probe, lock_probe_side, lock_probe_migrations`);
    await owner.query(`CREATE TABLE lock_probe (id int); INSERT INTO lock_probe VALUES (1)`);
  });

  it('gives up a lock the long transaction holds, so queries queued behind it run; applies once it ends', async () => {
    const ds = probeSource({ lockTimeoutMs: 300, attempts: 50 });
    await ds.initialize();
    const { reader, pid } = await longReader();
    const queued = await t.db();
    try {
      const retries: LockRetry[] = [];
      const migrating = withLockRetries(
        { lockTimeoutMs: 300, attempts: 50 },
        () => ds.runMigrations({ transaction: 'each' }),
        (r) => retries.push(r),
      );
      // The migration's ALTER TABLE waits on the reader; a query of the traffic then queues behind it.
      await eventually(async () =>
        (
          await owner.query(
            `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'ALTER TABLE lock_probe%'`,
          )
        ).rowCount
          ? true
          : undefined,
      );
      const { rows } = await queued.query(`SELECT count(*)::int AS n FROM lock_probe`);
      expect(rows).toEqual([{ n: 1 }]);
      // It ran while the reader still held the table: the migration had given up and rolled back.
      expect(await state(pid)).toBe('idle in transaction');
      await eventually(async () => (retries.length > 0 ? true : undefined));
      expect(retries[0]).toMatchObject({
        attempt: 1,
        code: '55P03',
        message: 'canceling statement due to lock timeout',
        statement: 'ALTER TABLE lock_probe ADD COLUMN added int',
      });
      expect(await hasColumn()).toBe(false);
      expect(await sideTable()).toBeNull();

      await reader.query(`COMMIT`);
      const applied = await migrating;
      expect(applied.map((m) => m.name)).toEqual(['ProbeColumn1700000000000']);
      expect(await hasColumn()).toBe(true);
      expect(await sideTable()).toBe('lock_probe_side');
    } finally {
      await reader.query(`ROLLBACK`).catch(() => undefined);
      await ds.destroy();
    }
  });

  it('after its attempts, fails with the lock error and leaves nothing of the migration behind', async () => {
    const ds = probeSource({ lockTimeoutMs: 100, attempts: 3 });
    await ds.initialize();
    const { reader } = await longReader();
    try {
      const retries: LockRetry[] = [];
      const failure = await withLockRetries(
        { lockTimeoutMs: 100, attempts: 3 },
        () => ds.runMigrations({ transaction: 'each' }),
        (r) => retries.push(r),
      ).catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(QueryFailedError);
      expect((failure as QueryFailedError).driverError).toMatchObject({ code: '55P03' });
      expect(retries.map((r) => [r.attempt, r.delayMs])).toEqual([
        [1, 250],
        [2, 500],
      ]);
      expect(await hasColumn()).toBe(false);
      expect(await sideTable()).toBeNull();
      expect(await ds.showMigrations()).toBe(true); // still pending
    } finally {
      await reader.query(`ROLLBACK`);
      await ds.destroy();
    }
  });

  it('migrate exits 1 naming the statement after its attempts, and succeeds once the lock is released', async () => {
    const locker = await t.db();
    const env = { ...process.env, ...t.env, MIGRATION_LOCK_TIMEOUT_MS: '200' };
    await locker.query(`BEGIN; LOCK TABLE public.migrations IN ACCESS EXCLUSIVE MODE`);
    try {
      const gaveUp = spawnSync(process.execPath, [MIGRATE], {
        env: { ...env, MIGRATION_LOCK_ATTEMPTS: '2' },
        encoding: 'utf8',
      });
      expect(gaveUp.status).toBe(1);
      expect(gaveUp.stderr).toContain(
        'migrate failed: a migration could not take its locks in 2 attempts (MIGRATION_LOCK_ATTEMPTS; ' +
          'MIGRATION_LOCK_TIMEOUT_MS=200); the last: canceling statement due to lock timeout, at: SELECT',
      );
      expect(gaveUp.stderr).toContain('pg_blocking_pids()');
      expect(gaveUp.stderr).not.toContain('    at '); // a message, not a stack
      expect(gaveUp.stdout).toContain(
        'a migration gave up waiting for a lock and was rolled back; trying again',
      );

      const child = spawn(process.execPath, [MIGRATE], { env: { ...env, MIGRATION_LOCK_ATTEMPTS: '50' } });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      await eventually(async () => (out.includes('trying again') ? true : undefined));
      await locker.query(`COMMIT`);
      expect(await exited).toBe(0);
      expect(out).toContain('no pending migrations');
    } finally {
      await locker.query(`ROLLBACK`).catch(() => undefined);
    }
  });
});
