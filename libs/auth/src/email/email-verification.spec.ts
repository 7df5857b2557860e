import { AppError } from '@protobank/platform';
import { EMAIL_CODE_SECONDS, emailCodeText, EmailVerification } from './email-verification.service';

const ALICE = '0b6f1c3e-8d4a-4c1e-9f7a-2d5e6b7c8a90';

/** The service over fakes: alice@example.com (verified or not), a relay failing with `relay`, if given. */
function service(opts: { smtpHost?: string; verified?: boolean; relay?: Error } = {}) {
  const kept: Record<string, unknown>[] = [];
  const deleted: string[] = [];
  const released: string[] = [];
  const sent: { to: unknown; text: string }[] = [];
  const chain = {
    del: () => chain,
    hset: (_key: string, fields: Record<string, unknown>) => (kept.push(fields), chain),
    expire: () => chain,
    exec: async () => [],
  };
  const redis = { client: { multi: () => chain, del: async (key: string) => (deleted.push(key), 1) } };
  const limiter = {
    hit: async () => ({ allowed: true, retryAfter: 0 }),
    release: async (bucket: string) => void released.push(bucket),
  };
  const dataSource = {
    query: async () => [
      {
        user_id: ALICE,
        email: 'alice@example.com',
        email_verified_at: opts.verified ? new Date('2026-12-01T00:00:00Z') : null,
      },
    ],
  };
  const mailer = {
    configured: opts.smtpHost !== undefined,
    send: async (mail: { to: unknown; text: string }) => {
      if (opts.relay) throw opts.relay;
      sent.push(mail);
    },
  };
  const logger = { info: () => undefined, warn: () => undefined };
  const emails = new EmailVerification(
    dataSource as never,
    redis as never,
    limiter as never,
    mailer as never,
    {} as never, // the outbox and its relay: confirm only, not used here
    {} as never,
    logger as never,
  );
  return { emails, kept, deleted, released, sent };
}

const refusal = async (p: Promise<unknown>) => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof AppError)) throw new Error(`not refused with an AppError: ${String(err)}`);
  return err.toBody();
};

describe('EmailVerification', () => {
  it('e-mails a six-digit code to the account address, keeping only its salted hash', async () => {
    const { emails, kept, sent } = service({ smtpHost: 'smtp.example' });
    expect(await emails.sendCode(ALICE)).toEqual({
      email: 'alice@example.com',
      expires_in: EMAIL_CODE_SECONDS,
      resend_after: 60,
    });
    expect(sent).toHaveLength(1);
    expect(sent[0].to).toBe('alice@example.com');
    const code = /code is (\d{6})\./.exec(sent[0].text)![1];
    expect(kept).toEqual([expect.objectContaining({ target: 'alice@example.com', tries: 0 })]);
    expect(JSON.stringify(kept)).not.toContain(code);
  });

  it('is not offered without a relay (409), nor for a verified address (409)', async () => {
    expect(await refusal(service().emails.sendCode(ALICE))).toMatchObject({
      status: 409,
      code: 'email_verification_not_offered',
    });
    const verified = service({ smtpHost: 'smtp.example', verified: true });
    expect(await refusal(verified.emails.sendCode(ALICE))).toMatchObject({
      status: 409,
      code: 'email_already_verified',
    });
    expect(verified.sent).toEqual([]);
  });

  it("gives the code and the day's ask back when the relay refuses the address (422 naming email), and keeps them when it may have sent it (503)", async () => {
    const smtpError = (responseCode: number | undefined) =>
      Object.assign(new Error('550 <alice@example.com>: no such user'), { responseCode, code: 'EENVELOPE' });
    const refused = service({ smtpHost: 'smtp.example', relay: smtpError(550) });
    expect(await refusal(refused.emails.sendCode(ALICE))).toMatchObject({
      status: 422,
      code: 'email_rejected',
      details: [{ field: 'email' }],
    });
    expect(refused.deleted).toEqual([`auth:email-code:${ALICE}`]);
    expect(refused.released).toEqual(['email-code-day']);
    const slow = service({ smtpHost: 'smtp.example', relay: smtpError(undefined) });
    const answer = await refusal(slow.emails.sendCode(ALICE));
    expect(answer).toMatchObject({ status: 503, code: 'mail_unavailable' });
    expect(answer.message).not.toContain('alice@example.com');
    expect(slow.deleted).toEqual([]);
    expect(slow.released).toEqual([]);
  });

  it('says in the e-mail what the code is for, how long it lasts, and what to do if it was not asked for', () => {
    const text = emailCodeText('012345');
    expect(text).toContain('Your Protobank code is 012345.');
    expect(text).toContain('within 30 minutes');
    expect(text).toContain('We will never ask you for it.');
    expect(text).toContain('If you did not ask for this');
  });
});
