import { Global, Module, type DynamicModule, type Provider } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AnalyticsModule, RebuildService } from '@protobank/analytics';
import { AccountsContract, balanceCacheKey, UsersContract, type ContractDef } from '@protobank/contracts';
import {
  connectOnlyAs,
  dataSourceOptions,
  ensureDatabase,
  ensureRuntimeGroup,
  assertRuntimeUserName,
  ensureRuntimeLogin,
  PinoNestLogger,
  PlatformModule,
  type AppConfig,
} from '@protobank/platform';
import { TransactionsModule } from '@protobank/transactions';
import Redis from 'ioredis';
import { spawnSync } from 'node:child_process';
import { basename } from 'node:path';
import type { Logger } from 'pino';
import { Client } from 'pg';
import { DataSource, type DataSourceOptions } from 'typeorm';

/** Who the restore's rebuild is recorded as requested by (analytics.rebuilds.requested_by): nobody. */
const RESTORE_CALLER = { user_id: '00000000-0000-0000-0000-000000000000', role: 'admin' };

@Module({})
class RestoreRootModule {}

/**
 * The contracts the ledger and analytics modules inject but a rebuild never calls (it reads the ledger's
 * entries and writes analytics' own tables): bound to an object that refuses every call, so nothing in
 * this process can reach out to a service that may not run during a restore.
 */
function unavailable(contract: ContractDef<unknown>): Provider {
  const refuse = (method: string) => () =>
    Promise.reject(new Error(`${contract.service}.${method} is not available during a restore`));
  return {
    provide: contract.token,
    useValue: Object.fromEntries(Object.keys(contract.patterns).map((m) => [m, refuse(m)])),
  };
}

@Global()
@Module({
  providers: [unavailable(AccountsContract), unavailable(UsersContract)],
  exports: [AccountsContract.token, UsersContract.token],
})
class UnavailableContractsModule {}

/** A failure with a message that says it all (no stack trace needed). */
export class RestoreError extends Error {}

const databaseName = (url: string) => decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));

/** libpq's variables for `url`: pg_restore gets the password in its environment, not on its command line. */
function libpqEnv(url: string): Record<string, string> {
  const u = new URL(url);
  const env: Record<string, string> = {
    PGHOST: decodeURIComponent(u.hostname.replace(/^\[|\]$/g, '')) || 'localhost',
    PGPORT: u.port || '5432',
    PGDATABASE: databaseName(url),
  };
  if (u.username) env.PGUSER = decodeURIComponent(u.username);
  if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
  const sslmode = u.searchParams.get('sslmode');
  if (sslmode) env.PGSSLMODE = sslmode;
  return env;
}

/**
 * Creates the database if missing; refuses, naming it, one that holds any table; creates the apps' group
 * role if this server lacks it (the backup's grants name it).
 */
export async function emptyDatabase(url: string): Promise<'created' | 'empty'> {
  const created = await ensureDatabase(url);
  const client = new Client({ connectionString: url }).on('error', () => undefined); // the query rejects
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS name
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg_toast%'
        ORDER BY 1`,
    );
    if (rows.length) {
      throw new RestoreError(
        `database "${databaseName(url)}" is not empty (${rows.length} tables, such as ${rows
          .slice(0, 3)
          .map((r) => r.name)
          .join(', ')}): a backup is restored only into an empty database; name another, or drop this one`,
      );
    }
    await ensureRuntimeGroup(client);
    return created ? 'created' : 'empty';
  } finally {
    await client.end();
  }
}

/**
 * All of the backup or nothing: one transaction, stopping at the first error. No owners from the source:
 * the restoring user owns what it creates. Its grants are restored as they were, so the apps' login
 * (a member of protobank_runtime, which emptyDatabase created if this server lacked it) reads and writes
 * the restored database as it did the source, and no more: without them it could do nothing, and the
 * analytics rebuild's owner-only functions would be anyone's. The default privileges for later
 * migrations name the source's owner role, which must exist here (the same stack's does).
 */
export function pgRestore(file: string, url: string): void {
  const res = spawnSync(
    'pg_restore',
    [
      '--exit-on-error',
      '--single-transaction',
      '--no-owner',
      '--no-password',
      // A conninfo string naming only the database; the rest (password included) is in the environment.
      `--dbname=dbname='${databaseName(url).replace(/[\\']/g, '\\$&')}'`,
      file,
    ],
    { env: { ...process.env, ...libpqEnv(url) }, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (res.error) throw new RestoreError(`pg_restore could not run: ${res.error.message}`);
  if (res.status !== 0)
    throw new RestoreError(`pg_restore failed (exit ${res.status ?? res.signal}); nothing was restored`);
}

