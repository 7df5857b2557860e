/**
 * Every secret committed to this repository is refused in production, by variable, and the digest list
 * cannot drift from the files: each docker/secrets/*.example (a new one fails here until it is mapped
 * below and its value listed), the dev stack's credentials, and the modules' development fallbacks.
 */
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
// The development fallbacks themselves (a spec may reach into modules; the platform code does not).
import { DEVELOPMENT_NETWORK_SECRET } from '../../../cards/src/data/card-keys';
import { DEVELOPMENT_KEY } from '../../../users/src/kyc/document-cipher';
import { ALL_VARIABLES, configProblems } from '../../../../test/support/configuration';
import { developmentSecret } from './committed-secrets';

const root = join(__dirname, '../../../..');
const SECRETS = join(root, 'docker/secrets');

/** Valid production settings that are nobody's committed value, so only the variable under test fails. */
const PRODUCTION = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://bank:4f2a9c1e7b3d5a6f@db:5432/protobank',
  REDIS_URL: 'redis://redis:6379',
  RABBITMQ_URL: 'amqp://bank:8e1d2c3b4a5f6e7d@rabbitmq:5672',
  // What the users and cards modules require in production, of nobody's committing either.
  KYC_ENCRYPTION_KEY: 'c2VjcmV0LW9mLW5vYm9keXMtY29tbWl0dGluZy0zMmI=',
  CARD_DATA_KEY: '6a1f0c9e8d7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f',
  CARD_NETWORK_SECRET: 'b7e4c2a1d9f8e6c5b4a3d2e1f0a9b8c7',
};

/** Every module's variables with the platform's, as the monolith checks them at boot. */
const problemsOf = configProblems;

