/**
 * Production refuses to boot on a committed secret: each app, given a docker/secrets/*.example file (or
 * RabbitMQ's guest:guest), exits 1 before connecting anywhere, naming the variable and the *_FILE it came
 * from, and prints neither the value nor any part of a key. (libs/platform/src/config/committed-secrets
 * .spec.ts proves every committed value refused; this is the boot itself, as the split stack does it.)
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const SECRETS = join(__dirname, '../docker/secrets');
const example = (name: string) => join(SECRETS, `${name}.example`);

/** Production settings of nobody's committing: only the variables under test are refused. */
function productionEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
  const password = () => randomBytes(12).toString('hex');
  // What the users and cards modules require in production, and an access-token key (every app), unless
  // the case gives its own.
  const modules = Object.entries({
    KYC_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    CARD_DATA_KEY: randomBytes(32).toString('hex'),
    CARD_NETWORK_SECRET: randomBytes(24).toString('hex'),
    JWT_PRIVATE_KEY: signingPem(),
  }).filter(
    ([name]) =>
      !(`${name}_FILE` in extra) &&
      !(name in extra) &&
      !(name === 'JWT_PRIVATE_KEY' && ('JWT_KEYS_DIR' in extra || 'JWT_PUBLIC_KEY' in extra)),
  );
  return {
    ...env,
    ...Object.fromEntries(modules),
    NODE_ENV: 'production',
    DATABASE_URL: `postgres://bank:${password()}@127.0.0.1:5432/protobank_never`,
    REDIS_URL: 'redis://127.0.0.1:6379',
    RABBITMQ_URL: `amqp://bank:${password()}@127.0.0.1:5672`,
    METRICS_TOKEN: randomBytes(16).toString('hex'),
    ...extra,
  };
}

/** A fresh EC P-256 private key, PEM: the key one app signs access tokens with. */
const signingPem = () =>
  generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();

/** Every line of a committed file that could give the secret away (a key's base64 lines, a password). */
function secretParts(path: string): string[] {
  const files = path.endsWith('jwt_keys.example') ? readdirSync(path).map((n) => join(path, n)) : [path];
  return files
    .flatMap((f) => readFileSync(f, 'utf8').split('\n'))
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('-----'));
}