/**
 * Before anything is restored: the apps' login (DATABASE_RUNTIME_USER) can be made ready at the end. It
 * exists on this server, or the restore may create it as migrate does (with DATABASE_RUNTIME_PASSWORD in
 * production, and a restoring role that may create roles); otherwise the restore stops here, leaving the
 * database empty for a retry, rather than after pg_restore and the migrations. Resolves to whether the
 * login exists (readyRuntimeLogin's question: nothing the restore does creates a role in between).
 */
export async function assertRuntimeLoginReady(url: string, config: AppConfig): Promise<boolean> {
  const user = config.databaseRuntimeUser;
  if (!user) return false;
  try {
    assertRuntimeUserName(user);
  } catch (err) {
    throw new RestoreError(`${(err as Error).message}; nothing was restored`);
  }
  const client = new Client({ connectionString: url }).on('error', () => undefined); // the query rejects
  await client.connect();
  try {
    const { rows } = await client.query<{ found: boolean; may_create: boolean; me: string }>(
      `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS found, current_user AS me,
              (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user) AS may_create`,
      [user],
    );
    const { found, may_create: mayCreate, me } = rows[0];
    if (found) return true;
    if (config.nodeEnv === 'production' && !config.databaseRuntimePassword) {
      throw new RestoreError(
        `DATABASE_RUNTIME_USER "${user}" is no login on this server: give DATABASE_RUNTIME_PASSWORD (or ` +
          `DATABASE_RUNTIME_PASSWORD_FILE), the password the apps use, and the restore creates it as migrate ` +
          `does; nothing was restored`,
      );
    }
    if (!mayCreate) {
      throw new RestoreError(
        `DATABASE_RUNTIME_USER "${user}" is no login on this server, and "${me}" may not create one: ` +
          `restore as the role migrate runs as (it has CREATEROLE), or create the login first; nothing was restored`,
      );
    }
    return false;
  } finally {
    await client.end();
  }
}

/**
 * The apps' login and the only one besides the owner that may connect to the restored database (a dump
 * holds no database grants, so PUBLIC has CONNECT back). A login this server lacks is created as migrate
 * creates it (ensureRuntimeLogin: in the group, with the password). One that exists is left as it is: a
 * login is the server's, not the database's, so a drill restored beside the live database must not change
 * the live apps' password, nor enable a login an operator disabled.
 */
export async function readyRuntimeLogin(
  url: string,
  user: string,
  password: string | undefined,
  exists: boolean,
): Promise<void> {
  const client = new Client({ connectionString: url }).on('error', () => undefined); // the query rejects
  await client.connect();
  try {
    if (exists) await connectOnlyAs(client, user);
    else await ensureRuntimeLogin(client, user, password);
  } finally {
    await client.end();
  }
}

/** Migrations newer than the backup (it was taken by an older release), as the migrate service would. */
export async function migrate(config: AppConfig, url: string): Promise<string[]> {
  const dataSource = new DataSource({ ...dataSourceOptions(config), url } as DataSourceOptions);
  await dataSource.initialize();
  try {
    return (await dataSource.runMigrations({ transaction: 'each' })).map((m) => m.name);
  } finally {
    await dataSource.destroy();
  }
}

/**
 * The analytics rebuild (RebuildService, as POST /admin/analytics/rebuild runs it) in a context that
 * hosts the ledger and analytics but serves nothing: no HTTP, and no transport started, so the outbox
 * relay leaves every event for the apps (the in-process transport takes none until it listens) and no
 * event is consumed here. It reads the ledger into fresh analytics tables and raises the Redis cache's
 * generation above anything cached before the restore.
 */
