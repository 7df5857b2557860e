/**
 * The one-shot migration runner (the `migrate` container, `npm run migration:run`): creates the database
 * if needed, applies every pending migration, each in its own transaction, makes DATABASE_RUNTIME_USER a
 * login with the apps' privileges (protobank_runtime) when it is set, and exits 0.
 * `--revert` undoes the latest one.
 */
import {
  ConfigError,
  createLogger,
  dataSourceOptions,
  ensureDatabase,
  ensureRuntimeLogin,
  loadConfig,
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
  const dataSource = new DataSource(dataSourceOptions(config));
  await dataSource.initialize();
  try {
    if (revert) {
      await dataSource.undoLastMigration({ transaction: 'each' });
      logger.info('reverted the latest migration');
    } else {
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      logger.info(
        { applied: applied.map((m) => m.name) },
        applied.length ? 'migrations applied' : 'no pending migrations',
      );
      if (config.databaseRuntimeUser) {
        await ensureRuntimeLogin(dataSource, config.databaseRuntimeUser, config.databaseRuntimePassword);
        logger.info({ user: config.databaseRuntimeUser }, 'runtime login ready');
      }
    }
  } finally {
    await dataSource.destroy();
  }
}

main().then(
  () => setTimeout(() => process.exit(0), 50),
  (err: unknown) => {
    process.stderr.write(
      `migrate failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
