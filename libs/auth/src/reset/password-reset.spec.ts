import { AppError, RateLimiter } from '@protobank/platform';
import { addressKey } from '@protobank/platform';
import { PasswordResetService } from './password-reset.service';
import { resetMailText } from './reset-mails';

const TOKEN = '0b6f1c3e-8d4a-4c1e-9f7a-2d5e6b7c8a90.Zx9y8w7v6u5t4s3r2q1p0o9n8m7l6k5j4i3h2g1f0e1';

/** The service with only what `request` touches: config, limiter and mailer (each recording its calls). */
const ADMIN = '0190f0c2-0000-7000-8000-00000000000a';
const STAFF = '0190f0c2-0000-7000-8000-00000000000b';

interface Opts {
  smtpHost?: string;
  allowed?: boolean[];
  device?: string;
  /** The users module's profiles, by id (requestForUser). */
  profiles?: Record<string, { role: string; disabled: boolean }>;
  /** The target's credential as auth reads it (requestForUser); none when absent. */
  credential?: { email: string; email_verified_at: Date | null };
}

function service(opts: Opts) {
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
    releaseAll: RateLimiter.prototype.releaseAll,
  };
  const mails = {
    post: (email: string, sentBy?: { userId: string; generation: string }) =>
      posted.push(sentBy ? `${email} by ${sentBy.userId} at ${sentBy.generation}` : email),
  };
  const dataSource = {
    manager: {},
    transaction: async (work: (m: unknown) => Promise<unknown>) => work({}),
    query: async (_sql: string, params: unknown[]) => {
      calls.push(`select ${String(params[0])}`);
      return opts.credential ? [{ user_id: params[0], ...opts.credential }] : [];
    },
  };
  const users = {
    getProfile: async (id: string) => {
      const profile = opts.profiles?.[id];
      if (!profile) throw new Error(`no profile ${id}`);
      return profile;
    },
  };
  const audited: Record<string, unknown>[] = [];
  const outbox = {
    add: async (_m: unknown, schema: string, name: string, input: Record<string, unknown>) =>
      audited.push({ schema, name, ...input }),
  };
  const relay = { kickSoon: () => undefined };
  const devices = {
    knownDevice: async (token: string) => (token === opts.device ? 'device-1' : undefined),
  };
  const config = { smtp: { host: opts.smtpHost } };
  const warned: string[] = [];
  const logger = {
    info: () => undefined,
    warn: (fields: { security_event?: string }) => void warned.push(fields.security_event ?? ''),
  };
  const resets = new PasswordResetService(
    dataSource as never,
    users as never,
    mails as never,
    {} as never,
    devices as never,
    { generation: async () => '3' } as never,
    {} as never,
    limiter as never,
    outbox as never,
    relay as never,
    config as never,
    logger as never,
    // The gate is Redis's (test/contracts/staff-gate.e2e-spec.ts): here every action passes.
    {
      act: (_caller: unknown, work: (pass: unknown) => unknown) => work({ owners: async () => undefined }),
    } as never,
  );
  return { resets, calls, posted, audited, warned };
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
    const key = addressKey('alice@example.com');
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
    const key = addressKey('alice@example.com');
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

  it('says so when staff had it sent', () => {
    expect(resetMailText(TOKEN, undefined, true)).toMatch(/^Our staff asked us to send you this e-mail/);
    expect(resetMailText(TOKEN, undefined)).toMatch(/^We were asked to reset/);
  });

  it('gives the token alone without a URL', () => {
    const text = resetMailText(TOKEN, undefined);
    expect(text).toContain(`enter this reset code in the app within 30 minutes:\n\n${TOKEN}\n`);
    expect(text).not.toContain('http');
  });
});