const CASES: { app: string; env: Record<string, string>; refused: string[]; files: string[] }[] = [
  {
    app: 'users',
    env: { KYC_ENCRYPTION_KEY_FILE: example('kyc_encryption_key') },
    refused: ['KYC_ENCRYPTION_KEY (from KYC_ENCRYPTION_KEY_FILE='],
    files: [example('kyc_encryption_key')],
  },
  {
    app: 'auth',
    env: { JWT_KEYS_DIR: example('jwt_keys'), JWT_PUBLIC_KEY_FILE: example('jwt_public_key') },
    refused: ['JWT_PUBLIC_KEY (from JWT_PUBLIC_KEY_FILE=', `JWT_KEYS_DIR (${example('jwt_keys')})`],
    files: [example('jwt_keys'), example('jwt_public_key')],
  },
  {
    app: 'cards',
    env: {
      CARD_DATA_KEY_FILE: example('card_data_key'),
      CARD_NETWORK_SECRET_FILE: example('card_network_secret'),
    },
    refused: [
      'CARD_DATA_KEY (from CARD_DATA_KEY_FILE=',
      'CARD_NETWORK_SECRET (from CARD_NETWORK_SECRET_FILE=',
    ],
    files: [example('card_data_key'), example('card_network_secret')],
  },
  {
    app: 'notifications',
    env: {
      WEBHOOK_SIGNING_SECRET_FILE: example('webhook_signing_secret'),
      METRICS_TOKEN: '',
      METRICS_TOKEN_FILE: example('metrics_token'),
    },
    // The platform's variables first, then the module's (runApp checks them together).
    refused: [
      'METRICS_TOKEN (from METRICS_TOKEN_FILE=',
      'WEBHOOK_SIGNING_SECRET (from WEBHOOK_SIGNING_SECRET_FILE=',
    ],
    files: [example('webhook_signing_secret'), example('metrics_token')],
  },
  {
    // The split stack's first container: with the example secrets it stops here, and nothing else starts.
    app: 'migrate',
    env: {
      DATABASE_URL: '',
      DATABASE_URL_FILE: example('database_owner_url'),
      DATABASE_RUNTIME_USER: 'protobank_app',
      DATABASE_RUNTIME_PASSWORD_FILE: example('postgres_app_password'),
      RABBITMQ_URL: '',
      RABBITMQ_URL_FILE: example('rabbitmq_url'),
    },
    refused: [
      'DATABASE_URL (from DATABASE_URL_FILE=',
      'DATABASE_RUNTIME_PASSWORD (from DATABASE_RUNTIME_PASSWORD_FILE=',
      'RABBITMQ_URL (from RABBITMQ_URL_FILE=',
    ],
    files: [example('database_owner_url'), example('postgres_app_password'), example('rabbitmq_url')],
  },
  {
    app: 'monolith',
    env: { RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:5672' },
    refused: ['RABBITMQ_URL holds a development value'],
    files: [],
  },
];

describe('production boot with a committed secret', () => {
  it.each(CASES)('$app exits 1 naming $refused, printing no secret', ({ app, env, refused, files }) => {
    const main = join(__dirname, `../dist/apps/${app}/src/main.js`);
    const res = spawnSync(process.execPath, [main], {
      env: productionEnv(env),
      encoding: 'utf8',
      timeout: 30000,
    });
    expect({ app, status: res.status, signal: res.signal }).toEqual({ app, status: 1, signal: null });
    const problems = res.stderr.split('\n').filter((l) => l.startsWith('  - '));
    // Exactly the refused variables, each with its file and what to do instead.
    expect(problems).toHaveLength(refused.length);
    for (const [i, start] of refused.entries()) {
      expect(problems[i]).toContain(`  - ${start}`);
      expect(problems[i]).toMatch(/holds a development value, which production refuses: .+\. Use /);
    }
    const output = `${res.stdout}\n${res.stderr}`;
    for (const part of files.flatMap(secretParts))
      expect({ app, leaked: output.includes(part) }).toEqual({ app, leaked: false });
  });
});

describe('production boot without usable access-token keys', () => {
  const publicPem = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    .publicKey.export({ type: 'spki', format: 'pem' })
    .toString();
  const garbled = signingPem().replace(/\n(.{8})/, '\n$1!');
  it.each<{ app: string; env: Record<string, string>; named: string[] }>([
    // Every app verifies tokens: a key variable that holds no P-256 key, or no key at all, stops it.
    { app: 'users', env: { JWT_PUBLIC_KEY: 'not a key' }, named: ['JWT_PUBLIC_KEY'] },
    { app: 'accounts', env: { JWT_PRIVATE_KEY: garbled }, named: ['JWT_PRIVATE_KEY'] },
    { app: 'analytics', env: { JWT_PRIVATE_KEY: '' }, named: ['JWT_KEYS_DIR'] },
    { app: 'monolith', env: { JWT_KEYS_DIR: '/nonexistent/jwt_keys' }, named: ['JWT_KEYS_DIR'] },
    // The app hosting auth signs them: a public key alone is not enough there (elsewhere it is).
    { app: 'auth', env: { JWT_PUBLIC_KEY: publicPem }, named: ['JWT_KEYS_DIR'] },
    { app: 'transactions', env: { JWT_PUBLIC_KEY: publicPem }, named: [] },
  ])(
    '$app refuses $named before connecting (none: it boots, and fails to connect), printing no key',
    ({ app, env, named }) => {
      const main = join(__dirname, `../dist/apps/${app}/src/main.js`);
      // Unreachable on purpose: an app that passes its checks fails to connect, and says so otherwise.
      const res = spawnSync(process.execPath, [main], {
        env: { ...productionEnv(env), DATABASE_URL: 'postgres://bank:x@127.0.0.1:1/protobank_never' },
        encoding: 'utf8',
        timeout: 30000,
      });
      expect({ app, status: res.status, signal: res.signal }).toEqual({ app, status: 1, signal: null });
      const problems = res.stderr.split('\n').filter((l) => l.startsWith('  - '));
      expect(problems.map((l) => l.slice(4).split(' ')[0])).toEqual(named);
      if (named.length) expect(res.stderr).toContain(`${app}: Invalid configuration:`);
      else expect(res.stderr).not.toContain('Invalid configuration');
      const output = `${res.stdout}\n${res.stderr}`;
      expect(output).not.toContain('PRIVATE KEY-----');
      expect(output).not.toContain(publicPem.split('\n')[1]);
    },
  );
});

describe("each app checks the configuration of the modules it hosts, and no other's", () => {
  const bad = { CARD_BIN: '12345', NOTIFICATION_DELIVERY_ATTEMPTS: 'many', RPC_TIMEOUT_MS: '5' };
  it.each([
    { app: 'cards', named: ['RPC_TIMEOUT_MS', 'CARD_BIN'] },
    { app: 'notifications', named: ['RPC_TIMEOUT_MS', 'NOTIFICATION_DELIVERY_ATTEMPTS'] },
    { app: 'analytics', named: ['RPC_TIMEOUT_MS'] },
    { app: 'monolith', named: ['RPC_TIMEOUT_MS', 'CARD_BIN', 'NOTIFICATION_DELIVERY_ATTEMPTS'] },
  ])('$app exits 1 naming $named, the platform first', ({ app, named }) => {
    const main = join(__dirname, `../dist/apps/${app}/src/main.js`);
    const res = spawnSync(process.execPath, [main], {
      env: { PATH: process.env.PATH, NODE_ENV: 'test', ...bad },
      encoding: 'utf8',
      timeout: 30000,
    });
    expect({ app, status: res.status, signal: res.signal }).toEqual({ app, status: 1, signal: null });
    expect(res.stderr).toContain(`${app}: Invalid configuration:`);
    const problems = res.stderr.split('\n').filter((l) => l.startsWith('  - '));
    expect(problems.map((l) => l.slice(4).split(' ')[0])).toEqual(named);
  });
});
