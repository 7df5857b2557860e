/**
 * `npm run restore -- FILE`: restores a backup (`npm run backup`, or the backup container's) into an
 * empty database, then rebuilds analytics from the restored ledger (and forgets the ledger verification's
 * checkpoints: the restored ledger's first verification is a full one). The database is the apps' direct
 * connection (DATABASE_LISTEN_URL, else DATABASE_URL, each also as *_FILE; never PgBouncer): created if
 * missing, refused if it holds any table. Redis (REDIS_URL, REDIS_KEY_PREFIX) is the one the apps will use.
 */
import { ConfigError, createLogger, loadConfig } from '@protobank/platform';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import {
  assertRedisAnswers,
  assertRuntimeLoginReady,
  clearBalanceCache,
  emptyDatabase,
  forgetLedgerCheckpoints,
  migrate,
  pgRestore,
  rebuildAnalytics,
  readyRuntimeLogin,
  recordRestoredBackup,
  RestoreError,
} from './restore';

const JWT_VARIABLES = [
  'JWT_KEYS_DIR',
  'JWT_PRIVATE_KEY',
  'JWT_PRIVATE_KEY_FILE',
  'JWT_PUBLIC_KEY',
  'JWT_PUBLIC_KEY_FILE',
];

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file || !existsSync(file) || !statSync(file).isFile()) {
    throw new RestoreError(`usage: npm run restore -- FILE (a backup file; got ${file ?? 'none'})`);
  }
  // The restore checks no access token, so it needs none of the apps' keys: a throwaway public key
  // satisfies the platform's key ring.
  const throwaway = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
  const config = loadConfig({
    ...process.env,
    ...Object.fromEntries(JWT_VARIABLES.map((name) => [name, ''])),
    JWT_PUBLIC_KEY: throwaway.export({ type: 'spki', format: 'pem' }).toString(),
  });
  const logger = createLogger(config, 'restore');
  const url = config.databaseListenUrl;
  const started = Date.now();
  await assertRedisAnswers(config);
  const database = await emptyDatabase(url);
  const loginExists = await assertRuntimeLoginReady(url, config);
  logger.info({ file, database }, 'restoring');
  pgRestore(file, url);
  try {
    const applied = await migrate(config, url);
    await forgetLedgerCheckpoints(url);
    await recordRestoredBackup(url, file, statSync(file).size);
    if (config.databaseRuntimeUser) {
      const { databaseRuntimeUser: user, databaseRuntimePassword: password } = config;
      await readyRuntimeLogin(url, user, password, loginExists);
      if (loginExists && password)
        logger.info(
          { user },
          "the apps' login exists on this server: its password is left as it is (migrate sets it)",
        );
    } else
      logger.warn(
        "DATABASE_RUNTIME_USER is not set: every login on this server may connect to the restored database; set it to the apps' login (protobank_app in the split stack) and restore again, or revoke CONNECT from PUBLIC by hand",
      );
    logger.info(
      { migrations: applied, seconds: (Date.now() - started) / 1000 },
      'restored; rebuilding analytics',
    );
    const rebuild = await rebuildAnalytics(config, logger);
    logger.info({ keys: await clearBalanceCache(config) }, 'balance cache cleared');
    if (rebuild.status !== 'completed')
      throw new RestoreError(`analytics rebuild ${rebuild.status}: ${rebuild.error}`);
    process.stdout.write(
      `restored ${file} and rebuilt analytics from ${rebuild.entries} ledger entries in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
    );
  } catch (err) {
    // The backup is in the database now, and a second run refuses a database that is not empty.
    const name = decodeURIComponent(new URL(url).pathname.slice(1));
    throw new RestoreError(
      `${messageOf(err)}\nThe backup was restored into database "${name}" before this failed: to try again, drop it first`,
      { cause: err },
    );
  }
}

/** What the operator reads: our own errors' messages, anything else with its stack. */
function messageOf(err: unknown): string {
  if (err instanceof ConfigError || err instanceof RestoreError) return err.message;
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

main().then(
  () => setTimeout(() => process.exit(0), 50),
  (err: unknown) => {
    process.stderr.write(`restore failed: ${messageOf(err)}\n`);
    process.exit(1);
  },
);
