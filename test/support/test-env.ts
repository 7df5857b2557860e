/**
 * Each test suite gets its own database, RabbitMQ names and Redis key prefix, and removes them after:
 * suites can run in parallel and leave nothing behind.
 */
import amqp from 'amqplib';
import Redis from 'ioredis';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { topology } from './processes';

/** The server's maintenance database, as a superuser: where suites create and drop theirs. */
export const PG_BASE = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const RABBITMQ_URL = process.env.TEST_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

export interface TestEnv {
  id: string;
  env: Record<string, string>;
  /** The suite's database as its owner (the migrations, and assertions on stored state). */
  databaseUrl: string;
  /**
   * The same database as the suite's runtime login (DATABASE_RUNTIME_USER, made by migrate), as the apps
   * of the topologies connect: rows only, so a privilege the code needs and the grants lack fails here.
   */
  runtimeDatabaseUrl: string;
  logDir: string;
  /** A client on this suite's database (for asserting on stored state). */
  db(): Promise<Client>;
  /** A Redis client (keys carry env.REDIS_KEY_PREFIX explicitly); closed by cleanup(). */
  redis(): Promise<Redis>;
  /** A further RabbitMQ prefix for this suite (e.g. a second deployment); removed by cleanup() too. */
  rabbitPrefix(suffix: string): string;
  /** Removes what the suite made; `keepLogs` leaves logDir (a topology that did not start names it). */
  cleanup(opts?: { keepLogs?: boolean }): Promise<void>;
}