/** A file of our own holding `value`, for the NAME_FILE form. */
const scratch = mkdtempSync(join(tmpdir(), 'protobank-committed-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let files = 0;
function fileWith(value: string): string {
  const file = join(scratch, `secret-${files++}`);
  writeFileSync(file, `${value}\n`);
  return file;
}

const read = (name: string) => readFileSync(join(SECRETS, name), 'utf8').replace(/\r?\n$/, '');

/**
 * Production refuses `variable` set from `file` (or to `value` directly), naming the variable and the
 * file, without repeating the value; and the refusal comes from the digest list, not only from a rule.
 */
function expectRefused(variable: string, how: { file: string } | { value: string }) {
  const env: NodeJS.ProcessEnv = { ...PRODUCTION };
  delete env[variable];
  if ('file' in how) env[`${variable}_FILE`] = how.file;
  else env[variable] = how.value;
  const value = 'file' in how ? readFileSync(how.file, 'utf8').trim() : how.value;
  const mine = problemsOf(env).filter((p) => p.startsWith(`${variable} `));
  const from = 'file' in how ? ` (from ${variable}_FILE=${how.file})` : '';
  expect({ variable, mine }).toEqual({
    variable,
    mine: [expect.stringContaining(`${variable}${from} holds a development value, which production refuses`)],
  });
  expect(mine[0]).not.toContain(value);
  expect({ variable, listed: developmentSecret(value) }).toEqual({
    variable,
    listed: expect.stringMatching(/committed to the repository$/),
  });
}

const withPassword = (url: string, password: string) => {
  const u = new URL(url);
  u.password = encodeURIComponent(password);
  return u.toString();
};

/**
 * How each committed example file reaches an app: the variables that read it, or (for the files only
 * Postgres, PgBouncer and RabbitMQ read) the URL that carries the same password.
 */
const EXAMPLES: Record<string, (path: string) => void> = {
  'admin_password.example': (file) => expectRefused('ADMIN_PASSWORD', { file }),
  'card_data_key.example': (file) => expectRefused('CARD_DATA_KEY', { file }),
  'card_network_secret.example': (file) => expectRefused('CARD_NETWORK_SECRET', { file }),
  'database_url.example': (file) => expectRefused('DATABASE_URL', { file }),
  'database_owner_url.example': (file) => expectRefused('DATABASE_URL', { file }),
  'postgres_app_password.example': (file) => {
    expectRefused('DATABASE_RUNTIME_PASSWORD', { file });
    expectRefused('DATABASE_URL', {
      value: withPassword(PRODUCTION.DATABASE_URL, readFileSync(file, 'utf8').trim()),
    });
  },
  'database_direct_url.example': (file) => {
    expectRefused('DATABASE_URL', { file });
    expectRefused('DATABASE_LISTEN_URL', { file });
  },
  'jwt_public_key.example': (file) => expectRefused('JWT_PUBLIC_KEY', { file }),
  'jwt_keys.example': (dir) => {
    const pems = readdirSync(dir).filter((n) => n.endsWith('.pem'));
    expect(pems.length).toBeGreaterThan(1);
    for (const name of pems) {
      const pem = readFileSync(join(dir, name), 'utf8');
      expectRefused(pem.includes('PRIVATE KEY') ? 'JWT_PRIVATE_KEY' : 'JWT_PUBLIC_KEY', {
        file: join(dir, name),
      });
    }
    const problems = problemsOf({ ...PRODUCTION, JWT_KEYS_DIR: dir });
    expect(problems).toEqual([
      expect.stringMatching(new RegExp(`^JWT_KEYS_DIR \\(${dir}\\) holds a development value.*keys:rotate`)),
    ]);
  },
  'kyc_encryption_key.example': (file) => expectRefused('KYC_ENCRYPTION_KEY', { file }),
  'metrics_token.example': (file) => expectRefused('METRICS_TOKEN', { file }),
  'pgbouncer_userlist.example': (file) => {
    const [, password] = /^"[^"]+" "([^"]+)"$/.exec(readFileSync(file, 'utf8').trim())!;
    expectRefused('DATABASE_URL', { value: withPassword(PRODUCTION.DATABASE_URL, password) });
  },
  'postgres_password.example': (file) =>
    expectRefused('DATABASE_URL', {
      value: withPassword(PRODUCTION.DATABASE_URL, readFileSync(file, 'utf8').trim()),
    }),
  'rabbitmq_conf.example': (file) => {
    const [, password] = /^default_pass\s*=\s*(.+)$/m.exec(readFileSync(file, 'utf8'))!;
    expectRefused('RABBITMQ_URL', { value: withPassword(PRODUCTION.RABBITMQ_URL, password.trim()) });
  },
  'rabbitmq_url.example': (file) => expectRefused('RABBITMQ_URL', { file }),
  'smtp_password.example': (file) => {
    // Empty: "no login". There is nothing to refuse, and an empty file reads as no password.
    if (readFileSync(file, 'utf8').trim() === '') {
      expect(problemsOf({ ...PRODUCTION, SMTP_PASSWORD_FILE: file })).toEqual([]);
      return;
    }
    expectRefused('SMTP_PASSWORD', { file });
  },
  'webhook_signing_secret.example': (file) => expectRefused('WEBHOOK_SIGNING_SECRET', { file }),
  // nginx's certificate and key and Grafana's password reach no app: they can only be used with the
  // rest of the example set.
  'grafana_admin_password.example': (file) => expectOnlyWithTheExampleSet(file),
  'tls_cert.example': (file) => expectOnlyWithTheExampleSet(file),
  'tls_key.example': (file) => expectOnlyWithTheExampleSet(file),
};

/**
 * A secret no app reads (nginx's, Grafana's) cannot be refused by the apps. The split stack takes every
 * secret file with the one PROTOBANK_SECRETS suffix, so this one is mounted only together with the
 * example database URL, which the apps do refuse: the stack cannot serve with it.
 */
function expectOnlyWithTheExampleSet(file: string) {
  const name = file
    .split('/')
    .pop()!
    .replace(/\.example$/, '');
  const compose = parseYaml(readFileSync(join(root, 'docker/docker-compose.split.yml'), 'utf8')) as {
    secrets: Record<string, { file: string }>;
  };
  const suffixOf = (secret: string) => compose.secrets[secret]?.file.replace(/^.*?\.(?=\$\{)/, '');
  expect({ name, suffix: suffixOf(name) }).toEqual({ name, suffix: suffixOf('database_url') });
  expect(suffixOf('database_url')).toBe('${PROTOBANK_SECRETS:-example}');
  expectRefused('DATABASE_URL', { file: join(SECRETS, 'database_url.example') });
}

describe('committed secrets in production', () => {
  const examples = readdirSync(SECRETS).filter((n) => n.endsWith('.example'));

  it('knows how every docker/secrets/*.example file reaches an app', () => {
    expect(examples.filter((n) => !EXAMPLES[n])).toEqual([]);
    expect(examples.length).toBe(Object.keys(EXAMPLES).length);
  });

  it.each(examples)('refuses %s, by variable', (name) => {
    const path = join(SECRETS, name);
    expect(statSync(path).isDirectory()).toBe(name === 'jwt_keys.example');
    EXAMPLES[name](path);
  });

  it("refuses the dev stack's credentials (docker/docker-compose.yml, docker/.env.example)", () => {
    const dev = parseYaml(readFileSync(join(root, 'docker/docker-compose.yml'), 'utf8')) as {
      'x-dev-env': Record<string, string>;
      services: Record<string, { environment: Record<string, string> }>;
    };
    expectRefused('DATABASE_URL', { value: dev['x-dev-env'].DATABASE_URL });
    expectRefused('DATABASE_URL', {
      value: withPassword(PRODUCTION.DATABASE_URL, dev.services.postgres.environment.POSTGRES_PASSWORD),
    });
    const admin = /^\$\{ADMIN_PASSWORD:-(.+)\}$/.exec(dev.services.monolith.environment.ADMIN_PASSWORD)![1];
    expectRefused('ADMIN_PASSWORD', { value: admin });

    // Every secret the .env example gives a value.
    const secrets = Object.entries(ALL_VARIABLES)
      .filter(([, spec]) => 'secret' in spec && spec.secret)
      .map(([name]) => name);
    const given = readFileSync(join(root, 'docker/.env.example'), 'utf8')
      .split('\n')
      .map((line) => /^([A-Z_]+)=(.+)$/.exec(line.trim()))
      .filter((m): m is RegExpExecArray => m !== null && secrets.includes(m[1]));
    expect(given.map((m) => m[1])).toEqual(['ADMIN_PASSWORD']);
    for (const [, name, value] of given) expectRefused(name, { value });
  });

  it("refuses the modules' development fallbacks", () => {
    expectRefused('KYC_ENCRYPTION_KEY', { value: DEVELOPMENT_KEY });
    expectRefused('CARD_NETWORK_SECRET', { value: DEVELOPMENT_NETWORK_SECRET });
  });

  it('recognises a committed key in another encoding, and a committed secret among rotated ones', () => {
    const card = Buffer.from(read('card_data_key.example'), 'base64').toString('hex');
    expectRefused('CARD_DATA_KEY', { value: card });
    const sec1 = createPrivateKey(read('jwt_keys.example/2026-01-01T00-00-00.000Z.pem'))
      .export({ type: 'sec1', format: 'pem' })
      .toString();
    expect(sec1).toContain('BEGIN EC PRIVATE KEY');
    expectRefused('JWT_PRIVATE_KEY', { value: sec1.replace(/\n/g, '\\n') });
    expectRefused('CARD_NETWORK_SECRET', {
      value: `a-real-card-network-secret-of-40-chars-xx, ${read('card_network_secret.example')}`,
    });
  });

  it('refuses guest:guest and any dev-only- value by rule, naming the variable', () => {
    const mq = problemsOf({ ...PRODUCTION, RABBITMQ_URL: 'amqp://guest:guest@rabbitmq:5672' });
    expect(mq).toEqual([expect.stringMatching(/^RABBITMQ_URL holds a development value.*guest:guest/)]);
    const token = problemsOf({ ...PRODUCTION, METRICS_TOKEN: 'dev-only-something-else-entirely' });
    expect(token).toEqual([expect.stringMatching(/^METRICS_TOKEN holds a development value.*dev-only-/)]);
    expect(token[0]).not.toContain('something-else');
    const db = problemsOf({ ...PRODUCTION, DATABASE_URL: 'postgres://bank:dev-only-x@db:5432/protobank' });
    expect(db).toEqual([expect.stringMatching(/^DATABASE_URL holds a development value/)]);
  });

  it('says how to make a real one', () => {
    const [kyc] = problemsOf({ ...PRODUCTION, KYC_ENCRYPTION_KEY: read('kyc_encryption_key.example') });
    expect(kyc).toContain('openssl rand -base64 32');
    expect(kyc).toContain('npm run secrets:init -- --suffix');
  });

  it('accepts every example outside production (development and test)', () => {
    for (const NODE_ENV of ['development', 'test']) {
      const env: NodeJS.ProcessEnv = { NODE_ENV };
      for (const [variable, file] of [
        ['DATABASE_URL', 'database_url.example'],
        ['RABBITMQ_URL', 'rabbitmq_url.example'],
        ['JWT_PUBLIC_KEY', 'jwt_public_key.example'],
        ['KYC_ENCRYPTION_KEY', 'kyc_encryption_key.example'],
        ['CARD_DATA_KEY', 'card_data_key.example'],
        ['CARD_NETWORK_SECRET', 'card_network_secret.example'],
        ['METRICS_TOKEN', 'metrics_token.example'],
        ['WEBHOOK_SIGNING_SECRET', 'webhook_signing_secret.example'],
      ])
        env[`${variable}_FILE`] = join(SECRETS, file);
      env.JWT_KEYS_DIR = join(SECRETS, 'jwt_keys.example');
      expect(problemsOf(env)).toEqual([]);
    }
  });

  it('accepts fresh values', () => {
    expect(
      problemsOf({
        ...PRODUCTION,
        METRICS_TOKEN_FILE: fileWith('3b0f6c1d2e4a5b6c7d8e9f0a1b2c3d4e'),
        CARD_NETWORK_SECRET: 'f1e2d3c4b5a69788796a5b4c3d2e1f00',
      }),
    ).toEqual([]);
  });
});
