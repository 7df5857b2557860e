/**
 * The restore drill. While customers pay each other through the split topology's edge (queries through
 * PgBouncer, as in production), `npm run backup`'s code (scripts/backup.js) takes a backup; the load goes
 * on after it, then `npm run restore`'s (apps/restore) restores it into a fresh database and rebuilds
 * analytics. Then:
 * - the restored ledger verifies clean (GET /admin/ledger/verify of a monolith on the restored database),
 *   in full: the restore forgets the source's verification checkpoints;
 * - the backup is one snapshot of the source: every transfer answered 201 before the backup began is in
 *   it, the source went on past it, and every restored account's balance equals both the sum of its
 *   restored postings and the source's balance recomputed from the source's postings of exactly the
 *   restored entries. A torn backup (tables copied at different moments) fails one of these: balances
 *   ahead of or behind the postings, or entries the source does not have;
 * - analytics equals the ledger: one movement per customer side of every restored entry and nothing else,
 *   and rollups that sum the movements.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import request from 'supertest';
import { bearer, firstAdmin } from './support/actors';
import { startTransferLoad } from './support/fault-load';
import { processes, type AppProcess } from './support/processes';
import { eventually, metricValue, scrapeMetrics } from './support/test-env';
import { startTopology, type Running } from './support/topologies';

const run = promisify(execFile);
const ROOT = join(__dirname, '..');
const PAIRS = 4;

describe('restore drill (split)', () => {
  let running: Running;
  let backupDir: string;
  let restoredUrl: string;
  let backupFile: string | undefined;
  let newLoginUrl: string | undefined;
  let secondUrl: string | undefined;
  let newLogin: string | undefined;
  const clients: Client[] = [];
  let restoredApp: AppProcess | undefined;

  /** `npm run restore` of `file` into the database at `url`, the suite's environment with `env` over it. */
  const runRestore = (file: string, url: string, env: Record<string, string>) =>
    run('node', [join(ROOT, 'dist/apps/restore/src/main.js'), file], {
      cwd: ROOT,
      env: { ...process.env, ...running.env, DATABASE_URL: url, DATABASE_LISTEN_URL: url, ...env },
    });

  const connect = async (url: string) => {
    const client = new Client({ connectionString: url });
    await client.connect();
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    running = await startTopology('split');
    backupDir = mkdtempSync(join(tmpdir(), 'protobank-backups-'));
    const url = new URL(running.t.databaseUrl);
    url.pathname = `${url.pathname}_restored`;
    restoredUrl = url.toString();
  });

  afterAll(async () => {
    await processes.stop(restoredApp);
    await Promise.allSettled(clients.map((c) => c.end()));
    for (const url of [restoredUrl, secondUrl, newLoginUrl]) {
      if (!url) continue;
      const admin = new URL(url);
      const name = admin.pathname.slice(1);
      admin.pathname = '/postgres';
      const client = new Client({ connectionString: admin.toString() });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      if (url === newLoginUrl && newLogin) await client.query(`DROP ROLE IF EXISTS ${newLogin}`);
      await client.end();
    }
    if (backupDir) rmSync(backupDir, { recursive: true, force: true });
    await running?.stop();
  });

  it('a backup taken mid-traffic restores to the ledger as of its snapshot, verified, with analytics rebuilt', async () => {
    const admin = await firstAdmin(running);
    const load = await startTransferLoad(running, admin, PAIRS, 'drill');
    await eventually(async () => (load.committed.size >= 20 ? true : undefined), 60_000, '20 transfers');

    // The transactions app's verification after boot has left a checkpoint: the backup carries it.
    const sourceDb = await connect(running.t.databaseUrl);
    await eventually(
      async () =>
        (await sourceDb.query('SELECT 1 FROM transactions.ledger_checkpoints LIMIT 1')).rowCount
          ? true
          : undefined,
      60_000,
      'a ledger verification checkpoint in the source',
    );

    // The app environment, as the split apps have it (DATABASE_URL is PgBouncer), but with the direct
    // connection the backup must use as the owner, as the compose stack's backup logs in: the apps' login
    // may read every row but not record the backup. Run asynchronously: the load goes on meanwhile.
    const answeredBefore = [...load.committed];
    const backupStarted = Date.now();
    const backup = await run('node', [join(ROOT, 'scripts/backup.js')], {
      cwd: ROOT,
      env: {
        ...process.env,
        ...running.env,
        DATABASE_LISTEN_URL: running.t.databaseUrl,
        BACKUP_DIR: backupDir,
      },
    });
    const written = /^backup written: (.+) \((\d+) bytes, \d+ s\)$/m.exec(backup.stdout);
    expect(written).not.toBeNull();
    const backupSeconds = (Date.now() - backupStarted) / 1000;
    const file = written![1];
    backupFile = file;
    expect(statSync(file).size).toBe(Number(written![2]));
    // Only the finished file is left: no temporary name.
    expect(readdirSync(backupDir)).toEqual([file.slice(backupDir.length + 1)]);
    // Recorded in ops.backups, and reported by the transactions app for BackupTooOld.
    const recorded = await sourceDb.query<{ file: string; bytes: string; at: number }>(
      `SELECT file, bytes::text AS bytes, extract(epoch FROM finished_at)::float8 AS at FROM ops.backups`,
    );
    expect(recorded.rows.map((r) => [r.file, r.bytes])).toEqual([
      [file.slice(backupDir.length + 1), written![2]],
    ]);
    const reported = metricValue(
      await scrapeMetrics(running.t, running.services.transactions),
      'backup_last_success_timestamp_seconds',
      {},
    );
    expect(Math.abs(reported - recorded.rows[0].at)).toBeLessThan(0.01);
    const afterBackup = load.committed.size;
    await eventually(
      async () => (load.committed.size >= afterBackup + 10 ? true : undefined),
      60_000,
      '10 transfers after the backup',
    );
    await load.stop();

    // A balance cached (in the restored deployment's Redis) before the restore, newer than any restored
    // row: the restore deletes it, or it would shadow the restored balance.
    const restoredPrefix = `${running.env.REDIS_KEY_PREFIX}restored:`;
    const redis = await running.t.redis();
    const staleBalance = `${restoredPrefix}balance:${load.payerAccounts[0]}`;
    await redis.set(staleBalance, JSON.stringify({ version: '999999999', balance: '1' }), 'EX', 600);
    /** `npm run restore` of the backup into the restored database, with these settings besides. */
    const restoreWith = (env: Record<string, string>) => runRestore(file, restoredUrl, env);
    const refused = (env: Record<string, string> = {}) =>
      restoreWith(env).then(
        () => undefined,
        (err: { code: number; stderr: string }) => err,
      );
    // Without Redis (where the restore ends), nothing is restored, and the database stays fit for a retry.
    const noRedis = await refused({ REDIS_URL: 'redis://127.0.0.1:1' });
    expect(noRedis?.code).toBe(1);
    expect(noRedis?.stderr).toContain('Redis at REDIS_URL does not answer');
    expect(noRedis?.stderr).toContain('nothing was restored');
    const restoreStarted = Date.now();
    // In production, as an operator runs it: as the owner, which production apps refuse and the restore
    // must be (it creates the tables).
    const restore = await restoreWith({
      REDIS_KEY_PREFIX: restoredPrefix,
      NODE_ENV: 'production',
      // Production refuses the suite's development values; the restore uses neither.
      RABBITMQ_URL: 'amqp://restore:unused-by-the-restore@127.0.0.1:5672',
      ADMIN_EMAIL: '',
      ADMIN_PASSWORD: '',
    });
    expect(restore.stdout).toMatch(/^restored .+ and rebuilt analytics from \d+ ledger entries/m);
    const restoreSeconds = (Date.now() - restoreStarted) / 1000;
    expect(await redis.exists(staleBalance)).toBe(0);
    // ...and the restore forgets it (checked below: the restored ledger's first checkpoint is a full run).
    const restoredDb = await connect(restoredUrl);
    // The restored database is exactly the dump: the restore records the file as its newest backup (the
    // dump could not hold its own record, and BackupTooOld would have paged until the next one).
    const restoredBackups = await restoredDb.query<{ file: string }>(
      'SELECT file FROM ops.backups ORDER BY finished_at DESC, id DESC LIMIT 1',
    );
    expect(restoredBackups.rows).toEqual([{ file: file.slice(backupDir.length + 1) }]);

    // A second restore into the same, now populated, database is refused, naming it.
    const again = await refused();
    expect(again?.code).toBe(1);
    expect(again?.stderr).toContain(`database "${new URL(restoredUrl).pathname.slice(1)}" is not empty`);

    const source = await connect(running.t.databaseUrl);
    const restored = await connect(restoredUrl);

    // One snapshot, mid-traffic: everything answered before the backup is in it, and the source went on.
    const restoredEntries = (
      await restored.query<{ id: string }>('SELECT id FROM transactions.entries')
    ).rows.map((r) => r.id);
    const restoredSet = new Set(restoredEntries);
    expect(answeredBefore.filter((id) => !restoredSet.has(id))).toEqual([]);
    const sourceCount = (
      await source.query<{ n: number }>('SELECT count(*)::int AS n FROM transactions.entries')
    ).rows[0].n;
    expect(sourceCount).toBeGreaterThan(restoredEntries.length);
    const known = await source.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM transactions.entries WHERE id = ANY($1::uuid[])',
      [restoredEntries],
    );
    expect(known.rows[0].n).toBe(restoredEntries.length);

    // Every account: restored balance = its restored postings = the source's postings of the restored entries.
    const restoredBalances = await restored.query<{ id: string; balance: string; postings: string }>(
      `SELECT a.id, a.balance::text AS balance,
              (SELECT coalesce(sum(p.amount), 0) FROM transactions.postings p WHERE p.account_id = a.id)::text AS postings
         FROM transactions.ledger_accounts a ORDER BY a.id`,
    );
    const asOfBackup = await source.query<{ id: string; balance: string }>(
      `SELECT a.id, coalesce(sum(p.amount) FILTER (WHERE p.entry_id = ANY($1::uuid[])), 0)::text AS balance
         FROM transactions.ledger_accounts a LEFT JOIN transactions.postings p ON p.account_id = a.id
        GROUP BY a.id`,
      [restoredEntries],
    );
    const sourceAsOf = new Map(asOfBackup.rows.map((r) => [r.id, r.balance]));
    expect(restoredBalances.rows.length).toBeGreaterThan(PAIRS * 2);
    expect(restoredBalances.rows.filter((r) => r.balance !== r.postings)).toEqual([]);
    expect(restoredBalances.rows.filter((r) => sourceAsOf.get(r.id) !== r.balance)).toEqual([]);
    // The payers' accounts moved after the backup: their source balances are not what was restored.
    const now = await source.query<{ id: string; balance: string }>(
      'SELECT id, balance::text AS balance FROM transactions.ledger_accounts WHERE id = ANY($1::uuid[])',
      [load.payerAccounts],
    );
    const restoredById = new Map(restoredBalances.rows.map((r) => [r.id, r.balance]));
    expect(now.rows.some((r) => restoredById.get(r.id) !== r.balance)).toBe(true);

    // Analytics equals the restored ledger: one movement per customer side of each entry, nothing else.
    const ledgerSides = `
      SELECT e.id AS transaction_id, a.owner_id AS user_id, 'out' AS direction, e.amount, e.currency
        FROM transactions.entries e JOIN transactions.ledger_accounts a ON a.id = e.debit_account_id
       WHERE a.owner_id IS NOT NULL
      UNION ALL
      SELECT e.id, a.owner_id, 'in', e.amount, e.currency
        FROM transactions.entries e JOIN transactions.ledger_accounts a ON a.id = e.credit_account_id
       WHERE a.owner_id IS NOT NULL`;
    const movements = `SELECT transaction_id, user_id, direction, amount, currency FROM analytics.movements`;
    const diff = async (a: string, b: string) =>
      (await restored.query<{ n: number }>(`SELECT count(*)::int AS n FROM ((${a}) EXCEPT ALL (${b})) d`))
        .rows[0].n;
    expect(await diff(ledgerSides, movements)).toBe(0);
    expect(await diff(movements, ledgerSides)).toBe(0);
    const sides = await restored.query<{ n: number }>(`SELECT count(*)::int AS n FROM (${ledgerSides}) s`);
    expect(sides.rows[0].n).toBeGreaterThanOrEqual(restoredEntries.length);
    const summed = `SELECT user_id, day, currency, direction, category, coalesce(merchant, '') AS merchant,
                           sum(amount)::bigint AS amount, count(*)::int AS count
                      FROM analytics.movements GROUP BY 1, 2, 3, 4, 5, 6`;
    const rollups = `SELECT user_id, day, currency, direction, category, merchant, amount, count FROM analytics.daily_rollups`;
    expect(await diff(summed, rollups)).toBe(0);
    expect(await diff(rollups, summed)).toBe(0);
    const rebuilds = await restored.query<{ status: string; requested_by: string }>(
      `SELECT status, requested_by FROM analytics.rebuilds ORDER BY started_at DESC LIMIT 1`,
    );
    expect(rebuilds.rows).toEqual([
      { status: 'completed', requested_by: '00000000-0000-0000-0000-000000000000' },
    ]);

    // The ledger's own verification, by the app, on the restored database, as the apps' login: the
    // restore kept the backup's grants (rows only), or this app could read nothing.
    const restoredAsApp = new URL(restoredUrl);
    restoredAsApp.username = running.t.env.DATABASE_RUNTIME_USER;
    expect(
      (
        await restoredDb.query(
          `SELECT has_function_privilege('public', 'analytics.swap_rebuild_staging()', 'EXECUTE') AS public,
                  has_table_privilege($1, 'transactions.postings', 'UPDATE') AS rewrite,
                  has_table_privilege($1, 'transactions.postings', 'INSERT') AS post,
                  has_database_privilege('public', current_database(), 'CONNECT') AS public_connect,
                  has_database_privilege($1, current_database(), 'CONNECT') AS app_connect`,
          [running.t.env.DATABASE_RUNTIME_USER],
        )
      ).rows,
    ).toEqual([{ public: false, rewrite: false, post: true, public_connect: false, app_connect: true }]);
    const port = await processes.freePort();
    restoredApp = processes.spawnApp(
      'monolith',
      {
        ...running.t.env,
        DATABASE_URL: restoredAsApp.toString(),
        REDIS_KEY_PREFIX: restoredPrefix,
        PORT: String(port),
      },
      { logFile: join(running.t.logDir, 'restored-monolith.log') },
    );
    const baseUrl = `http://127.0.0.1:${port}`;
    await processes.waitReady(`${baseUrl}/health/ready`, { children: [restoredApp] });
    const restoredAdmin = await firstAdmin({ ...running, baseUrl });
    const verify = await request(baseUrl)
      .get('/admin/ledger/verify')
      .set(bearer(restoredAdmin.token))
      .expect(200);
    expect(verify.body).toMatchObject({ ok: true, mismatches: [] });
    expect(verify.body.checked_entries).toBe(restoredEntries.length);
    // Full, over exactly the restored entries (the restore's own context may be the one that ran it).
    const firstCheckpoint = await restoredDb.query(
      'SELECT mode, entries::int AS entries FROM transactions.ledger_checkpoints ORDER BY seq LIMIT 1',
    );
    expect(firstCheckpoint.rows).toEqual([{ mode: 'full', entries: restoredEntries.length }]);
    process.stdout.write(
      `restore drill: backup of ${written![2]} bytes in ${backupSeconds.toFixed(1)} s during transfers ` +
        `(${restoredEntries.length} entries in it, ${sourceCount} in the source by the end); restore with ` +
        `analytics rebuild ${restoreSeconds.toFixed(1)} s; ${restoredBalances.rows.length} balances equal ` +
        `the source's as of the backup; ledger verified\n`,
    );
  }, 300_000);

  it("creates the apps' login on a server that lacks it, as migrate does, refuses before restoring anything where it cannot, and leaves an existing login's password alone", async () => {
    if (!backupFile) throw new Error('the drill above wrote no backup');
    const file = backupFile;
    newLogin = `${running.t.env.DATABASE_RUNTIME_USER}_new`;
    const url = new URL(running.t.databaseUrl);
    url.pathname = `${url.pathname}_newlogin`;
    newLoginUrl = url.toString();
    const restoreWith = (env: Record<string, string>) =>
      runRestore(file, newLoginUrl!, {
        REDIS_KEY_PREFIX: `${running.env.REDIS_KEY_PREFIX}newlogin:`,
        DATABASE_RUNTIME_USER: newLogin!,
        ...env,
      });
    // In production, a login to create needs the apps' password: refused before pg_restore, and the
    // database is left empty for the retry (before, it failed after the restore and refused every retry).
    const refused = await restoreWith({
      NODE_ENV: 'production',
      RABBITMQ_URL: 'amqp://restore:unused-by-the-restore@127.0.0.1:5672',
      ADMIN_EMAIL: '',
      ADMIN_PASSWORD: '',
      DATABASE_RUNTIME_PASSWORD: '',
    }).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    expect(refused?.code).toBe(1);
    expect(refused?.stderr).toContain(`DATABASE_RUNTIME_USER "${newLogin}" is no login on this server`);
    expect(refused?.stderr).toContain('nothing was restored');
    const db = await connect(newLoginUrl);
    const tables = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`,
    );
    expect(tables.rows).toEqual([{ n: 0 }]);

    // With the password, the same restore creates the login in the group, with its SCRAM verifier, and
    // lets it (and no PUBLIC) connect: the apps read the restored rows as it.
    const restore = await restoreWith({ DATABASE_RUNTIME_PASSWORD: 'restore-drill-app-password-1' });
    expect(restore.stdout).toMatch(/^restored .+ and rebuilt analytics from \d+ ledger entries/m);
    const login = await db.query(
      `SELECT r.rolcanlogin AS login, a.rolpassword LIKE 'SCRAM-SHA-256$%' AS scram,
              pg_has_role(r.oid, 'protobank_runtime', 'MEMBER') AS in_group,
              has_database_privilege(r.rolname, current_database(), 'CONNECT') AS connect,
              has_database_privilege('public', current_database(), 'CONNECT') AS public_connect
         FROM pg_roles r JOIN pg_authid a ON a.oid = r.oid WHERE r.rolname = $1`,
      [newLogin],
    );
    expect(login.rows).toEqual([
      { login: true, scram: true, in_group: true, connect: true, public_connect: false },
    ]);
    const asApp = new URL(newLoginUrl);
    asApp.username = newLogin;
    const app = await connect(asApp.toString());
    const entries = await app.query<{ n: number }>('SELECT count(*)::int AS n FROM transactions.entries');
    expect(entries.rows[0].n).toBeGreaterThan(0);

    // A login is the server's: a second restore (a drill beside the live database) given another password
    // leaves the existing login's password as it is, and lets it connect to the new database too.
    const verifier = async () =>
      (await db.query<{ p: string }>('SELECT rolpassword AS p FROM pg_authid WHERE rolname = $1', [newLogin]))
        .rows[0].p;
    const before = await verifier();
    const second = new URL(running.t.databaseUrl);
    second.pathname = `${second.pathname}_second`;
    secondUrl = second.toString();
    const again = await runRestore(file, secondUrl, {
      REDIS_KEY_PREFIX: `${running.env.REDIS_KEY_PREFIX}second:`,
      DATABASE_RUNTIME_USER: newLogin,
      DATABASE_RUNTIME_PASSWORD: 'another-password-2',
    });
    expect(again.stdout).toMatch(/^restored /m);
    expect(await verifier()).toBe(before);
    const secondDb = await connect(secondUrl);
    const connectable = await secondDb.query(
      `SELECT has_database_privilege($1, current_database(), 'CONNECT') AS app,
              has_database_privilege('public', current_database(), 'CONNECT') AS public`,
      [newLogin],
    );
    expect(connectable.rows).toEqual([{ app: true, public: false }]);
  }, 120_000);
});