export async function createTestEnv(label: string): Promise<TestEnv> {
  const id = `${label}_${randomBytes(4).toString('hex')}`;
  const url = new URL(PG_BASE);
  url.pathname = `/pbtest_${id}`;
  const databaseUrl = url.toString();
  const runtimeUser = `pbrt_${id.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63);
  url.username = runtimeUser;
  url.password = '';
  const runtimeDatabaseUrl = url.toString();
  const rabbitPrefix = `pbtest.${id}`;
  const redisPrefix = `pbtest:${id}:`;
  const logDir = mkdtempSync(join(tmpdir(), `protobank-${id}-`));
  // This suite's own signing keys, as an operator would configure them (no .data/ fallback): a key
  // directory with one key, dated long ago so that a rotation in a test is always newer.
  const keysDir = join(logDir, 'jwt-keys');
  mkdirSync(keysDir, { mode: 0o700 });
  const firstKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  writeFileSync(
    join(keysDir, '2000-01-01T00-00-00.000Z.pem'),
    firstKey.export({ type: 'pkcs8', format: 'pem' }),
    {
      mode: 0o600,
    },
  );
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
    DATABASE_URL: databaseUrl,
    // migrate makes it a login in protobank_runtime (no password: the server trusts loopback).
    DATABASE_RUNTIME_USER: runtimeUser,
    REDIS_URL,
    REDIS_KEY_PREFIX: redisPrefix,
    RABBITMQ_URL,
    RABBITMQ_PREFIX: rabbitPrefix,
    HOST: '127.0.0.1',
    // Suites register many users from one address; the limit itself is tested with its own client IPs.
    REGISTER_RATE_LIMIT_PER_MINUTE: '10000',
    // Above what a suite's own logins from loopback reach in a minute; the limit test reads it from here.
    LOGIN_RATE_LIMIT_PER_MINUTE: '400',
    // Short, so the refresh scenarios can wait past it; long enough for ten parallel refreshes on a busy
    // machine (the tests read it from here).
    REFRESH_REUSE_GRACE_SECONDS: '3',
    // The first staff admin, created at startup by the auth module.
    ADMIN_EMAIL: `admin.${id}@protobank.test`,
    ADMIN_PASSWORD: 'a-test-admin-passphrase',
    // /metrics answers only with this token (scrapeMetrics() below sends it).
    METRICS_TOKEN: `metrics-${randomBytes(16).toString('hex')}`,
    // Every app reads the directory's public keys at boot; only the app hosting auth reads it again
    // (each second here, so the rotation test need not wait): the others learn new keys from auth.
    JWT_KEYS_DIR: keysDir,
    JWT_KEYS_REFRESH_SECONDS: '1',
    // This suite's card-data key and network secret, as an operator would configure them (no .data/ key).
    CARD_DATA_KEY: randomBytes(32).toString('base64'),
    CARD_NETWORK_SECRET: `card-network-${randomBytes(16).toString('hex')}`,
    // Holds moved past their expiry by a test are released within a second, not a minute.
    CARD_HOLD_EXPIRY_SWEEP_SECONDS: '1',
  };
  const clients: Client[] = [];
  const redisClients: Redis[] = [];
  const rabbitPrefixes = [rabbitPrefix];
  return {
    id,
    env,
    databaseUrl,
    runtimeDatabaseUrl,
    logDir,
    rabbitPrefix(suffix: string) {
      const prefix = `${rabbitPrefix}.${suffix}`;
      rabbitPrefixes.push(prefix);
      return prefix;
    },
    async db() {
      const client = new Client({ connectionString: databaseUrl });
      await client.connect();
      clients.push(client);
      return client;
    },
    async redis() {
      const client = new Redis(REDIS_URL);
      redisClients.push(client);
      return client;
    },
    async cleanup({ keepLogs = false } = {}) {
      await Promise.allSettled(clients.map((c) => c.end()));
      await Promise.allSettled(redisClients.map((c) => c.quit()));
      const admin = new Client({ connectionString: PG_BASE });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS "pbtest_${id}" WITH (FORCE)`);
      await admin.query(`DROP ROLE IF EXISTS ${runtimeUser}`);
      // The group role protobank_runtime is the server's, shared by every suite's database: dropped once
      // at the end of the run (test/jest/e2e.teardown.ts), not here, where another suite's migration may
      // be about to grant to it.
      await admin.end();
      const connection = await amqp.connect(RABBITMQ_URL);
      const channel = await connection.createChannel();
      for (const prefix of rabbitPrefixes) {
        for (const service of topology.SERVICE_NAMES) {
          for (const queue of ['rpc', 'events', 'dead.events'])
            await channel.deleteQueue(`${prefix}.${queue}.${service}`);
        }
        await channel.deleteExchange(`${prefix}.events`);
        await channel.deleteExchange(`${prefix}.dead`);
      }
      await connection.close();
      const redis = new Redis(REDIS_URL);
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 500);
        if (keys.length) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
      await redis.quit();
      // The apps' logs and this suite's signing keys go with the rest; PROTOBANK_KEEP_TEST_LOGS=1 keeps
      // them to read after a failure (a topology that did not start keeps them and quotes its errors).
      if (!keepLogs && !process.env.PROTOBANK_KEEP_TEST_LOGS)
        rmSync(logDir, { recursive: true, force: true });
    },
  };
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs = 10000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The /metrics text of the app at `baseUrl`, scraped with the suite's METRICS_TOKEN. */
export async function scrapeMetrics(t: TestEnv, baseUrl: string): Promise<string> {
  const res = await fetch(`${baseUrl}/metrics`, {
    headers: { authorization: `Bearer ${t.env.METRICS_TOKEN}` },
  });
  if (res.status !== 200) throw new Error(`${baseUrl}/metrics answered ${res.status}`);
  return res.text();
}

/** The value of one Prometheus sample in /metrics text (0 when absent). */
export function metricValue(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const body = line.slice(name.length + 1, line.lastIndexOf('}'));
    const found = Object.fromEntries([...body.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v))
      return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

/**
 * Every app log of the suite, once the line of the request carrying `marker` as its X-Request-Id is
 * written: a log line is written after the lines before it, so the text then holds everything up to
 * that request.
 */
export function logsThrough(t: TestEnv, marker: string): Promise<string> {
  return eventually(
    async () => {
      const text = readdirSync(t.logDir)
        .filter((f) => f.endsWith('.log'))
        .map((f) => readFileSync(join(t.logDir, f), 'utf8'))
        .join('\n');
      return text.includes(marker) ? text : undefined;
    },
    10000,
    'the last request to be logged',
  );
}
