import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { cpSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../libs/platform/src/config/app-config';
import { scratchDirs } from '../test/support/scratch-dirs';

const scratch = scratchDirs();

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { secretsInit } = require('./secrets-init.js') as {
  secretsInit(opts: { suffix: string; dir?: string; force?: boolean }): { written: string[] };
};

const SECRETS = join(__dirname, '../docker/secrets');

/** A copy of docker/secrets (the examples) to generate into. */
function copy(): string {
  const dir = scratch('pb-secrets-init-');
  cpSync(SECRETS, dir, { recursive: true });
  return dir;
}

describe('npm run secrets:init', () => {
  const dir = copy();
  const { written } = secretsInit({ suffix: 'prod', dir });
  const read = (name: string) => readFileSync(join(dir, `${name}.prod`), 'utf8');
  const examples = readdirSync(SECRETS)
    .filter((n) => n.endsWith('.example'))
    .map((n) => n.slice(0, -'.example'.length));

  it('closes the secrets directory to every other local user (the files inside stay readable through bind mounts)', () => {
    expect((statSync(dir).mode & 0o777).toString(8)).toBe('700');
  });

  it('writes one fresh file (or key directory) per committed example, readable by the containers', () => {
    expect(written.map((n) => n.replace(/\/$/, ''))).toEqual(examples.map((n) => `${n}.prod`).sort());
    for (const name of examples) {
      const stat = statSync(join(dir, `${name}.prod`));
      expect({ name, mode: (stat.mode & 0o777).toString(8) }).toEqual({
        name,
        mode: stat.isDirectory() ? '755' : '644',
      });
    }
    for (const name of [
      'card_network_secret',
      'metrics_token',
      'webhook_signing_secret',
      'kyc_encryption_key',
      'grafana_admin_password',
    ])
      expect(read(name)).not.toBe(readFileSync(join(SECRETS, `${name}.example`), 'utf8'));
  });

  it('uses one password for the owner, one for the apps’ login and one for RabbitMQ, keeping the examples’ users and hosts', () => {
    const pg = read('postgres_password').trim();
    const app = read('postgres_app_password').trim();
    expect(pg).toMatch(/^[0-9a-f]{48}$/);
    expect(app).toMatch(/^[0-9a-f]{48}$/);
    expect(app).not.toBe(pg);
    for (const [name, password, user] of [
      ['database_owner_url', pg, 'protobank'],
      ['database_url', app, 'protobank_app'],
      ['database_direct_url', app, 'protobank_app'],
    ]) {
      const url = new URL(read(name).trim());
      const example = new URL(readFileSync(join(SECRETS, `${name}.example`), 'utf8').trim());
      expect(url.password).toBe(password);
      expect(url.username).toBe(user);
      expect([url.protocol, url.username, url.host, url.pathname]).toEqual([
        example.protocol,
        example.username,
        example.host,
        example.pathname,
      ]);
    }
    expect(read('pgbouncer_userlist')).toBe(`"protobank_app" "${app}"\n`);
    const mq = new URL(read('rabbitmq_url').trim());
    expect(mq.host).toBe('rabbitmq:5672');
    expect(mq.password).toMatch(/^[0-9a-f]{48}$/);
    const conf = read('rabbitmq_conf');
    expect(conf).toContain(`default_user = ${mq.username}\n`);
    expect(conf).toContain(`default_pass = ${mq.password}\n`);
    expect(conf).toContain('vm_memory_high_watermark.absolute');
    expect(pg).not.toBe(mq.password);
  });

  it('makes a signing-key directory whose public keys are jwt_public_key', () => {
    const keys = join(dir, 'jwt_keys.prod');
    const [keyFile] = readdirSync(keys).filter((n) => /^\d{4}-.*Z\.pem$/.test(n));
    const publicPem = createPublicKey(createPrivateKey(readFileSync(join(keys, keyFile), 'utf8')))
      .export({ type: 'spki', format: 'pem' })
      .toString();
    expect(read('jwt_public_key')).toBe(publicPem);
    expect(readFileSync(join(keys, 'public-keys.pem'), 'utf8')).toBe(publicPem);
  });

  it('is a set production starts with, every app’s *_FILE pointed at it', () => {
    const file = (name: string) => join(dir, `${name}.prod`);
    const env = {
      NODE_ENV: 'production',
      DATABASE_URL_FILE: file('database_url'),
      DATABASE_LISTEN_URL_FILE: file('database_direct_url'),
      REDIS_URL: 'redis://redis:6379',
      RABBITMQ_URL_FILE: file('rabbitmq_url'),
      JWT_PUBLIC_KEY_FILE: file('jwt_public_key'),
      JWT_KEYS_DIR: file('jwt_keys'),
      METRICS_TOKEN_FILE: file('metrics_token'),
      KYC_ENCRYPTION_KEY_FILE: file('kyc_encryption_key'),
      CARD_DATA_KEY_FILE: file('card_data_key'),
      CARD_NETWORK_SECRET_FILE: file('card_network_secret'),
      SMTP_PASSWORD_FILE: file('smtp_password'),
      WEBHOOK_SIGNING_SECRET_FILE: file('webhook_signing_secret'),
    };
    let problems: string[] = [];
    try {
      loadConfig(env);
    } catch (err) {
      problems = (err as ConfigError).problems;
    }
    expect(problems).toEqual([]);
  });

  it('makes nginx a fresh self-signed certificate for localhost whose key is the one written beside it', () => {
    const cert = new X509Certificate(read('tls_cert'));
    const key = createPrivateKey(read('tls_key'));
    expect(cert.checkPrivateKey(key)).toBe(true);
    expect(cert.subject).toContain('CN=localhost');
    expect(cert.subjectAltName).toContain('DNS:localhost');
    expect(cert.fingerprint256).not.toBe(
      new X509Certificate(readFileSync(join(SECRETS, 'tls_cert.example'))).fingerprint256,
    );
    expect(read('tls_key')).not.toBe(readFileSync(join(SECRETS, 'tls_key.example'), 'utf8'));
  });

  it('keeps an existing set unless --force, and then replaces every value', () => {
    expect(() => secretsInit({ suffix: 'prod', dir })).toThrow(/exist already \(--force replaces them/);
    const before = read('metrics_token');
    secretsInit({ suffix: 'prod', dir, force: true });
    expect(read('metrics_token')).not.toBe(before);
    expect(readdirSync(join(dir, 'jwt_keys.prod')).filter((n) => n.endsWith('Z.pem'))).toHaveLength(1);
  });

  it.each([
    ['docker-compose.split.yml', 10],
    ['docker-compose.first-admin.yml', 1],
  ])('covers every secret file %s mounts', (file, atLeast) => {
    const compose = readFileSync(join(__dirname, '../docker', file), 'utf8');
    const mounted = [...compose.matchAll(/\.\/secrets\/([\w-]+)\.\$\{PROTOBANK_SECRETS:-example\}/g)].map(
      (m) => m[1],
    );
    expect(mounted.length).toBeGreaterThanOrEqual(atLeast);
    expect(mounted.filter((name) => !examples.includes(name))).toEqual([]);
  });

  it('refuses the suffix "example", and an example it cannot generate', () => {
    expect(() => secretsInit({ suffix: 'example', dir: copy() })).toThrow(/--suffix/);
    const other = copy();
    writeFileSync(join(other, 'new_thing.example'), 'dev-only-new-thing\n');
    expect(() => secretsInit({ suffix: 'x', dir: other })).toThrow(
      'no generator for new_thing.example: add one to scripts/secrets-init.js',
    );
  });
});
