import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from './app-config';
import { ConfigError } from './variables';

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('loadConfig', () => {
  it('works on a developer machine with no variables at all', () => {
    const config = loadConfig({});
    expect(config.nodeEnv).toBe('development');
    expect(config.databaseUrl).toBe('postgres://postgres@127.0.0.1:5432/protobank');
    expect(config.databaseListenUrl).toBe(config.databaseUrl);
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(config.rpcTimeoutMs).toBe(5000);
    expect(config.logFormat).toBe('pretty');
    expect(config.corsOrigins).toEqual([]);
    expect(config.port).toBeUndefined();
  });

  it('types and splits values', () => {
    const config = loadConfig({
      PORT: '4000',
      CORS_ORIGINS: 'https://a.example, https://b.example',
      NODE_ENV: 'test',
      LOG_FORMAT: 'json',
    });
    expect(config.port).toBe(4000);
    expect(config.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(config.logFormat).toBe('json');
  });

  it('names every malformed variable at once', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      DATABASE_URL: 'mysql://x/y',
      NODE_ENV: 'staging',
      RPC_TIMEOUT_MS: '5',
      // A module's variable: not the platform's to read (the auth module's AuthConfig refuses it).
      ADMIN_EMAIL: 'nope',
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        'PORT must be an integer, got "eighty"',
        'DATABASE_URL must use postgres: or postgresql:, got mysql:',
        'NODE_ENV must be one of development, test, production, got "staging"',
        'RPC_TIMEOUT_MS must be at least 100, got 5',
      ]),
    );
    expect(problems).toHaveLength(4);
  });

  it("reads the bank's calendar: its time zone and holidays, refusing unknown zones and impossible dates", () => {
    const config = loadConfig({ BANK_HOLIDAYS: '2026-12-25, 2026-12-28' });
    expect(config.bankTimeZone).toBe('Europe/London');
    expect([...config.bankHolidays]).toEqual(['2026-12-25', '2026-12-28']);
    expect(loadConfig({}).bankHolidays.size).toBe(0);
    expect([...loadConfig({}).bankWeekend]).toEqual([6, 0]);
    expect([...loadConfig({ BANK_WEEKEND: 'friday, saturday' }).bankWeekend]).toEqual([5, 6]);
    expect(loadConfig({ BANK_WEEKEND: 'none' }).bankWeekend.size).toBe(0);
    expect(problemsOf({ BANK_WEEKEND: 'saturday,caturday' })).toEqual([
      'BANK_WEEKEND may hold only monday, tuesday, wednesday, thursday, friday, saturday, sunday, none, got "caturday"',
    ]);
    expect(problemsOf({ BANK_WEEKEND: 'monday,tuesday,wednesday,thursday,friday,saturday,sunday' })).toEqual([
      'BANK_WEEKEND must leave at least one working day',
    ]);
    expect(loadConfig({ BANK_TIME_ZONE: 'America/New_York' }).bankTimeZone).toBe('America/New_York');
    // A card payment up to MAX_AMOUNT must fit the ledger's card bound (10^15).
    expect(loadConfig({ MAX_AMOUNT: '1000000000000000' }).maxAmount).toBe(1e15);
    expect(problemsOf({ MAX_AMOUNT: '1000000000000001' })).toEqual([expect.stringContaining('MAX_AMOUNT')]);
    expect(
      problemsOf({ BANK_TIME_ZONE: 'Mars/Olympus', BANK_HOLIDAYS: '2026-12-25,2026-02-30,25/12/2026' }),
    ).toEqual([
      'BANK_TIME_ZONE must be an IANA time zone such as Europe/London, got "Mars/Olympus"',
      'BANK_HOLIDAYS must hold ISO dates (YYYY-MM-DD), got "2026-02-30", "25/12/2026"',
    ]);
  });

  it('treats an empty value as unset', () => {
    expect(loadConfig({ LOG_LEVEL: '', DATABASE_URL: '' }).logLevel).toBe('info');
  });

  describe('secrets from files (NAME_FILE)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'protobank-config-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('reads the secret from the file, without its trailing newline', () => {
      const file = join(dir, 'metrics_token');
      writeFileSync(file, 'a-long-and-real-secret\n');
      expect(loadConfig({ METRICS_TOKEN_FILE: file }).metricsToken).toBe('a-long-and-real-secret');
    });

    it('refuses a file that cannot be read, and both forms at once', () => {
      expect(problemsOf({ DATABASE_URL_FILE: join(dir, 'missing') })[0]).toMatch(
        /^DATABASE_URL_FILE points at .*missing, which cannot be read/,
      );
      const file = join(dir, 'db');
      writeFileSync(file, 'postgres://u:p@db/x');
      expect(problemsOf({ DATABASE_URL_FILE: file, DATABASE_URL: 'postgres://other/x' })).toEqual([
        'DATABASE_URL and DATABASE_URL_FILE are both set: keep one',
      ]);
    });

    it('does not read files for variables that are not secrets', () => {
      expect(loadConfig({ LOG_LEVEL_FILE: '/nonexistent' }).logLevel).toBe('info');
    });
  });

  describe('in production', () => {
    const explicit = {
      NODE_ENV: 'production',
      DATABASE_URL: 'postgres://bank:s3cret@db:5432/protobank',
      REDIS_URL: 'redis://redis:6379',
      RABBITMQ_URL: 'amqp://bank:s3cret@rabbitmq:5672',
    };

    it('starts with explicit secrets and logs JSON', () => {
      expect(loadConfig(explicit).logFormat).toBe('json');
    });

    it('refuses defaulted secrets, naming each', () => {
      expect(problemsOf({ NODE_ENV: 'production' })).toEqual([
        'DATABASE_URL must be set explicitly in production (the default is for development only)',
        'REDIS_URL must be set explicitly in production (the default is for development only)',
        'RABBITMQ_URL must be set explicitly in production (the default is for development only)',
      ]);
    });

    it('refuses development credentials', () => {
      expect(problemsOf({ ...explicit, RABBITMQ_URL: 'amqp://guest:guest@rabbitmq:5672' })).toEqual([
        expect.stringMatching(
          /^RABBITMQ_URL holds a development value, which production refuses: .*guest:guest/,
        ),
      ]);
    });

    it('requires STARTTLS of a remote SMTP relay (the mail carries reset tokens), not of a loopback one', () => {
      expect(loadConfig({ ...explicit, SMTP_HOST: 'smtp.relay.example' }).smtp.requireTls).toBe(true);
      expect(loadConfig({ ...explicit, SMTP_HOST: '127.0.0.1' }).smtp.requireTls).toBe(false);
      expect(loadConfig({ SMTP_HOST: 'mailpit' }).smtp.requireTls).toBe(false);
      expect(loadConfig({ SMTP_HOST: 'mailpit', SMTP_USER: 'bank' }).smtp.requireTls).toBe(true);
      expect(loadConfig({ ...explicit, SMTP_HOST: '::1' }).smtp.requireTls).toBe(false);
      // An operator's relay on a private network that speaks no TLS, said so explicitly.
      expect(
        loadConfig({ ...explicit, SMTP_HOST: 'postfix', SMTP_REQUIRE_TLS: 'false' }).smtp.requireTls,
      ).toBe(false);
      expect(loadConfig({ SMTP_HOST: 'mailpit', SMTP_REQUIRE_TLS: 'true' }).smtp.requireTls).toBe(true);
    });
  });

  it('times requests out after 30 s (headers 10 s), never with a headers timeout above the request one', () => {
    const defaults = loadConfig({});
    expect([defaults.httpRequestTimeoutMs, defaults.httpHeadersTimeoutMs]).toEqual([30000, 10000]);
    const short = loadConfig({ HTTP_REQUEST_TIMEOUT_MS: '2000' });
    expect([short.httpRequestTimeoutMs, short.httpHeadersTimeoutMs]).toEqual([2000, 2000]);
  });

  it('wants a METRICS_TOKEN of 16 visible characters, without repeating a bad one', () => {
    expect(loadConfig({ METRICS_TOKEN: 'a-scraper-token-0123' }).metricsToken).toBe('a-scraper-token-0123');
    expect(loadConfig({}).metricsToken).toBeUndefined();
    const problems = problemsOf({ METRICS_TOKEN: 'short secret' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^METRICS_TOKEN must match/);
    expect(problems[0]).not.toContain('short secret');
  });
});
