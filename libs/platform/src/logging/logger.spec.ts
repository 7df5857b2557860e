import { Writable } from 'node:stream';
import { loadConfig } from '../config/app-config';
import { requestContext } from '../context/request-context';
import { createLogger } from './logger';
import { onSecurityEvent } from './security-events';

function capture(level?: string) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const env = level ? { LOG_FORMAT: 'json', LOG_LEVEL: level } : { LOG_FORMAT: 'json' };
  return { lines, logger: createLogger(loadConfig(env), 'users', stream) };
}

describe('logger', () => {
  it('hands each security event it logs to the listeners (the metrics count them), and only those', () => {
    const seen: string[] = [];
    const stop = onSecurityEvent((event) => seen.push(event));
    try {
      const { lines, logger } = capture('warn');
      logger.warn({ security_event: 'colleague_account', user_id: 'u1' }, 'refused');
      logger.warn({ user_id: 'u1' }, 'not a security event');
      logger.info({ security_event: 'login_failed' }, 'below the level: counted, not written');
      logger.warn({ security_event: 'Not A Code!' }, 'not an event name');
      logger.error('a message alone');
      expect(seen).toEqual(['colleague_account', 'login_failed']);
      expect(lines.map((l) => l.msg)).toEqual([
        'refused',
        'not a security event',
        'not an event name',
        'a message alone',
      ]);
    } finally {
      stop();
    }
    capture().logger.warn({ security_event: 'login_lockout' }, 'after the listener stopped');
    expect(seen).toEqual(['colleague_account', 'login_failed']);
  });

  it.each(['error', 'fatal', 'silent'])(
    'counts security events with LOG_LEVEL %s, which writes none of them, and writes what the level allows',
    (level) => {
      const seen: string[] = [];
      const stop = onSecurityEvent((event) => seen.push(event));
      try {
        const { lines, logger } = capture(level);
        logger.warn({ security_event: 'colleague_account' }, 'refused');
        logger.info({ security_event: 'login_failed' }, 'failed');
        logger.debug({ user_id: 'u1' }, 'debug');
        logger.error('an error');
        logger.fatal('a fatal error');
        expect(seen).toEqual(['colleague_account', 'login_failed']);
        const expected = { error: ['an error', 'a fatal error'], fatal: ['a fatal error'], silent: [] };
        expect(lines.map((l) => l.msg)).toEqual(expected[level as keyof typeof expected]);
      } finally {
        stop();
      }
    },
  );

  it('writes debug lines with LOG_LEVEL debug', () => {
    const { lines, logger } = capture('debug');
    logger.debug('details');
    logger.trace('more details');
    expect(lines.map((l) => [l.level, l.msg])).toEqual([[20, 'details']]);
  });

  it('writes JSON with the service and the request id of the current context', () => {
    const { lines, logger } = capture();
    requestContext.run({ requestId: 'req-7' }, () => logger.info({ user_id: 'u1' }, 'profile read'));
    expect(lines[0]).toMatchObject({
      service: 'users',
      request_id: 'req-7',
      user_id: 'u1',
      msg: 'profile read',
      level: 30,
    });
  });

  it("never writes a failed query's parameters", () => {
    const { lines, logger } = capture();
    const err = Object.assign(new Error('duplicate key value violates unique constraint'), {
      query: 'INSERT INTO auth.credentials (user_id, email, password_hash) VALUES ($1, $2, $3)',
      parameters: ['8c1b…', 'alice@example.com', '$argon2id$v=19$m=19456$secret-hash'],
      driverError: { detail: 'Key (lower(email))=(alice@example.com) already exists.' },
    });
    logger.error({ err }, 'request failed');
    const text = JSON.stringify(lines[0]);
    expect(text).toContain('duplicate key value');
    expect(text).not.toContain('alice@example.com');
    expect(text).not.toContain('argon2id');
  });

  it("never writes a failed Redis command's arguments, only its name", () => {
    const { lines, logger } = capture();
    // As ioredis attaches them to a reply error (here Redis out of memory under noeviction).
    const err = Object.assign(new Error("OOM command not allowed when used memory > 'maxmemory'."), {
      command: {
        name: 'evalsha',
        args: ['9f1c…', '1', 'pb:ratelimit:login-failures:alice@example.com', '5'],
      },
    });
    logger.error({ err }, 'request failed');
    expect(JSON.stringify(lines[0])).not.toContain('alice@example.com');
    expect(lines[0].err).toMatchObject({
      message: expect.stringContaining('OOM'),
      command: { name: 'evalsha' },
    });
  });

  it("never writes the values PostgreSQL quotes in an error's detail and context", () => {
    const { lines, logger } = capture();
    // As TypeORM's QueryFailedError carries them: the driver error's fields copied onto it.
    const err = Object.assign(new Error('invalid input syntax for type json'), {
      query: 'UPDATE "users"."users" SET "address" = $1 WHERE "id" = $2',
      code: '22P02',
      detail: 'Key (lower(email))=(alice@example.com) already exists.',
      where: 'JSON data, line 1: {"line1":"1 Acacia Avenue...',
      routine: 'json_ereport_error',
    });
    logger.error({ err }, 'request failed');
    const text = JSON.stringify(lines[0]);
    expect(text).not.toContain('alice@example.com');
    expect(text).not.toContain('Acacia');
    expect(lines[0].err).toMatchObject({ message: 'invalid input syntax for type json', code: '22P02' });
  });

  it('redacts secrets logged by mistake', () => {
    const { lines, logger } = capture();
    logger.info(
      { body: { email: 'a@example.com', password: 'hunter2hunter2', refresh_token: 'rt' } },
      'oops',
    );
    expect(lines[0].body).toEqual({
      email: 'a@example.com',
      password: '[redacted]',
      refresh_token: '[redacted]',
    });
  });
  it('redacts secrets at any depth, top level included, in arrays, without changing what was logged', () => {
    const { lines, logger } = capture();
    const pan = '5355220000000000';
    const logged = {
      password: 'top-level-secret',
      a: { b: { c: { d: { pan, cvc: '987', document_number: 'P1234567' } } } },
      body: { new_password: 'new-secret-1', current_password: 'old-secret-1', device_token: 'dt-secret' },
      headers: { authorization: 'Bearer eyJ-secret', 'x-metrics-token': 'mt-secret', cookie: 'sid=s3' },
      items: [{ card_number: pan }, { webhook_secret: 'wh-secret' }, 'plain'],
      kept: { span: 'abc', token_type: 'Bearer', reset_held: true, has_token: false, pin_tries: 2 },
    };
    const before = JSON.stringify(logged);
    logger.info(logged, 'oops');
    const text = JSON.stringify(lines[0]);
    for (const secret of [
      pan,
      '987',
      'P1234567',
      'top-level-secret',
      'new-secret-1',
      'old-secret-1',
      'dt-secret',
      'eyJ-secret',
      'mt-secret',
      'sid=s3',
      'wh-secret',
    ]) {
      expect({ secret, logged: text.includes(secret) }).toEqual({ secret, logged: false });
    }
    expect(lines[0].password).toBe('[redacted]');
    expect(lines[0].a).toEqual({
      b: { c: { d: { pan: '[redacted]', cvc: '[redacted]', document_number: '[redacted]' } } },
    });
    expect(lines[0].items).toEqual([
      { card_number: '[redacted]' },
      { webhook_secret: '[redacted]' },
      'plain',
    ]);
    // Words that only contain a secret's name, and flags, are written.
    expect(lines[0].kept).toEqual(logged.kept);
    expect(JSON.stringify(logged)).toBe(before); // the caller's object is untouched
  });

  it('redacts secrets an error carries, and logs a cyclic object', () => {
    const { lines, logger } = capture();
    const err = Object.assign(new Error('failed'), {
      config: { headers: { authorization: 'Bearer leaked' } },
    });
    const cyclic: Record<string, unknown> = { name: 'loop', token: 'tk-secret' };
    cyclic.self = cyclic;
    logger.error({ err, cyclic }, 'oops');
    const text = JSON.stringify(lines[0]);
    expect(text).not.toContain('leaked');
    expect(text).not.toContain('tk-secret');
    expect(lines[0].err).toMatchObject({
      message: 'failed',
      config: { headers: { authorization: '[redacted]' } },
    });
  });

  it('knows a secret by its name in any case or separator, singular or plural, and a URL by its password', () => {
    const { lines, logger } = capture();
    const secrets = {
      refreshToken: 's1',
      newPassword: 's2',
      PrivateKey: 's3',
      kycEncryptionKey: 's4',
      webhookSigningSecret: 's5',
      'x-api-key': 's6',
      apiKey: 's7',
      passwords: ['s8'],
      passwordHash: 's9',
      otp: 's10',
      cardNumber: 's11',
      DOCUMENT_NUMBER: 's12',
    };
    logger.info(
      {
        ...secrets,
        database: 'postgres://bank:s13@db:5432/protobank',
        kept: { span: 'x', tokenType: 'Bearer', pin_tries: 2, idempotency_key: 'k', code: '42P01', keys: 3 },
      },
      'oops',
    );
    const text = JSON.stringify(lines[0]);
    for (let i = 1; i <= 13; i++)
      expect({ i, logged: text.includes(`"s${i}"`) || text.includes(`:s${i}@`) }).toEqual({
        i,
        logged: false,
      });
    for (const key of Object.keys(secrets))
      expect({ key, value: lines[0][key] }).toEqual({ key, value: '[redacted]' });
    expect(lines[0].database).toBe('postgres://bank:[redacted]@db:5432/protobank');
    expect(lines[0].kept).toEqual({
      span: 'x',
      tokenType: 'Bearer',
      pin_tries: 2,
      idempotency_key: 'k',
      code: '42P01',
      keys: 3,
    });
  });

  it("redacts an error under any key, a child logger's bindings, and values given through toJSON; survives a throwing getter", () => {
    const { lines, logger } = capture();
    const err = Object.assign(new Error('failed'), {
      config: { headers: { authorization: 'Bearer Zq1-e1' } },
      parameters: ['alice@example.com'],
    });
    const withJson = { toJSON: () => ({ refresh_token: 'Zq2-e2', id: 7 }) };
    logger
      .child({ password: 'Zq3-e3' })
      .info({ failure: err, cause: { err }, withJson, bytes: new Uint8Array([1, 2]) }, 'oops');
    const text = JSON.stringify(lines[0]);
    for (const secret of ['Zq1-e1', 'Zq2-e2', 'Zq3-e3', 'alice@example.com'])
      expect({ secret, logged: text.includes(secret) }).toEqual({ secret, logged: false });
    expect(lines[0].failure).toMatchObject({
      message: 'failed',
      config: { headers: { authorization: '[redacted]' } },
    });
    expect(lines[0].withJson).toEqual({ refresh_token: '[redacted]', id: 7 });
    expect(lines[0].password).toBe('[redacted]');
    const throwing = Object.defineProperty({}, 'boom', {
      enumerable: true,
      get() {
        throw new Error('no');
      },
    });
    expect(() => logger.info({ throwing }, 'unreadable')).not.toThrow();
    expect(lines[1]).toMatchObject({ log_fields_unreadable: true, msg: 'unreadable' });
  });

  it('redacts card numbers and security codes at any depth a log call may put them', () => {
    const { lines, logger } = capture();
    const pan = '5355220000000000';
    logger.info({ pan, cvc: '123', card: { pan, cvc: '123' }, req: { body: { pan, cvc: '123' } } }, 'oops');
    expect(JSON.stringify(lines[0])).not.toContain(pan);
    expect(JSON.stringify(lines[0])).not.toContain('"123"');
  });
});