describe('PasswordResetService.requestForUser', () => {
  const admin = { user_id: ADMIN, role: 'admin' };
  const staff = { user_id: STAFF, role: 'staff' };
  const CUSTOMER = '0190f0c2-0000-7000-8000-00000000000c';
  const verified = { email: 'sam@example.com', email_verified_at: new Date('2026-12-01T00:00:00Z') };
  const unverified = { ...verified, email_verified_at: null };
  const team = (target: { role: string; disabled: boolean }, id = STAFF) => ({
    [ADMIN]: { role: 'admin', disabled: false },
    [STAFF]: { role: 'staff', disabled: false },
    [id]: target,
  });
  const refusal = async (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('not refused');
      },
      (err: AppError) => ({ status: err.status, code: err.code }),
    );

  it("e-mails a staff member's verified address on an admin's request, audited with the reason, and tells them", async () => {
    const { resets, posted, audited } = service({
      smtpHost: 'smtp.example',
      profiles: team({ role: 'staff', disabled: false }),
      credential: verified,
    });
    expect(await resets.requestForUser(admin, STAFF, 'Forgot it: identified by video call')).toEqual({
      expires_in: 1800,
    });
    expect(posted).toEqual([`sam@example.com by ${ADMIN} at 3`]);
    expect(audited).toEqual([
      {
        schema: 'auth',
        name: 'staff_action.recorded',
        action: 'password_reset_requested',
        actor_id: ADMIN,
        actor_role: 'admin',
        target_user_id: STAFF,
        resource_type: 'user',
        resource_id: STAFF,
        before: null,
        after: null,
        reason: 'Forgot it: identified by video call',
      },
      { schema: 'auth', name: 'user.password_reset_requested', user_id: STAFF },
    ]);
  });

  it("e-mails a customer's address, verified or not, on a staff member's request", async () => {
    const { resets, posted, audited } = service({
      smtpHost: 'smtp.example',
      profiles: team({ role: 'customer', disabled: false }, CUSTOMER),
      credential: unverified,
    });
    await resets.requestForUser(staff, CUSTOMER, 'Locked out: identified by phone');
    expect(posted).toEqual([`sam@example.com by ${STAFF} at 3`]);
    expect(audited).toEqual([
      expect.objectContaining({ actor_id: STAFF, target_user_id: CUSTOMER }),
      { schema: 'auth', name: 'user.password_reset_requested', user_id: CUSTOMER },
    ]);
  });

  it("caps what one staff member sends (twenty an hour, a hundred a day), logged for an alert, after the user's own cap, whose hits it gives back", async () => {
    const opts = {
      smtpHost: 'smtp.example',
      profiles: team({ role: 'customer', disabled: false }, CUSTOMER),
    };
    // A copy of an ask just made stops at the user's cap and never counts against the sender.
    const userCapped = service({ ...opts, credential: unverified, allowed: [false] });
    expect(await refusal(userCapped.resets.requestForUser(staff, CUSTOMER, 'Forgot it'))).toEqual({
      status: 429,
      code: 'rate_limited',
    });
    expect(userCapped.calls.filter((c) => !c.startsWith('select'))).toEqual([
      `hit password-reset-by-staff ${CUSTOMER}`,
    ]);
    expect([userCapped.posted, userCapped.audited, userCapped.warned]).toEqual([[], [], []]);

    const capped = service({ ...opts, credential: unverified, allowed: [true, true, false] });
    expect(await refusal(capped.resets.requestForUser(staff, CUSTOMER, 'Forgot it'))).toEqual({
      status: 429,
      code: 'rate_limited',
    });
    expect(capped.calls.filter((c) => !c.startsWith('select'))).toEqual([
      `hit password-reset-by-staff ${CUSTOMER}`,
      `hit password-reset-by-staff-day ${CUSTOMER}`,
      `hit password-reset-sent-by ${STAFF}`,
      `release password-reset-by-staff ${CUSTOMER}`,
      `release password-reset-by-staff-day ${CUSTOMER}`,
    ]);
    expect(capped.warned).toEqual(['staff_reset_cap_reached']);
    expect([capped.posted, capped.audited]).toEqual([[], []]);
  });

  it("refuses oneself, a colleague's on a staff member's request, a disabled account, a colleague's unverified address and a demoted actor, sending and auditing nothing", async () => {
    const live = { role: 'staff', disabled: false };
    const cases: [Opts, { user_id: string; role: string }, string, { status: number; code: string }][] = [
      [{ profiles: team(live), credential: verified }, admin, ADMIN, { status: 403, code: 'own_user' }],
      [
        { profiles: team({ role: 'admin', disabled: false }, ADMIN), credential: verified },
        staff,
        ADMIN,
        { status: 403, code: 'colleague_account' },
      ],
      [
        { profiles: team({ role: 'staff', disabled: true }), credential: verified },
        admin,
        STAFF,
        { status: 409, code: 'user_disabled' },
      ],
      [
        { profiles: team(live), credential: unverified },
        admin,
        STAFF,
        { status: 409, code: 'email_not_verified' },
      ],
      [{ profiles: team(live) }, admin, STAFF, { status: 404, code: 'not_found' }],
      [
        { profiles: { ...team(live), [ADMIN]: { role: 'staff', disabled: false } }, credential: verified },
        admin,
        STAFF,
        { status: 403, code: 'forbidden' },
      ],
      [
        { profiles: team(live), credential: verified },
        { user_id: ADMIN, role: 'customer' },
        STAFF,
        { status: 403, code: 'forbidden' },
      ],
    ];
    // With or without a mail relay: who may ask for whom is answered first (409 password_reset_not_offered
    // came before 403 own_user and colleague_account).
    for (const smtpHost of ['smtp.example', undefined])
      for (const [opts, actor, target, expected] of cases) {
        const { resets, posted, audited } = service({ smtpHost, ...opts });
        expect(await refusal(resets.requestForUser(actor, target, 'Forgot it'))).toEqual(expected);
        expect(posted).toEqual([]);
        expect(audited).toEqual([]);
      }
    const { resets } = service({
      profiles: team({ role: 'customer', disabled: false }, CUSTOMER),
      credential: verified,
    });
    expect(await refusal(resets.requestForUser(staff, CUSTOMER, 'Forgot it'))).toEqual({
      status: 409,
      code: 'password_reset_not_offered',
    });
  });
});
