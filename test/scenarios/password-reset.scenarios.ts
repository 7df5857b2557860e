/**
 * "Forgot your password", run unchanged against both topologies: the reset e-mail (through the suite's
 * SMTP receiver), the token working once and only while the password is the one it was issued under,
 * the same answer for addresses without an account, the caps, and where the token never appears.
 */
import { addressKey } from '@protobank/platform';
import { createHash, randomInt, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { bearer, firstAdmin, newCustomer, PASSWORD, type Actor } from '../support/actors';
import {
  balanceOf,
  deposit,
  issueCard,
  newPassportNumber,
  openAccount,
  promote,
  verifiedCustomer,
} from '../support/banking';
import { verifyEmail } from '../support/email';
import { failUpdates } from '../support/failing-updates';
import type { Mail, Receivers } from '../support/receivers';
import { securityEventsCounted } from '../support/security-events';
import { eventually } from '../support/test-env';
import type { Running } from '../support/topologies';

const NEW_PASSWORD = 'a brand new passphrase, long enough';
const TOKEN_IN_MAIL = /([0-9a-f-]{36}\.[A-Za-z0-9_-]{43})/;
export function passwordResetScenarios(get: () => Running, receivers: () => Receivers) {
  describe('password reset by e-mail', () => {
    const http = () => request(get().baseUrl);
    // Each test asks from its own client IP, so the per-IP cap of one test does not reach another.
    let ipSeq = randomInt(0, 1 << 20);
    const clientIp = () => {
      const n = ipSeq++;
      return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
    };
    const ask = (email: string, ip = clientIp()) =>
      http().post('/auth/password/reset').set('X-Forwarded-For', ip).send({ email });
    const confirm = (token: string, new_password = NEW_PASSWORD, ip = clientIp()) =>
      http().post('/auth/password/reset/confirm').set('X-Forwarded-For', ip).send({ token, new_password });
    const resetMails = (to: string): Mail[] =>
      receivers().mails.filter((m) => m.to.includes(to) && m.subject === 'Reset your Protobank password');
    /** POST /admin/auth/users/{id}/password-reset as `who`. */
    const resetFor = (
      who: Actor,
      id: string,
      body: Record<string, unknown> = { reason: 'Test: identified' },
    ) => http().post(`/admin/auth/users/${id}/password-reset`).set(bearer(who.token)).send(body);
    /** A customer who verified their e-mail address (reset e-mails go to verified addresses only). */
    const customer = async () => {
      const who = await newCustomer(get(), 'reset');
      await verifyEmail(get(), () => receivers().mails, who);
      return who;
    };
    /** Asks for a reset of `who`'s password (202) and returns the token of the e-mail that came. */
    const mailedToken = async (who: { email: string }) => {
      const before = resetMails(who.email).length;
      const res = await ask(who.email).expect(202);
      expect(res.body).toEqual({ expires_in: 1800 });
      const mail = await eventually(async () => resetMails(who.email)[before], 10_000, 'the reset e-mail');
      return TOKEN_IN_MAIL.exec(mail.text)![1];
    };
    const login = (email: string, password: string) =>
      http().post('/auth/login').set('X-Forwarded-For', clientIp()).send({ email, password });
    const logs = () =>
      readdirSync(get().t.logDir)
        .filter((f) => f.endsWith('.log'))
        .map((f) => readFileSync(join(get().t.logDir, f), 'utf8'))
        .join('\n');
    /** How many log lines carry `security_event` `event`. */
    const linesOf = (event: string) =>
      logs()
        .split('\n')
        .filter((l) => l.includes(`"security_event":"${event}"`)).length;
    /** The address's one-a-minute cap lifted, as a minute passing would (the day's cap still counts). */
    const liftAddressMinute = async (email: string) => {
      const t = get().t;
      const key = `${t.env.REDIS_KEY_PREFIX}ratelimit:password-reset-email:${addressKey(email)}`;
      await (await t.redis()).del(key);
    };

    it('e-mails a one-time token; the same 202 for an address with no account, which is sent nothing', async () => {
      const alice = await customer();
      const nobody = `nobody.${Date.now()}.${randomInt(1e9)}@example.com`;
      const before = linesOf('password_reset_no_account');
      const unknown = await ask(nobody).expect(202);
      const token = await mailedToken(alice);
      expect(unknown.body).toEqual({ expires_in: 1800 });
      expect(token.split('.')[0]).toBe(alice.id);
      const mail = resetMails(alice.email).at(-1)!;
      expect(mail.text).toContain('within 30 minutes');
      expect(mail.text).toContain('If you did not ask for this, ignore this e-mail');
      // The unknown address's job ran (its line is logged), and nothing went to it.
      await eventually(
        async () => (linesOf('password_reset_no_account') > before ? true : undefined),
        10_000,
        'the unknown address handled',
      );
      expect(receivers().mails.filter((m) => m.to.includes(nobody))).toEqual([]);
    });

    it('sends nothing to an address its owner has not verified, and a reset e-mail once it is', async () => {
      const una = await newCustomer(get(), 'reset');
      const before = linesOf('password_reset_unverified');
      await ask(una.email).expect(202);
      await eventually(
        async () => (linesOf('password_reset_unverified') > before ? true : undefined),
        10_000,
        'the unverified address handled',
      );
      expect(resetMails(una.email)).toEqual([]);
      await verifyEmail(get(), () => receivers().mails, una);
      await liftAddressMinute(una.email);
      await confirm(await mailedToken(una)).expect(200);
    });

    it('sets the new password with the token: every session ends, only the new password logs in, the answer is a session, the owner is told', async () => {
      const bob = await customer();
      const other = await login(bob.email, PASSWORD).expect(200);
      const token = await mailedToken(bob);
      const res = await confirm(token).expect(200);
      expect(res.body).toMatchObject({ token_type: 'Bearer', expires_in: 900 });
      expect(res.body.device_token).toMatch(/^[0-9a-f-]{36}\./);
      // The sessions from before end, on every device; the new one works.
      await http().get('/users/me').set(bearer(bob.token)).expect(401);
      await http().get('/users/me').set(bearer(other.body.access_token)).expect(401);
      await http().get('/users/me').set(bearer(res.body.access_token)).expect(200);
      await login(bob.email, PASSWORD).expect(401);
      await login(bob.email, NEW_PASSWORD).expect(200);
      // Once only.
      const again = await confirm(token, 'yet another long passphrase').expect(422);
      expect(again.body).toMatchObject({ code: 'token_invalid', details: [{ field: 'token' }] });
      await login(bob.email, NEW_PASSWORD).expect(200);
      const notices = await eventually(
        async () => {
          const list = await http().get('/notifications').set(bearer(res.body.access_token)).expect(200);
          const found = (list.body.data as { type: string; title: string; category: string }[]).filter(
            (n) => n.type === 'user.password_changed',
          );
          return found.length ? found : undefined;
        },
        15_000,
        'the password reset notice',
      );
      expect(notices).toEqual([expect.objectContaining({ title: 'Password reset', category: 'security' })]);
    });

    it('refuses a weak new password with 400 naming new_password and leaves the token usable', async () => {
      const carol = await customer();
      const token = await mailedToken(carol);
      for (const weak of ['short', carol.email + '-2026', 'aaaaaaaaaaaaaaaa']) {
        const res = await confirm(token, weak).expect(400);
        expect(res.body.details).toEqual([expect.objectContaining({ field: 'new_password' })]);
      }
      await login(carol.email, PASSWORD).expect(200);
      await confirm(token).expect(200);
    });

    /** Every change of `who`'s password fails in the database until the returned function is called. */
    const failPasswordChanges = async (who: { id: string }) =>
      failUpdates(
        await get().t.db(),
        'auth.credentials',
        `OLD.user_id = '${who.id}' AND NEW.password_hash IS DISTINCT FROM OLD.password_hash`,
      );

    it('leaves the token usable when the database fails to set the new password', async () => {
      const erin = await customer();
      const token = await mailedToken(erin);
      const recover = await failPasswordChanges(erin);
      try {
        const failed = await confirm(token);
        expect({ status: failed.status, code: failed.body.code }).toEqual({
          status: 500,
          code: 'internal_error',
        });
        await login(erin.email, PASSWORD).expect(200);
        await http().get('/users/me').set(bearer(erin.token)).expect(200);
      } finally {
        await recover();
      }
      // The same link, tried again, sets the password once, and only once.
      await confirm(token).expect(200);
      await login(erin.email, PASSWORD).expect(401);
      await login(erin.email, NEW_PASSWORD).expect(200);
      const again = await confirm(token, 'yet another long passphrase').expect(422);
      expect(again.body).toMatchObject({ code: 'token_invalid', details: [{ field: 'token' }] });
      // Used, it leaves nothing behind.
      const key = `${get().t.env.REDIS_KEY_PREFIX}auth:password-reset:${erin.id}`;
      expect(await (await get().t.redis()).exists(key)).toBe(0);
    });

    it('keeps the time a given-back token had left, and never puts it back over a newer one', async () => {
      const fay = await customer();
      const first = await mailedToken(fay);
      const key = `${get().t.env.REDIS_KEY_PREFIX}auth:password-reset:${fay.id}`;
      const redis = await get().t.redis();
      await redis.pexpire(key, 120_000); // as if 28 of its 30 minutes had passed
      let second = '';
      const recover = await failPasswordChanges(fay);
      try {
        await confirm(first).expect(500);
        const left = await redis.pttl(key);
        expect(left).toBeGreaterThan(0);
        expect(left).toBeLessThanOrEqual(120_000);
        // A newer e-mail replaces it; a failure of the newer one's use puts the newer one back, not the first.
        await liftAddressMinute(fay.email);
        second = await mailedToken(fay);
        await confirm(second).expect(500);
        expect(await redis.pttl(key)).toBeGreaterThan(120_000);
      } finally {
        await recover();
      }
      const stale = await confirm(first).expect(422);
      expect(stale.body).toMatchObject({ code: 'token_invalid', details: [{ field: 'token' }] });
      await confirm(second).expect(200);
    });

    it('refuses a malformed token with 400 naming token, and a forged, foreign or stale one with 422 token_invalid', async () => {
      const dave = await customer();
      for (const token of ['', 'x', `${dave.id}.short`, `${dave.id}.${'A'.repeat(43)}x`]) {
        const res = await confirm(token).expect(400);
        expect(res.body.details).toEqual([expect.objectContaining({ field: 'token' })]);
      }
      const token = await mailedToken(dave);
      const [, secret] = token.split('.');
      const erin = await customer();
      // The right secret for another user, a wrong secret for the right one: neither resets anything.
      for (const forged of [`${erin.id}.${secret}`, `${dave.id}.${'A'.repeat(43)}`]) {
        const res = await confirm(forged).expect(422);
        expect(res.body).toMatchObject({ code: 'token_invalid', details: [{ field: 'token' }] });
      }
      // The owner remembers the password and changes it: the token issued under the old one is dead.
      await http()
        .post('/auth/password')
        .set(bearer(dave.token))
        .send({ current_password: PASSWORD, new_password: 'the remembered new one, long' })
        .expect(200);
      await confirm(token).expect(422);
      await login(dave.email, 'the remembered new one, long').expect(200);
      await login(erin.email, PASSWORD).expect(200);
    });

    it('lets exactly one of ten uses of a token at once set a password', async () => {
      const frank = await customer();
      const token = await mailedToken(frank);
      const passwords = Array.from({ length: 10 }, (_, i) => `parallel passphrase number ${i}`);
      const answers = await Promise.all(passwords.map((p) => confirm(token, p)));
      const won = answers.filter((a) => a.status === 200);
      expect(won).toHaveLength(1);
      // The others: 422 (the token was used), or, on a busy machine, 503 auth_busy (their new password
      // waited over 5 s for its hash, before the token was touched).
      const others = answers.filter((a) => a.status !== 200);
      expect(others).toHaveLength(9);
      for (const other of others) {
        expect([422, 503]).toContain(other.status);
        expect(other.body.code).toBe(other.status === 422 ? 'token_invalid' : 'auth_busy');
      }
      const winner = passwords[answers.indexOf(won[0])];
      await login(frank.email, winner).expect(200);
    });

    it('caps e-mails per address (one a minute), for addresses with and without an account alike', async () => {
      const gina = await customer();
      const nobody = `nobody.${Date.now()}.${randomInt(1e9)}@example.com`;
      await mailedToken(gina);
      await ask(nobody).expect(202);
      for (const email of [gina.email, nobody, gina.email.toUpperCase()]) {
        const res = await ask(email).expect(429);
        expect(res.body.code).toBe('rate_limited');
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      }
      expect(resetMails(gina.email)).toHaveLength(1);
    });

    it('replaces the token when asked again: only the newest e-mail works', async () => {
      const hal = await customer();
      const first = await mailedToken(hal);
      await liftAddressMinute(hal.email);
      const second = await mailedToken(hal);
      expect(second).not.toBe(first);
      await confirm(first).expect(422);
      await confirm(second).expect(200);
    });

    it('ends the token when the account is disabled, also once it is enabled again, and sends a disabled account nothing', async () => {
      const admin = await firstAdmin(get());
      const ivy = await customer();
      const token = await mailedToken(ivy);
      const setDisabled = (disabled: boolean) =>
        http()
          .patch(`/admin/users/${ivy.id}`)
          .set(bearer(admin.token))
          .send({ disabled, reason: 'Test: reset of a disabled account' })
          .expect(200);
      // Disabled and enabled again, with no use of the token in between: the disable ended it.
      await setDisabled(true);
      await setDisabled(false);
      expect((await confirm(token).expect(422)).body.code).toBe('token_invalid');
      await login(ivy.email, PASSWORD).expect(200);
      await setDisabled(true);
      await liftAddressMinute(ivy.email);
      const before = linesOf('password_reset_disabled');
      await ask(ivy.email).expect(202);
      await eventually(
        async () => (linesOf('password_reset_disabled') > before ? true : undefined),
        10_000,
        'the disabled account handled',
      );
      expect(resetMails(ivy.email)).toHaveLength(1);
    });

    it('ends the token when the role changes, also once it is changed back', async () => {
      const admin = await firstAdmin(get());
      const max = await customer();
      const token = await mailedToken(max);
      for (const role of ['staff', 'customer']) {
        await http()
          .patch(`/admin/users/${max.id}`)
          .set(bearer(admin.token))
          .send({ role, reason: 'Test: reset across a role change' })
          .expect(200);
      }
      expect((await confirm(token).expect(422)).body.code).toBe('token_invalid');
      await login(max.email, PASSWORD).expect(200);
    });

    it('sends a staff or admin account nothing (their passwords are not reset by e-mail)', async () => {
      const admin = await firstAdmin(get());
      const kim = await customer();
      await http()
        .patch(`/admin/users/${kim.id}`)
        .set(bearer(admin.token))
        .send({ role: 'staff', reason: 'Test: staff reset' })
        .expect(200);
      const before = linesOf('password_reset_staff');
      for (const email of [kim.email, admin.email]) await ask(email).expect(202);
      await eventually(
        async () => (linesOf('password_reset_staff') >= before + 2 ? true : undefined),
        10_000,
        'both staff asks handled',
      );
      expect(resetMails(kim.email)).toEqual([]);
      expect(resetMails(admin.email)).toEqual([]);
    });

    it("lets an admin have a reset e-mail sent to a staff member's verified address: audited, and the staff member keeps the role", async () => {
      const admin = await firstAdmin(get());
      const sam = await promote(get(), admin, await customer());
      const reason = `Test: forgot it, identified on a video call ${randomUUID()}`;
      const sent = await resetFor(admin, sam.id, { reason }).expect(202);
      expect(sent.body).toEqual({ expires_in: 1800 });
      const mail = await eventually(async () => resetMails(sam.email)[0], 10_000, 'the reset e-mail');
      const res = await confirm(TOKEN_IN_MAIL.exec(mail.text)![1]).expect(200);
      const me = await http().get('/users/me').set(bearer(res.body.access_token)).expect(200);
      expect(me.body.role).toBe('staff');
      await login(sam.email, NEW_PASSWORD).expect(200);
      const audit = await eventually(
        async () => {
          const list = await http()
            .get('/admin/audit')
            .query({ action: 'password_reset_requested', target_user_id: sam.id })
            .set(bearer(admin.token))
            .expect(200);
          return list.body.data.length ? list.body.data : undefined;
        },
        15_000,
        'the audit entry',
      );
      expect(audit).toEqual([
        expect.objectContaining({
          actor_id: admin.id,
          target_user_id: sam.id,
          reason,
          resource_type: 'user',
        }),
      ]);

      // Never for oneself, nor a colleague's on a staff member's request; the reason is required, and the
      // id a uuid.
      const staffSession = { ...sam, token: res.body.access_token as string };
      const ownRefusals = () => securityEventsCounted(get(), 'auth', 'own_user_refused');
      const ownBefore = await ownRefusals();
      expect((await resetFor(admin, admin.id).expect(403)).body.code).toBe('own_user');
      expect((await ownRefusals()) - ownBefore).toBe(1);
      expect((await resetFor(staffSession, admin.id).expect(403)).body.code).toBe('colleague_account');
      const noReason = await resetFor(admin, sam.id, {}).expect(400);
      expect(new Set(noReason.body.details.map((d: { field: string }) => d.field))).toEqual(
        new Set(['reason']),
      );
      await resetFor(admin, 'not-a-uuid').expect(400);
      expect(resetMails(admin.email)).toEqual([]);
      // A colleague whose address is not verified is sent nothing.
      const newcomer = await promote(get(), admin, await newCustomer(get(), 'reset'));
      expect((await resetFor(admin, newcomer.id).expect(409)).body.code).toBe('email_not_verified');

      // A link whose sender is disabled before it is used no longer works, also once they are enabled again.
      const rogue = await promote(get(), admin, await customer(), 'admin');
      const pat = await promote(get(), admin, await customer());
      await resetFor(rogue, pat.id).expect(202);
      const patMail = await eventually(async () => resetMails(pat.email)[0], 10_000, "pat's reset e-mail");
      expect(patMail.text).toMatch(/^Our staff asked us to send you this e-mail/);
      await http()
        .patch(`/admin/users/${rogue.id}`)
        .set(bearer(admin.token))
        .send({ disabled: true, reason: 'Test: rogue admin stopped' })
        .expect(200);
      await http()
        .patch(`/admin/users/${rogue.id}`)
        .set(bearer(admin.token))
        .send({ disabled: false, reason: 'Test: rogue admin restored' })
        .expect(200);
      const dead = await confirm(TOKEN_IN_MAIL.exec(patMail.text)![1]).expect(422);
      expect(dead.body.code).toBe('token_invalid');
      await login(pat.email, PASSWORD).expect(200);
    });

    it('lets a staff member have a reset e-mail sent to a customer who cannot ask (an unverified address), audited; a customer cannot', async () => {
      const admin = await firstAdmin(get());
      const clerk = await promote(get(), admin, await customer());
      const una = await newCustomer(get(), 'reset');
      await resetFor(una, clerk.id).expect(403);
      // Strangers' self-service asks for the address do not hold staff up (their caps are their own).
      await ask(una.email).expect(202);
      await resetFor(clerk, una.id, { reason: 'Test: locked out, identified by phone' }).expect(202);
      const mail = await eventually(async () => resetMails(una.email)[0], 10_000, 'the reset e-mail');
      // The customer is told at once, outside the mailbox the link went to.
      const told = await eventually(
        async () => {
          const list = await http().get('/notifications').set(bearer(una.token)).expect(200);
          return (list.body.data as { type: string; category: string }[]).find(
            (n) => n.type === 'user.password_reset_requested',
          );
        },
        15_000,
        'the reset-requested notice',
      );
      expect(told).toMatchObject({ category: 'security', title: 'Password reset e-mail sent' });
      const res = await confirm(TOKEN_IN_MAIL.exec(mail.text)![1]).expect(200);
      expect(res.body.reset_hold_until).toEqual(expect.any(String));
      await login(una.email, NEW_PASSWORD).expect(200);
    });

    it("lets the owner's own device ask when strangers have used up the address's e-mails of the day", async () => {
      const lee = await customer();
      const device = (await login(lee.email, PASSWORD).expect(200)).body.device_token as string;
      // Strangers' ten asks of the day, as the counter holds them.
      const t = get().t;
      await (
        await t.redis()
      ).set(
        `${t.env.REDIS_KEY_PREFIX}ratelimit:password-reset-email-day:${addressKey(lee.email)}`,
        '10',
        'EX',
        86400,
      );
      expect((await ask(lee.email).expect(429)).body.code).toBe('rate_limited');
      // Another account's device token is no way round it.
      const other = await customer();
      const foreign = (await login(other.email, PASSWORD).expect(200)).body.device_token as string;
      await http()
        .post('/auth/password/reset')
        .set('X-Forwarded-For', clientIp())
        .send({ email: lee.email, device_token: foreign })
        .expect(429);
      await http()
        .post('/auth/password/reset')
        .set('X-Forwarded-For', clientIp())
        .send({ email: lee.email, device_token: device })
        .expect(202);
      const mail = await eventually(async () => resetMails(lee.email)[0], 10_000, 'the reset e-mail');
      await confirm(TOKEN_IN_MAIL.exec(mail.text)![1]).expect(200);
      // A malformed device token is refused, naming it.
      const malformed = await http()
        .post('/auth/password/reset')
        .set('X-Forwarded-For', clientIp())
        .send({ email: lee.email, device_token: 'not-a-device-token' })
        .expect(400);
      expect(malformed.body.details).toEqual([expect.objectContaining({ field: 'device_token' })]);
    });

    it('keeps the token out of logs, Redis (its digest only), events and notifications', async () => {
      const jay: Actor = await customer();
      const token = await mailedToken(jay);
      const secret = token.split('.')[1];
      const t = get().t;
      const redis = await t.redis();
      // While it waits: its SHA-256, not the token.
      const stored = await redis.hgetall(`${t.env.REDIS_KEY_PREFIX}auth:password-reset:${jay.id}`);
      expect(stored.token).toBe(createHash('sha256').update(secret).digest('hex'));
      expect(JSON.stringify(stored)).not.toContain(secret);
      const res = await confirm(token).expect(200);
      await eventually(
        async () => {
          const list = await http().get('/notifications').set(bearer(res.body.access_token)).expect(200);
          return (list.body.data as unknown[]).length ? true : undefined;
        },
        15_000,
        'the notice',
      );
      expect(logs()).toContain(jay.id);
      expect(logs()).not.toContain(secret);
      const keys = await redis.keys(`${t.env.REDIS_KEY_PREFIX}*`);
      for (const key of keys) {
        const type = await redis.type(key);
        const value =
          type === 'string'
            ? await redis.get(key)
            : type === 'hash'
              ? JSON.stringify(await redis.hgetall(key))
              : '';
        expect(value ?? '').not.toContain(secret);
      }
      const db = await t.db();
      try {
        for (const schema of ['auth', 'users', 'notifications']) {
          const { rows } = await db.query(
            `SELECT count(*)::int AS n FROM ${schema}.outbox WHERE payload::text LIKE $1`,
            [`%${secret}%`],
          );
          expect(rows[0].n).toBe(0);
        }
        const { rows } = await db.query(
          `SELECT count(*)::int AS n FROM notifications.notifications WHERE body LIKE $1 OR data::text LIKE $1`,
          [`%${secret}%`],
        );
        expect(rows[0].n).toBe(0);
      } finally {
        await db.end();
      }
    });

    it("holds the account for a day after a reset: no new payee, no transfer to another's account, no card number, no new phone or address, no re-verified name, no notice switched off; its own accounts, existing payees and a transfer decided before it still work, every later session is held, and the hold ends", async () => {
      const admin = await firstAdmin(get());
      const frank = await verifiedCustomer(get(), admin, 'reset.hold');
      await verifyEmail(get(), () => receivers().mails, frank);
      const grace = await verifiedCustomer(get(), admin, 'reset.hold');
      const [f1, f2, g] = [
        await openAccount(get(), frank),
        await openAccount(get(), frank),
        await openAccount(get(), grace),
      ];
      await deposit(get(), admin, f1, 10_000);
      const sortCode = (await http().get(`/accounts/${g.id}`).set(bearer(grace.token)).expect(200)).body
        .sort_code as string;
      const toGrace = { name: 'Grace', sort_code: sortCode, account_number: g.account_number };
      const landlord = await http().post('/payees').set(bearer(frank.token)).send(toGrace).expect(201);
      const card = await issueCard(get(), frank, f1);
      // A login before any reset is not held; a transfer to Grace decided then, by number.
      expect((await login(frank.email, PASSWORD).expect(200)).body.reset_hold_until).toBeUndefined();
      const decidedKey = randomUUID();
      const decidedBody = {
        from_account_id: f1.id,
        to_account_number: g.account_number,
        amount: 500,
        currency: 'GBP',
      };
      const decided = await http()
        .post('/transactions')
        .set(bearer(frank.token))
        .set('Idempotency-Key', decidedKey)
        .send(decidedBody)
        .expect(201);

      const reset = await confirm(await mailedToken(frank)).expect(200);
      const until = Date.parse(reset.body.reset_hold_until as string);
      expect(Math.abs(until - (Date.now() + 24 * 3_600_000))).toBeLessThan(5 * 60_000);
      const session = reset.body.access_token as string;
      const held = (res: request.Response, field?: string) => {
        expect(res.status).toBe(403);
        expect(res.body).toMatchObject({ code: 'recently_reset' });
        expect(res.body.message).toContain(reset.body.reset_hold_until);
        expect(res.body.details).toEqual(field ? [expect.objectContaining({ field })] : []);
      };
      const pay = (token: string, to: Record<string, string>, amount = 1_000) =>
        http()
          .post('/transactions')
          .set(bearer(token))
          .set('Idempotency-Key', randomUUID())
          .send({ from_account_id: f1.id, amount, currency: 'GBP', ...to });

      held(
        await http()
          .post('/payees')
          .set(bearer(session))
          .send({ ...toGrace, name: 'Someone new' }),
      );
      held(await pay(session, { to_account_id: g.id }), 'to_account_id');
      held(await pay(session, { to_account_number: g.account_number }), 'to_account_number');
      // The transfer decided before the reset, retried with its key by the held session, replays its
      // answer (it moves nothing again); the same body under a new key is held.
      const replayed = await http()
        .post('/transactions')
        .set(bearer(session))
        .set('Idempotency-Key', decidedKey)
        .send(decidedBody)
        .expect(201);
      expect([replayed.body.id, replayed.headers['idempotent-replayed']]).toEqual([decided.body.id, 'true']);
      held(
        await http()
          .post('/transactions')
          .set(bearer(session))
          .set('Idempotency-Key', randomUUID())
          .send(decidedBody),
        'to_account_number',
      );
      held(await http().post('/cards').set(bearer(session)).send({ account_id: f1.id, type: 'virtual' }));
      held(
        await http().post(`/cards/${card.id}/reveal`).set(bearer(session)).send({ password: NEW_PASSWORD }),
      );
      const profile = (body: Record<string, unknown>) =>
        http().patch('/users/me').set(bearer(session)).send(body);
      held(await profile({ phone: '+447700900123' }), 'phone');
      held(
        await profile({
          address: { line1: '1 Elsewhere Road', city: 'London', postcode: 'E1 6AN', country: 'GB' },
        }),
        'address',
      );
      // A new verified name (the one payees see) would be a re-verification: held, nothing submitted.
      const reverify = (token: string) =>
        http().post('/users/me/kyc').set(bearer(token)).send({
          document_type: 'passport',
          document_number: newPassportNumber(),
          country: 'GB',
          date_of_birth: '1990-04-12',
          full_name: 'Someone Else',
        });
      held(await reverify(session));
      const kyc = await http().get('/users/me/kyc').set(bearer(session)).expect(200);
      expect(kyc.body).toMatchObject({ status: 'verified' });
      expect(kyc.body.full_name).not.toBe('Someone Else');
      const prefs = (body: Record<string, unknown>) =>
        http().put('/notifications/preferences').set(bearer(session)).send(body);
      await prefs({ security: { sms: true }, transactions: { sms: true } }).expect(200);
      held(await prefs({ security: { sms: false } }), 'security.sms');
      held(await prefs({ transactions: { push: true, email: false } }), 'transactions.email');
      await prefs({ transactions: { push: true } }).expect(200);
      // What is off already may be sent as off (a client saving the whole set): nothing is switched off.
      await prefs({ marketing: { email: false, sms: false }, account: { sms: false } }).expect(200);
      const kept = await http().get('/notifications/preferences').set(bearer(session)).expect(200);
      expect(kept.body).toMatchObject({
        security: { sms: true },
        transactions: { email: true, sms: true, push: true },
      });
      // Nor is anything written off (no row says off), which is what keeps a channel another request
      // switches on between the check and the write on: there is no write of it to race.
      const written = await get().t.db();
      try {
        const { rows } = await written.query(
          `SELECT category, channel FROM notifications.preferences WHERE user_id = $1 AND NOT enabled`,
          [frank.id],
        );
        expect(rows).toEqual([]);
      } finally {
        await written.end();
      }
      expect(await balanceOf(get(), { ...frank, token: session }, f1)).toBe(9_500);
      expect(await balanceOf(get(), grace, g)).toBe(500);
      // Between the customer's own accounts money moves, and an order to a payee saved before the reset
      // is taken.
      await pay(session, { to_account_id: f2.id }, 2_500).expect(201);
      await http()
        .post('/scheduled-payments')
        .set(bearer(session))
        .set('Idempotency-Key', randomUUID())
        .send({
          from_account_id: f1.id,
          payee_id: landlord.body.id,
          amount: 100,
          currency: 'GBP',
          reference: 'RENT',
          pay_on: new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10),
        })
        .expect(201);
      // A refreshed session, and a new login with the new password, are held as well.
      const refreshed = await http()
        .post('/auth/refresh')
        .send({ refresh_token: reset.body.refresh_token })
        .expect(200);
      expect(refreshed.body.reset_hold_until).toBe(reset.body.reset_hold_until);
      held(await pay(refreshed.body.access_token as string, { to_account_id: g.id }), 'to_account_id');
      const later = await login(frank.email, NEW_PASSWORD).expect(200);
      expect(later.body.reset_hold_until).toBe(reset.body.reset_hold_until);
      held(await pay(later.body.access_token as string, { to_account_id: g.id }), 'to_account_id');
      // The owner is told what is held, and until when.
      const notice = await eventually(
        async () => {
          const list = await http().get('/notifications').set(bearer(session)).expect(200);
          return (list.body.data as { type: string; body: string }[]).find(
            (n) => n.type === 'user.password_changed',
          );
        },
        15_000,
        'the password reset notice',
      );
      expect(notice.body).toContain(
        "you cannot add payees, pay accounts other than your own or your existing payees', get a new card or see your cards' numbers, change your phone number or address or your verified name or date of birth, or switch notices off",
      );
      // A day on (the reset moved back 25 hours), a new login is not held.
      const db = await get().t.db();
      try {
        await db.query(
          `UPDATE auth.credentials SET password_reset_at = password_reset_at - interval '25 hours' WHERE user_id = $1`,
          [frank.id],
        );
      } finally {
        await db.end();
      }
      const free = await login(frank.email, NEW_PASSWORD).expect(200);
      expect(free.body.reset_hold_until).toBeUndefined();
      await http()
        .patch('/users/me')
        .set(bearer(free.body.access_token as string))
        .send({ phone: '+447700900123' })
        .expect(200);
      await pay(free.body.access_token as string, { to_account_id: g.id }).expect(201);
      expect(await balanceOf(get(), grace, g)).toBe(1_500);
      expect((await reverify(free.body.access_token as string)).body).toMatchObject({
        status: 'pending',
        full_name: 'Someone Else',
      });
    });

    it('limits asks per client address: past 30 an hour it is 429', async () => {
      const ip = clientIp();
      const answers = [];
      for (let i = 0; i < 31; i++) {
        answers.push((await ask(`many.${Date.now()}.${i}.${randomInt(1e9)}@example.com`, ip)).status);
      }
      expect(answers.slice(0, 30)).toEqual(Array(30).fill(202));
      expect(answers[30]).toBe(429);
    });
  });
}
