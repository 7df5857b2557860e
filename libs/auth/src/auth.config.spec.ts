import { ConfigSource, loadConfig } from '@protobank/platform';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthConfig } from './auth.config';

const load = (env: NodeJS.ProcessEnv) => new ConfigSource(env).load(AuthConfig);

const problemsOf = (env: NodeJS.ProcessEnv) => new ConfigSource(env).problems([AuthConfig]);

describe('AuthConfig', () => {
  it('wants ADMIN_EMAIL and ADMIN_PASSWORD together', () => {
    expect(problemsOf({ ADMIN_EMAIL: 'a@bank.example' })).toEqual([
      'ADMIN_EMAIL and ADMIN_PASSWORD (or ADMIN_PASSWORD_FILE) must be set together',
    ]);
    expect(load({}).adminEmail).toBeUndefined();
  });

  it('reads the admin password from ADMIN_PASSWORD_FILE, and keeps the e-mail in lower case', () => {
    const dir = mkdtempSync(join(tmpdir(), 'protobank-auth-config-'));
    try {
      const file = join(dir, 'admin_password');
      writeFileSync(file, 'a-long-and-real-secret\n');
      const config = load({ ADMIN_EMAIL: 'Admin@Bank.example', ADMIN_PASSWORD_FILE: file });
      expect([config.adminEmail, config.adminPassword]).toEqual([
        'admin@bank.example',
        'a-long-and-real-secret',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a well-known admin password in production, without repeating it', () => {
    const problems = problemsOf({
      NODE_ENV: 'production',
      ADMIN_EMAIL: 'a@bank.example',
      ADMIN_PASSWORD: 'change-me',
    });
    expect(problems).toEqual([
      expect.stringMatching(/^ADMIN_PASSWORD holds a development value, which production refuses: /),
    ]);
    expect(problems[0]).not.toContain('change-me');
  });

  it('wants a signing key where auth runs, judged on the platform configuration given', () => {
    const production = {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://u:p@db/x',
      REDIS_URL: 'redis://r:6379',
      RABBITMQ_URL: 'amqp://u:p@mq:5672',
    };
    const pub = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .publicKey.export({ type: 'spki', format: 'pem' })
      .toString();
    // Only the public key, as the other apps have: auth could verify tokens but sign none.
    const verifyOnly = { ...production, JWT_PUBLIC_KEY: pub };
    expect(new ConfigSource(verifyOnly, loadConfig(verifyOnly)).problems([AuthConfig])).toEqual([
      'JWT_KEYS_DIR (or JWT_PRIVATE_KEY_FILE) must be set where auth runs: it signs the access tokens',
    ]);
    const development = { JWT_PUBLIC_KEY: pub };
    expect(new ConfigSource(development, loadConfig(development)).problems([AuthConfig])).toHaveLength(1);
    // The development keys are made when nothing is set; a key directory is the production way.
    expect(new ConfigSource({}, loadConfig({})).problems([AuthConfig])).toEqual([]);
    const withDir = { ...production, JWT_KEYS_DIR: '/run/secrets/jwt_keys' };
    expect(new ConfigSource(withDir, loadConfig(withDir)).problems([AuthConfig])).toEqual([]);
    // Without the platform's configuration (it did not load), the rule is not judged.
    expect(problemsOf(verifyOnly)).toEqual([]);
  });

  it('defaults the session and login settings', () => {
    const config = load({});
    expect({
      refresh: config.refreshTokenTtlSeconds,
      sessions: config.sessionsPerUserMax,
      failures: config.loginMaxFailures,
      resetUrl: config.passwordResetUrl,
    }).toEqual({ refresh: 604800, sessions: 50, failures: 5, resetUrl: undefined });
  });
});

describe('AuthConfig: the first admin password', () => {
  it('passes the password policy at boot, naming ADMIN_PASSWORD and never the password', () => {
    for (const password of ['Short-1x', 'aaaaaaaaaaaaaaaa', 'admin@bank.example!!']) {
      const problems = new ConfigSource({
        ADMIN_EMAIL: 'admin@bank.example',
        ADMIN_PASSWORD: password,
      }).problems([AuthConfig]);
      expect(problems).toEqual([expect.stringMatching(/^ADMIN_PASSWORD must /)]);
      expect(problems[0]).not.toContain(password);
    }
  });
});
