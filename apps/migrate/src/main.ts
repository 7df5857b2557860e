/**
 * The one-shot migration runner (the `migrate` container, `npm run migration:run`): creates the database
 * if needed, applies every pending migration, each in its own transaction, makes DATABASE_RUNTIME_USER a
 * login with the apps' privileges (protobank_runtime) when it is set, and exits 0.
 * `--revert` undoes the latest one. A migration that waits for a lock longer than MIGRATION_LOCK_TIMEOUT_MS
 * gives up, rolls back and is tried again (migration-locks.ts), rather than holding up the traffic behind it.
 */
import {
  ConfigError,
  createLogger,
  dataSourceOptions,
  ensureDatabase,
  ensureRuntimeLogin,
  loadConfig,
  lockedStatement,
  retryableLockFailure,
  withLockRetries,
  withLockTimeout,
  type LockPatience,
  type LockRetry,
} from '@protobank/platform';
import { DataSource } from 'typeorm';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`migrate: ${err instanceof ConfigError ? err.message : String(err)}\n`);
    process.exit(1);
  }
  if (config.nodeEnv === 'production' && config.databaseRuntimeUser && !config.databaseRuntimePassword) {
    // The login would keep an old password or, new, have none: every app locked out.
    process.stderr.write(
      'migrate: DATABASE_RUNTIME_USER needs DATABASE_RUNTIME_PASSWORD (or DATABASE_RUNTIME_PASSWORD_FILE) in production\n',
    );
    process.exit(1);
  }
  const logger = createLogger(config, 'migrate');
  const revert = process.argv.includes('--revert');
  // In production only when asked: a mistyped DATABASE_URL would otherwise get a new, empty bank.
  const create = config.nodeEnv !== 'production' || process.argv.includes('--create-database');
  if (await ensureDatabase(config.databaseUrl, { create })) logger.info('created database');
  const patience = config.migrationLocks;
  const dataSource = new DataSource(withLockTimeout(dataSourceOptions(config), patience));
  const retrying = (retry: LockRetry) =>
    logger.warn(
      { ...retry, attempts: patience.attempts, lock_timeout_ms: patience.lockTimeoutMs },
      'a migration gave up waiting for a lock and was rolled back; trying again',
    );
  await dataSource.initialize();
  try {
    if (revert) {
      const [table] = (await dataSource.query(
        `SELECT to_regclass('public.migrations') IS NOT NULL AS ok`,
      )) as {
        ok: boolean;
      }[];
      const [latest] = table.ok
        ? ((await dataSource.query(`SELECT name FROM public.migrations ORDER BY id DESC LIMIT 1`)) as {
            name: string;
          }[])
        : [];
      if (!latest) {
        logger.info('no migration to revert');
      } else {
        await withLockRetries(
          patience,
          () => dataSource.undoLastMigration({ transaction: 'each' }),
          retrying,
        );
        logger.info({ reverted: latest.name }, 'reverted the latest migration');
      }
    } else {
      const applied = await withLockRetries(
        patience,
        () => dataSource.runMigrations({ transaction: 'each' }),
        retrying,
      );
      logger.info(
        { applied: applied.map((m) => m.name) },
        applied.length ? 'migrations applied' : 'no pending migrations',
      );
      if (config.databaseRuntimeUser) {
        await ensureRuntimeLogin(dataSource, config.databaseRuntimeUser, config.databaseRuntimePassword);
        logger.info({ user: config.databaseRuntimeUser }, 'runtime login ready');
      }
    }
  } catch (err) {
    if (retryableLockFailure(err)) throw new GaveUpOnLocks(err as Error, patience);
    throw err;
  } finally {
    await dataSource.destroy();
  }
}

/** Every attempt waited too long for a lock: what the operator needs to know, without a stack. */
class GaveUpOnLocks extends Error {
  constructor(cause: Error, patience: LockPatience) {
    super(
      `a migration could not take its locks in ${patience.attempts} attempts (MIGRATION_LOCK_ATTEMPTS; ` +
        `MIGRATION_LOCK_TIMEOUT_MS=${patience.lockTimeoutMs}); the last: ${cause.message}, at: ` +
        `${lockedStatement(cause)}\n` +
        `Another session holds a lock this migration needs: find it with pg_blocking_pids() in ` +
        `pg_stat_activity and run migrate again once it ends (or with MIGRATION_LOCK_TIMEOUT_MS=0 to wait).`,
    );
  }
}

main().then(
  () => setTimeout(() => process.exit(0), 50),
  (err: unknown) => {
    process.stderr.write(
      err instanceof GaveUpOnLocks
        ? `migrate failed: ${err.message}\n`
        : `migrate failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
