import { AppError, RateLimiter } from '@protobank/platform';
import { PasswordResetService, resetAddressKey } from './password-reset.service';
import { resetMailText } from './reset-mails';

const TOKEN = '0b6f1c3e-8d4a-4c1e-9f7a-2d5e6b7c8a90.Zx9y8w7v6u5t4s3r2q1p0o9n8m7l6k5j4i3h2g1f0e1';

/** The service with only what `request` touches: config, limiter and mailer (each recording its calls). */
function service(opts: { smtpHost?: string; allowed?: boolean[]; device?: string }) {
  const calls: string[] = [];
  const posted: string[] = [];
  const allowed = [...(opts.allowed ?? [])];
  const limiter = {
    hit: async (bucket: string, key: string) => {
      calls.push(`hit ${bucket} ${key}`);
      return { allowed: allowed.shift() ?? true, count: 1, retryAfter: 42 };
    },
    release: async (bucket: string, key: string) => {
      calls.push(`release ${bucket} ${key}`);
    },
    hitAll: RateLimiter.prototype.hitAll,
  };
  const mails = { post: (email: string) => posted.push(email) };
  const dataSource = {
    query: async (_sql: string, params: unknown[]) => {
      calls.push(`select ${String(params[0])}`);
      return [];
    },
  };
  const devices = {
    knownDevice: async (token: string) => (token === opts.device ? 'device-1' : undefined),
  };
  const config = { smtp: { host: opts.smtpHost } };
  const logger = { info: () => undefined };
  const resets = new PasswordResetService(
    dataSource as never,
    {} as never,
    mails as never,
    {} as never,
    devices as never,
    {} as never,
    {} as never,
    limiter as never,
    config as never,
    logger as never,
  );
  return { resets, calls, posted };
}

describe('PasswordResetService.request', () => {
  it('is not offered (409) without an SMTP server, counting and sending nothing', async () => {
    const { resets, calls, posted } = service({});
    await expect(resets.request('alice@example.com', {})).rejects.toMatchObject({
      status: 409,
      code: 'password_reset_not_offered',
    });
    expect(calls).toEqual([]);
    expect(posted).toEqual([]);
  });

  it("hands over the address in the form registration stored, counted by its digest against the address's caps", async () => {
    const { resets, calls, posted } = service({ smtpHost: 'smtp.example' });
    await expect(resets.request(' ＡＬＩＣＥ@Example.COM ', {})).resolves.toEqual({ expires_in: 1800 });
    const key = resetAddressKey('alice@example.com');
    expect(key).not.toContain('alice');
    expect(calls).toEqual([`hit password-reset-email ${key}`, `hit password-reset-email-day ${key}`]);
    expect(posted).toEqual(['alice@example.com']);
  });

  it('counts an ask with a device token of the account against that device, and one with any other token against the address', async () => {
    const device = '8a1d4f7e-2b3c-4d5e-9f60-718293a4b5c6.Zx9y8w7v6u5t4s3r2q1p0o9n8m7l6k5j4i3h2g1f0e1';
    const known = service({ smtpHost: 'smtp.example', device });
    await known.resets.request('alice@example.com', {}, device);
    expect(known.calls).toEqual([
      'select alice@example.com',
      'hit password-reset-device device-1',
      'hit password-reset-device-day device-1',
    ]);
    const other = service({ smtpHost: 'smtp.example', device });
    await other.resets.request('alice@example.com', {}, device.replace('Zx9', 'Zx8'));
    const key = resetAddressKey('alice@example.com');
    expect(other.calls).toEqual([
      'select alice@example.com',
      `hit password-reset-email ${key}`,
      `hit password-reset-email-day ${key}`,
    ]);
    expect([...known.posted, ...other.posted]).toEqual(['alice@example.com', 'alice@example.com']);
  });

  it("answers 429 with the cap's Retry-After past either cap, and sends nothing", async () => {
    for (const allowed of [[false], [true, false]]) {
      const { resets, posted } = service({ smtpHost: 'smtp.example', allowed });
      const refused = resets.request('alice@example.com', {});
      await expect(refused).rejects.toBeInstanceOf(AppError);
      await expect(refused).rejects.toMatchObject({
        status: 429,
        code: 'rate_limited',
        headers: { 'Retry-After': '42' },
      });
      expect(posted).toEqual([]);
    }
  });
});

describe('resetMailText', () => {
  it('links to PASSWORD_RESET_URL with the token in the fragment, which no server is sent', () => {
    const text = resetMailText(TOKEN, 'https://app.protobank.example/reset?from=mail');
    expect(text).toContain(`https://app.protobank.example/reset?from=mail#token=${TOKEN}`);
    expect(text).toContain('within 30 minutes');
    expect(text).toContain('If you did not ask for this, ignore this e-mail');
  });

  it('gives the token alone without a URL', () => {
    const text = resetMailText(TOKEN, undefined);
    expect(text).toContain(`enter this reset code in the app within 30 minutes:\n\n${TOKEN}\n`);
    expect(text).not.toContain('http');
  });
});