export async function rebuildAnalytics(
  config: AppConfig,
  logger: Logger,
): Promise<{ status: string; entries: number; error: string | null }> {
  const root: DynamicModule = {
    module: RestoreRootModule,
    imports: [
      // As the owner, which the restore is (it created the tables); apps refuse that in production.
      PlatformModule.forRoot({ service: 'restore', config, logger, transport: 'local', ownerLogin: true }),
      UnavailableContractsModule,
      TransactionsModule,
      AnalyticsModule,
    ],
  };
  const context = await NestFactory.createApplicationContext(root, { logger: new PinoNestLogger(logger) });
  try {
    // A rebuild running when the backup was taken has no process in the restored database: give it up
    // now rather than wait for its heartbeat to go stale (RebuildService allows one running at a time).
    await context.get(DataSource).query(
      `UPDATE analytics.rebuilds SET status = 'failed', finished_at = now(),
                error = 'interrupted: running when the backup was taken' WHERE status = 'running'`,
    );
    const rebuilds = context.get(RebuildService);
    const { id } = await rebuilds.startForRestore(RESTORE_CALLER);
    for (;;) {
      const run = await rebuilds.get(id);
      if (run.status !== 'running') return run;
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await context.close();
  }
}

/**
 * Forgets the ledger verification's checkpoints (migration LedgerVerifyCheckpoints), so that the first
 * verification of the restored ledger reads all of it: a checkpoint vouches for the rows it saw in the
 * source database, not for what a backup file brought back.
 */
export async function forgetLedgerCheckpoints(url: string): Promise<void> {
  const client = new Client({ connectionString: url }).on('error', () => undefined); // the query rejects
  await client.connect();
  try {
    await client.query('TRUNCATE transactions.ledger_checkpoint_accounts, transactions.ledger_checkpoints');
  } finally {
    await client.end();
  }
}

/**
 * Records the restored file in ops.backups as a backup finished now: the database is exactly its dump,
 * so it is a backup of what the database holds. Without it the newest record was the one before that
 * dump (a dump cannot hold its own record), and BackupTooOld paged until the next scheduled backup.
 */
export async function recordRestoredBackup(url: string, file: string, bytes: number): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`INSERT INTO ops.backups (file, bytes, seconds) VALUES ($1, $2, 0)`, [
      basename(file),
      bytes,
    ]);
  } finally {
    await client.end();
  }
}

/**
 * Redis answers: checked before anything is restored, since the restore ends there (the analytics
 * rebuild's cache, the cached balances). Without it a restore filled the database, then failed, and the
 * database, no longer empty, refused the retry.
 */
export async function assertRedisAnswers(config: AppConfig): Promise<void> {
  const redis = new Redis(config.redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 3000,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined); // the failed connect below says it
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new RestoreError(
      `Redis at REDIS_URL does not answer (${(err as Error).message}): the restore rebuilds analytics ` +
        "and drops cached balances there, so run it where the deployment's Redis is reachable; nothing was restored",
    );
  } finally {
    redis.disconnect();
  }
}

/**
 * Deletes the balance cache's entries (REDIS_KEY_PREFIX + balance:*). They are versioned by the ledger
 * row's version, and a restored row's version is older than one cached before the restore, so such an
 * entry would refuse every newer write and answer a balance the ledger no longer has until its TTL ran
 * out. (Analytics' cached summaries are left behind by the rebuild's generation instead.)
 */
export async function clearBalanceCache(config: AppConfig): Promise<number> {
  const redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  await redis.connect();
  let removed = 0;
  try {
    // The prefix literally (SCAN's glob characters escaped), then any account.
    const prefix = config.redisKeyPrefix.replace(/[*?[\]\\]/g, '\\$&');
    const pattern = `${prefix}${balanceCacheKey('*')}`;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      if (keys.length) removed += await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return removed;
}
