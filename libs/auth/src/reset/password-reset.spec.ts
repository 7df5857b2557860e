import { AppError } from '@protobank/platform';
import { PasswordResetService } from './password-reset.service';
import { resetMailText } from './reset-mails';

const TOKEN = '0b6f1c3e-8d4a-4c1e-9f7a-2d5e6b7c8a90.Zx9y8w7v6u5t4s3r2q1p0o9n8m7l6k5j4i3h2g1f0e1';

/** The service with only what `request` touches: config, limiter and mailer (each recording its calls). */
function service(opts: { smtpHost?: string; allowed?: boolean[]; busy?: boolean }) {
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
  };
  const mails = {
    post: (email: string) => {
      if (opts.busy) throw new AppError(503, 'reset_busy', 'busy');
      posted.push(email);
    },
  };
  const config = { smtp: { host: opts.smtpHost } };
  const logger = { info: () => undefined };
  const resets = new PasswordResetService(
    {} as never,
    {} as never,
    mails as never,
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

  it('hands over the address in the form registration stored, counted against both caps, and answers the token life', async () => {
    const { resets, calls, posted } = service({ smtpHost: 'smtp.example' });
    await expect(resets.request(' ＡＬＩＣＥ@Example.COM ', {})).resolves.toEqual({ expires_in: 1800 });
    expect(calls).toEqual([
      'hit password-reset-email alice@example.com',
      'hit password-reset-email-day alice@example.com',
    ]);
    expect(posted).toEqual(['alice@example.com']);
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

  it('gives the allowance back when the mailer is too busy to take it (503 reset_busy)', async () => {
    const { resets, calls } = service({ smtpHost: 'smtp.example', busy: true });
    await expect(resets.request('alice@example.com', {})).rejects.toMatchObject({
      status: 503,
      code: 'reset_busy',
    });
    expect(calls.filter((c) => c.startsWith('release'))).toEqual([
      'release password-reset-email alice@example.com',
      'release password-reset-email-day alice@example.com',
    ]);
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
