/**
 * Verifying the account's e-mail address, run unchanged against both topologies: a six-digit code e-mailed
 * through the suite's SMTP receiver and typed back by the signed-in user; its tries, its replacement, who
 * can use it, and where it never appears. Password resets go only to verified addresses
 * (password-reset.scenarios.ts).
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { bearer, newCustomer } from '../support/actors';
import { emailCodes, mailedEmailCode } from '../support/email';
import type { Receivers } from '../support/receivers';
import { eventually, logsThrough } from '../support/test-env';
import type { Running } from '../support/topologies';

export function emailVerificationScenarios(get: () => Running, receivers: () => Receivers) {
  describe('e-mail address verification', () => {
    const http = () => request(get().baseUrl);
    const mails = () => receivers().mails;
    const status = (token: string) => http().get('/auth/email').set(bearer(token));
    const confirm = (token: string, code: unknown) =>
      http().post('/auth/email/verification/confirm').set(bearer(token)).send({ code });
    const other = (code: string) => (code === '000000' ? '000001' : '000000');
    /** The minute between two codes lifted, as a minute passing would (the day's cap still counts). */
    const liftMinute = async (userId: string) =>
      (await get().t.redis()).del(`${get().t.env.REDIS_KEY_PREFIX}ratelimit:email-code:${userId}`);

    it('e-mails a code that the signed-in owner types back: the address is then verified, and only its salted hash was kept', async () => {
      const alice = await newCustomer(get(), 'email');
      expect((await status(alice.token).expect(200)).body).toEqual({
        email: alice.email,
        verified: false,
        verified_at: null,
      });
      const sent = await http().post('/auth/email/verification').set(bearer(alice.token)).expect(202);
      expect(sent.body).toEqual({ email: alice.email, expires_in: 1800, resend_after: 60 });
      const code = await eventually(async () => emailCodes(mails(), alice.email)[0], 10_000, 'the code');
      expect(code).toMatch(/^\d{6}$/);
      const kept = await (
        await get().t.redis()
      ).hgetall(`${get().t.env.REDIS_KEY_PREFIX}auth:email-code:${alice.id}`);
      expect(Object.keys(kept).sort()).toEqual(['hash', 'salt', 'target', 'tries']);
      expect(JSON.stringify(kept)).not.toContain(code);

      const wrong = await confirm(alice.token, other(code)).expect(422);
      expect(wrong.body).toMatchObject({
        code: 'code_invalid',
        details: [{ field: 'code', message: 'wrong code: 4 tries left' }],
      });
      const right = await confirm(alice.token, code).expect(200);
      expect(right.body).toMatchObject({ email: alice.email, verified: true });
      expect(Date.parse(right.body.verified_at)).toBeGreaterThan(Date.now() - 60_000);
      expect((await status(alice.token).expect(200)).body).toEqual(right.body);
      // Used: once verified, there is nothing more to ask for or confirm.
      expect((await confirm(alice.token, code).expect(422)).body.code).toBe('code_expired');
      await liftMinute(alice.id);
      const again = await http().post('/auth/email/verification').set(bearer(alice.token)).expect(409);
      expect(again.body.code).toBe('email_already_verified');
    });

    it('asks one code a minute, and a new code replaces the one before', async () => {
      const bob = await newCustomer(get(), 'email');
      const first = await mailedEmailCode(get(), mails, bob);
      const soon = await http().post('/auth/email/verification').set(bearer(bob.token)).expect(429);
      expect(soon.body.code).toBe('code_sent_recently');
      expect(Number(soon.headers['retry-after'])).toBeGreaterThan(0);
      await liftMinute(bob.id);
      const second = await mailedEmailCode(get(), mails, bob);
      if (second !== first)
        expect((await confirm(bob.token, first).expect(422)).body.code).toBe('code_invalid');
      await confirm(bob.token, second).expect(200);
    });

    it('voids a code after five wrong tries, also when twenty are sent at once', async () => {
      const carol = await newCustomer(get(), 'email');
      const code = await mailedEmailCode(get(), mails, carol);
      const answers = await Promise.all(Array.from({ length: 20 }, () => confirm(carol.token, other(code))));
      const codes = answers.map((a) => a.body.code as string);
      expect(codes.filter((c) => c === 'code_invalid')).toHaveLength(5);
      expect(codes.filter((c) => c === 'code_expired')).toHaveLength(15);
      expect((await confirm(carol.token, code).expect(422)).body.code).toBe('code_expired');
      expect((await status(carol.token).expect(200)).body.verified).toBe(false);
    });

    it('verifies once when the right code is sent ten times at once: notifications are told once', async () => {
      const hal = await newCustomer(get(), 'email');
      const code = await mailedEmailCode(get(), mails, hal);
      const answers = await Promise.all(Array.from({ length: 10 }, () => confirm(hal.token, code)));
      const outcomes = answers.map((a) => (a.status === 200 ? 'verified' : (a.body.code as string)));
      expect(outcomes).toContain('verified');
      expect(outcomes.filter((o) => o !== 'verified' && o !== 'code_expired')).toEqual([]);
      const db = await get().t.db();
      try {
        const { rows } = await db.query(
          `SELECT count(*)::int AS n FROM auth.outbox WHERE name = 'user.email_verified' AND payload->>'user_id' = $1`,
          [hal.id],
        );
        expect(rows[0].n).toBe(1);
      } finally {
        await db.end();
      }
    });

    it("cannot be used without the owner's session: not without a token, not from another account", async () => {
      const dave = await newCustomer(get(), 'email');
      const erin = await newCustomer(get(), 'email');
      const code = await mailedEmailCode(get(), mails, dave);
      await http().post('/auth/email/verification/confirm').send({ code }).expect(401);
      expect((await confirm(erin.token, code).expect(422)).body.code).toBe('code_expired');
      expect((await status(erin.token).expect(200)).body.verified).toBe(false);
      await confirm(dave.token, code).expect(200);
    });

    it('refuses a code that is not six digits with 400 naming code, and spends no try', async () => {
      const fay = await newCustomer(get(), 'email');
      const code = await mailedEmailCode(get(), mails, fay);
      for (const bad of ['12345', '1234567', 'abcdef', 123456, null, undefined, ['123456'], ' 123456']) {
        const res = await confirm(fay.token, bad).expect(400);
        expect(res.body.details).toEqual([expect.objectContaining({ field: 'code' })]);
      }
      await confirm(fay.token, code).expect(200);
    });

    it('keeps the code out of the logs, the outbox and the notifications', async () => {
      const gus = await newCustomer(get(), 'email');
      const code = await mailedEmailCode(get(), mails, gus);
      await confirm(gus.token, code).expect(200);
      const marker = `email-code-${randomUUID()}`;
      await status(gus.token).set('X-Request-Id', marker).expect(200);
      const logs = await logsThrough(get().t, marker);
      expect(logs).toContain('e-mail address verified');
      expect(logs).not.toContain(`"${code}"`);
      expect(logs).not.toContain(`code is ${code}`);
      const db = await get().t.db();
      try {
        for (const [table, column] of [
          ['auth.outbox', 'payload::text'],
          ['notifications.notifications', 'body'],
        ]) {
          const { rows } = await db.query(`SELECT count(*)::int AS n FROM ${table} WHERE ${column} LIKE $1`, [
            `%Protobank code is ${code}%`,
          ]);
          expect(rows[0].n).toBe(0);
        }
      } finally {
        await db.end();
      }
    });
  });
}
