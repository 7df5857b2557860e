/**
 * Scratch topologies for the benchmarks that start their own: the monolith or the split apps from dist/,
 * each on its own database (pb_bench_<tag>_<random>, from BENCH_DATABASE_URL or postgres@127.0.0.1:5432),
 * Redis key prefix, RabbitMQ prefix and JWT keys, removed afterwards even on error or Ctrl-C.
 */
const { generateKeyPairSync, randomBytes } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const amqp = require('amqplib');
const { Redis } = require('ioredis');
const { Client } = require('pg');
const { createEdge } = require('../../edge');
const { appEntry, freePort, spawnApp, stop, waitReady } = require('../../lib/processes');
const { SERVICE_NAMES } = require('../../lib/topology');
const { Stop } = require('./http');

const PG_BASE = process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const RABBITMQ_URL = process.env.RABBITMQ_URL || 'amqp://guest:guest@127.0.0.1:5672';

/**
 * The scratch runs of one benchmark (`tag`, e.g. `events`): `start(kind, env)` brings up a topology and
 * registers the undoing of each step as it goes; `once(fn)` runs fn and then undoes it all, however it
 * ends; `listen()` turns a first Ctrl-C into that cleanup (a second quits at once, naming what is left).
 */
function scratchRuns(tag) {
  const name = `bench:${tag}`;
  /** [label, fn] of the running topology, undone in reverse: streams, processes, then their data. */
  const cleanups = [];
  let interrupted = false;
  let failing = false; // keeps the app logs of a topology that failed
  let abort;
  const aborted = new Promise((_, reject) => (abort = reject));
  aborted.catch(() => undefined);
  /** Lets a long wait (migrations, readiness) end at once on Ctrl-C, so cleanup starts without delay. */
  const guard = (p) => Promise.race([p, aborted]);

  /** The apps dist/ lacks, to refuse before anything is set up. */
  const missing = () => ['migrate', 'monolith', ...SERVICE_NAMES].filter((a) => !fs.existsSync(appEntry(a)));

  /**
   * Starts `kind` ('monolith' or 'split') with `extraEnv` on top of the scratch environment, and
   * `appEnv[app]` on top of that for one app (e.g. a larger database pool for one service); resolves to
   * { base, databaseUrl, apps: [{ app, pid, base, child }] (base: that app's own address), env (the
   * scratch environment, for more processes or containers on it) }.
   */
  async function start(kind, extraEnv = {}, appEnv = {}) {
    const id = randomBytes(4).toString('hex');
    const database = `pb_bench_${tag}_${id}`;
    const redisPrefix = `pb_bench_${tag}:${id}:`;
    const rabbitPrefix = `pb_bench_${tag}.${id}`;
    const dbUrl = new URL(PG_BASE);
    dbUrl.pathname = `/${database}`;
    const pg = async (sql) => {
      const c = new Client({ connectionString: PG_BASE });
      await c.connect();
      await c.query(sql).finally(() => c.end());
    };
    await pg(`CREATE DATABASE "${database}"`);
    cleanups.push([`database ${database}`, () => pg(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`)]);
    cleanups.push([
      `Redis keys ${redisPrefix}*`,
      async () => {
        const redis = new Redis(REDIS_URL);
        try {
          let cursor = '0';
          do {
            const [next, keys] = await redis.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 500);
            if (keys.length) await redis.del(...keys);
            cursor = next;
          } while (cursor !== '0');
        } finally {
          redis.disconnect();
        }
      },
    ]);
    if (kind === 'split') {
      cleanups.push([
        `RabbitMQ ${rabbitPrefix}.*`,
        async () => {
          const connection = await amqp.connect(RABBITMQ_URL);
          const ch = await connection.createChannel();
          for (const s of SERVICE_NAMES)
            for (const q of ['rpc', 'events', 'dead.events'])
              await ch.deleteQueue(`${rabbitPrefix}.${q}.${s}`);
          for (const x of ['events', 'dead']) await ch.deleteExchange(`${rabbitPrefix}.${x}`);
          await connection.close();
        },
      ]);
    }
    const logDir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-${tag}-${kind}-`));
    cleanups.push([
      `logs ${logDir}`,
      () =>
        failing
          ? process.stderr.write(`${name}: ${kind} logs kept in ${logDir}\n`)
          : fs.rmSync(logDir, { recursive: true, force: true }),
    ]);
    const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const env = {
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
      HOST: '127.0.0.1',
      DATABASE_URL: dbUrl.toString(),
      REDIS_URL,
      REDIS_KEY_PREFIX: redisPrefix,
      RABBITMQ_URL,
      RABBITMQ_PREFIX: rabbitPrefix,
      JWT_PUBLIC_KEY: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      JWT_PRIVATE_KEY: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      ADMIN_EMAIL: process.env.ADMIN_EMAIL,
      ADMIN_PASSWORD: process.env.ADMIN_PASSWORD,
      REGISTER_RATE_LIMIT_PER_MINUTE: '10000',
      LOGIN_RATE_LIMIT_PER_MINUTE: '10000',
      LOGIN_MAX_FAILURES: '1000', // the first admin's login is retried until the app has created it
      // No e-mail, SMS or push providers, whatever our shell has: those deliveries are recorded as skipped.
      ...Object.fromEntries(['SMTP_HOST', 'SMS_WEBHOOK_URL', 'PUSH_WEBHOOK_URL'].map((k) => [k, ''])),
      ...Object.fromEntries(['SMS_WEBHOOK_URL_FILE', 'PUSH_WEBHOOK_URL_FILE'].map((k) => [k, ''])),
      ...extraEnv,
    };
    const children = [];
    cleanups.push(['app processes', () => Promise.all(children.map((c) => stop(c, 15000)))]);
    const launch = (app, port) => {
      if (interrupted) throw new Stop('interrupted');
      const logFile = path.join(logDir, `${app}.log`);
      // BENCH_NODE_ARGS: Node flags for every app started, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
      // (NODE_OPTIONS refuses --cpu-prof); a profile is written when the app exits at the end of the run.
      const nodeArgs = (process.env.BENCH_NODE_ARGS || '').split(' ').filter(Boolean);
      children.push(
        spawnApp(app, { ...env, ...appEnv[app], PORT: String(port ?? '') }, { logFile, nodeArgs }),
      );
      return children[children.length - 1];
    };
    const migrate = launch('migrate');
    const code = await guard(new Promise((r) => migrate.on('exit', r)));
    if (code !== 0) throw new Stop(`migrate exited with ${code} (logs in ${logDir})`);
    let base;
    const upstreams = {};
    if (kind === 'monolith') {
      const port = await freePort();
      launch('monolith', port);
      base = `http://127.0.0.1:${port}`;
      upstreams.monolith = base;
    } else {
      for (const s of SERVICE_NAMES) {
        const port = await freePort();
        launch(s, port);
        upstreams[s] = `http://127.0.0.1:${port}`;
      }
      const edge = await createEdge({ port: await freePort(), host: '127.0.0.1', upstreams });
      cleanups.push(['edge', () => new Promise((r) => edge.close(r) && edge.closeAllConnections())]);
      base = `http://127.0.0.1:${edge.address().port}`;
    }
    const live = children.filter((c) => c.app !== 'migrate');
    await guard(waitReady(`${base}/health/ready`, { children: live, timeoutMs: 120000 })).catch((err) => {
      throw new Stop(`${kind} did not start (logs in ${logDir}): ${err.message}`);
    });
    const apps = live.map((c) => ({ app: c.app, pid: c.pid, base: upstreams[c.app], child: c }));
    return { base, databaseUrl: dbUrl.toString(), apps, env };
  }

  /** Undoes what the running topology set up, newest first; a failed step is named, the rest still run. */
  async function cleanup() {
    for (; cleanups.length; cleanups.pop()) {
      const [label, fn] = cleanups[cleanups.length - 1]; // popped once done: a second Ctrl-C names it
      await Promise.resolve()
        .then(fn)
        .catch((err) => process.stderr.write(`${name}: could not remove ${label}: ${err.message}\n`));
    }
  }

  /** fn's result; whatever was set up meanwhile is undone however it ends. */
  async function once(fn) {
    try {
      return await guard(fn());
    } catch (err) {
      failing = !interrupted;
      throw err;
    } finally {
      await cleanup();
    }
  }

  function onSignal() {
    if (interrupted) {
      process.stderr.write(
        `${name}: quit; may be left: ${cleanups.map(([l]) => l).join(', ') || 'nothing'}\n`,
      );
      process.exit(130);
    }
    interrupted = true;
    process.stderr.write(`${name}: interrupted, cleaning up (again to quit at once)\n`);
    abort(new Stop('interrupted'));
  }

  /** Runs main and exits: 0, or 1 (130 once interrupted) with the error's message. */
  function exit(main) {
    main.then(
      () => process.exit(0), // abandoned waits (after an interruption) hold timers: do not wait for them
      (err) => {
        const known = err instanceof Stop || ['ECONNREFUSED', 'ECONNRESET'].includes(err.code);
        process.stderr.write(`${name}: ${known ? err.message : (err.stack ?? err.message)}\n`);
        process.exit(interrupted ? 130 : 1);
      },
    );
  }

  return {
    cleanups,
    exit,
    guard,
    missing,
    start,
    once,
    listen() {
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    },
    get interrupted() {
      return interrupted;
    },
  };
}

module.exports = { scratchRuns };
