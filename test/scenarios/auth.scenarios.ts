/**
 * Sessions and access tokens, run unchanged against both topologies: login, equal failures, local token
 * verification (expired, tampered, foreign-key tokens refused), refresh rotation with reuse detection,
 * logout, logout-all, the session list and the published key.
 */
import { keySchedule, publicJwk, readKeysDir, signAccessToken, type AccessClaims } from '@protobank/platform';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomInt, randomUUID } from 'node:crypto';
import { readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from 'pg';
import request from 'supertest';
import { REVOKE_ALL } from '../../libs/auth/src/sessions/session.store';
import { lockWaiters } from '../support/lock-waits';
import { eventually } from '../support/test-env';
import type { Running } from '../support/topologies';

const PASSWORD = 'correct horse battery staple';
let seq = 0;

function headerOf(token: string): { alg?: string; typ?: string; kid?: string } {
  return JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString('utf8')) as Record<string, string>;
}

function decode(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
}

export function authScenarios(get: () => Running) {
  const http = () => request(get().baseUrl);

  async function newUser(name = 'sam') {
    const email = `${name}.${Date.now()}.${seq++}@example.com`;
    const res = await http()
      .post('/auth/register')
      .send({ email, password: PASSWORD, full_name: 'Sam Hill' })
      .expect(201);
    return { email, id: res.body.id as string };
  }
  async function login(email: string, userAgent = 'e2e') {
    const res = await http()
      .post('/auth/login')
      .set('User-Agent', userAgent)
      .send({ email, password: PASSWORD })
      .expect(200);
    return res.body as {
      access_token: string;
      refresh_token: string;
      token_type: string;
      expires_in: number;
      device_token: string;
    };
  }
  // Each test speaks for its own client IP (X-Forwarded-For from a trusted proxy: the edge, or the
  // loopback test client itself), so IP limits of one test do not leak into another.
  // Distinct by construction: a time-based address once gave two tests the same IP (a flaky 429).
  let ipSeq = randomInt(0, 1 << 20);
  const clientIp = () => {
    const n = ipSeq++;
    return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
  };
  /** A login from client `ip`, with a device token when given. */
  const attempt = (ip: string, email: string, password: string, deviceToken?: string) =>
    http()
      .post('/auth/login')
      .set('X-Forwarded-For', ip)
      .send({ email, password, ...(deviceToken ? { device_token: deviceToken } : {}) });
  /** The notices of `type` the holder of `accessToken` has, waited for until there are `count`. */
  const noticesOf = (accessToken: string, type: string, count = 1) =>
    eventually(
      async () => {
        const list = await http()
          .get('/notifications')
          .set('Authorization', `Bearer ${accessToken}`)
          .expect(200);
        const found = (list.body.data as { type: string; data: Record<string, unknown> }[]).filter(
          (n) => n.type === type,
        );
        return found.length >= count ? found : undefined;
      },
      15_000,
      `the ${type} notice`,
    );
  /** The `name` events auth wrote for `userId` (its outbox), with their scope: an exact count. */
  let outboxDb: Client | undefined;
  const authEvents = async (userId: string, name: string) => {
    outboxDb ??= await get().t.db();
    const { rows } = await outboxDb.query(
      `SELECT payload->>'scope' AS scope FROM auth.outbox
        WHERE name = $1 AND payload->>'user_id' = $2 ORDER BY created_at, id`,
      [name, userId],
    );
    return rows as { scope: string | null }[];
  };
  /** The key auth signs with now, read from the suite's key directory as auth reads it. */
  const keysOfSuite = () => {
    const { signing } = keySchedule(readKeysDir(get().t.env.JWT_KEYS_DIR), Date.now(), {
      accessTokenTtlSeconds: 900,
      refreshSeconds: Number(get().t.env.JWT_KEYS_REFRESH_SECONDS),
    });
    return { privateKey: signing.privateKey, kid: signing.jwk.kid };
  };

  describe('password policy', () => {
    it('refuses a common password and one containing the e-mail with 400 naming the field', async () => {
      const email = `policy.${Date.now()}.${seq++}@example.com`;
      for (const password of ['123qweasdzxc', `${email}!!`]) {
        const res = await http()
          .post('/auth/register')
          .send({ email, password, full_name: 'Pol' })
          .expect(400);
        expect(res.body.code).toBe('weak_password');
        expect(res.body.details[0].field).toBe('password');
      }
    });
  });

  describe('password spelling', () => {
    it('takes a password in any Unicode spelling of it (NFKC): registered with "é" as one code point, it logs in typed as e and an accent', async () => {
      const email = `spelling.${Date.now()}.${seq++}@example.com`;
      const composed = 'Crème brûlée à 2026';
      await http().post('/auth/register').send({ email, password: composed, full_name: 'Spel' }).expect(201);
      for (const typed of [composed, composed.normalize('NFD'), 'Crème brûlée à ２０２６']) {
        await http().post('/auth/login').send({ email, password: typed }).expect(200);
      }
      await http().post('/auth/login').send({ email, password: 'Creme brulee a 2026' }).expect(401);
    });
  });

  describe('login and access tokens', () => {
    it('logs in with a 15-minute ES256 access token naming its key, carrying sub, role, sid, iss and aud', async () => {
      const user = await newUser();
      const tokens = await login(user.email);
      expect(Object.keys(tokens).sort()).toEqual([
        'access_token',
        'device_token',
        'expires_in',
        'refresh_token',
        'token_type',
      ]);
      expect(tokens).toMatchObject({ token_type: 'Bearer', expires_in: 900 });
      expect(headerOf(tokens.access_token)).toEqual({ alg: 'ES256', typ: 'JWT', kid: keysOfSuite().kid });
      const claims = decode(tokens.access_token);
      expect(claims).toMatchObject({
        sub: user.id,
        role: 'customer',
        iss: 'protobank',
        aud: 'protobank-api',
      });
      expect((claims.exp as number) - (claims.iat as number)).toBe(900);
      expect(typeof claims.sid).toBe('string');
      const me = await http()
        .get('/users/me')
        .set('Authorization', `Bearer ${tokens.access_token}`)
        .expect(200);
      expect(me.body).toMatchObject({ id: user.id, email: user.email, role: 'customer' });
    });

    it('answers a wrong password and an unknown e-mail with the same 401', async () => {
      const user = await newUser();
      const wrong = await http()
        .post('/auth/login')
        .send({ email: user.email, password: 'not the password' })
        .expect(401);
      const unknown = await http()
        .post('/auth/login')
        .send({ email: `nobody.${seq++}@example.com`, password: PASSWORD })
        .expect(401);
      const strip = (b: Record<string, unknown>) => ({ ...b, request_id: undefined });
      expect(strip(wrong.body)).toEqual(strip(unknown.body));
      expect(wrong.body.code).toBe('invalid_credentials');
    });

    it('rejects a missing, tampered, expired or foreign-signed access token with 401', async () => {
      const user = await newUser();
      const tokens = await login(user.email);
      const none = await http().get('/users/me').expect(401);
      expect(none.body.code).toBe('unauthorized');
      expect(none.headers['www-authenticate']).toBe('Bearer');
      // The scheme's name in any case (RFC 9110): the token is what counts.
      for (const scheme of ['bearer', 'BEARER', 'bEaReR']) {
        await http().get('/users/me').set('Authorization', `${scheme} ${tokens.access_token}`).expect(200);
      }
      for (const header of [
        `Basic ${tokens.access_token}`,
        `Bearer  ${tokens.access_token}`,
        tokens.access_token,
      ]) {
        const refused = await http().get('/users/me').set('Authorization', header).expect(401);
        expect(refused.body.code).toBe('unauthorized');
      }

      const [h, p, s] = tokens.access_token.split('.');
      const claims = decode(tokens.access_token);
      const forged = Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url');
      const tampered = await http()
        .get('/users/me')
        .set('Authorization', `Bearer ${h}.${forged}.${s}`)
        .expect(401);
      expect(tampered.body.code).toBe('invalid_token');
      expect(p).not.toBe(forged);

      const expiredToken = signAccessToken(
        { ...(claims as unknown as AccessClaims), iat: 1_700_000_000, exp: 1_700_000_900 },
        keysOfSuite(),
      );
      const expired = await http()
        .get('/users/me')
        .set('Authorization', `Bearer ${expiredToken}`)
        .expect(401);
      expect(expired.body.code).toBe('token_expired');

      // Signed by a key auth never had: refused, whether it names its own key id or ours.
      const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      for (const kid of [publicJwk(other.publicKey).kid, keysOfSuite().kid]) {
        const foreign = signAccessToken(claims as never, { privateKey: other.privateKey, kid });
        const refused = await http().get('/users/me').set('Authorization', `Bearer ${foreign}`).expect(401);
        expect(refused.body.code).toBe('invalid_token');
      }
    });

    it("refuses a token signed with the real key but naming a role its session does not have (a leaked key's forgery)", async () => {
      const user = await newUser();
      const tokens = await login(user.email);
      const claims = decode(tokens.access_token) as unknown as AccessClaims;
      // The same user, their own live session, a valid signature: only the role is raised.
      const raised = signAccessToken({ ...claims, role: 'admin' }, keysOfSuite());
      for (const path of ['/admin/audit', '/users/me']) {
        const res = await http().get(path).set('Authorization', `Bearer ${raised}`).expect(401);
        expect(res.body.code).toBe('session_ended');
      }
      // The session's own token still works.
      await http().get('/users/me').set('Authorization', `Bearer ${tokens.access_token}`).expect(200);
    });

    it('publishes the verification key as JWKS', async () => {
      const res = await http().get('/auth/.well-known/jwks.json').expect(200);
      const { jwk } = readKeysDir(get().t.env.JWT_KEYS_DIR).find((k) => k.jwk.kid === keysOfSuite().kid)!;
      expect(res.body.keys).toContainEqual(jwk);
      expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    });
  });

  describe('brute force', () => {
    it('locks an e-mail after 5 failed logins: 429 with Retry-After even with the right password', async () => {
      const { email } = await newUser('lock');
      const ip = clientIp();
      for (let i = 0; i < 5; i++) {
        await http()
          .post('/auth/login')
          .set('X-Forwarded-For', ip)
          .send({ email, password: 'wrong password' })
          .expect(401);
      }
      const locked = await http()
        .post('/auth/login')
        .set('X-Forwarded-For', ip)
        .send({ email, password: PASSWORD })
        .expect(429);
      expect(locked.body.code).toBe('account_locked');
      expect(Number(locked.headers['retry-after'])).toBeGreaterThan(800);
      expect(Number(locked.headers['retry-after'])).toBeLessThanOrEqual(900);
      // Another account from the same client is unaffected.
      const other = await newUser('free');
      await http()
        .post('/auth/login')
        .set('X-Forwarded-For', ip)
        .send({ email: other.email, password: PASSWORD })
        .expect(200);
    });

    const statuses = async (n: number, send: () => request.Test) => {
      const seen: string[] = [];
      for (let i = 0; i < n; i++) {
        const res = await send();
        seen.push(`${res.status} ${res.body.code ?? ''}`.trim());
      }
      return seen;
    };
    const FIVE_FAILURES = Array(5).fill('401 invalid_credentials');

    it("does not let a stranger's failures lock the owner out of a device the account knows; the stranger stays locked", async () => {
      const owner = await newUser('owner');
      const home = clientIp();
      const first = await attempt(home, owner.email, PASSWORD).expect(200);
      const device = first.body.device_token as string;
      expect(device).toMatch(/^[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$/);
      // A stranger (from elsewhere, without the device token) guesses: five failures, then locked, even
      // with the right password, and presenting a device token of another account does not help.
      const attacker = clientIp();
      expect(await statuses(5, () => attempt(attacker, owner.email, 'wrong password'))).toEqual(
        FIVE_FAILURES,
      );
      const mallory = await newUser('mallory');
      const malloryDevice = (await attempt(attacker, mallory.email, PASSWORD).expect(200)).body
        .device_token as string;
      for (const res of [
        await attempt(attacker, owner.email, 'wrong password'),
        await attempt(attacker, owner.email, PASSWORD),
        await attempt(attacker, owner.email, PASSWORD, malloryDevice),
      ]) {
        expect(res.status).toBe(429);
        expect(res.body.code).toBe('account_locked');
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(800);
      }
      // The owner, from the device the account knows (from home or anywhere else), logs in as usual,
      // and keeps the same device token.
      const again = await attempt(home, owner.email, PASSWORD, device).expect(200);
      expect(again.body.device_token).toBe(device);
      await http().get('/users/me').set('Authorization', `Bearer ${again.body.access_token}`).expect(200);
      // The owner is told, once, as a security notice (the three refusals since locked nothing new).
      expect(await noticesOf(again.body.access_token, 'user.locked_out')).toEqual([
        expect.objectContaining({
          category: 'security',
          title: 'Sign-in paused',
          data: { scope: 'login', lock_seconds: 900 },
        }),
      ]);
      expect(await authEvents(owner.id, 'user.locked_out')).toEqual([{ scope: 'login' }]);
      await attempt(clientIp(), owner.email, PASSWORD, device).expect(200);
      // The limit that remains: the owner on a new device is locked out like the stranger until it runs out.
      expect((await attempt(home, owner.email, PASSWORD).expect(429)).body.code).toBe('account_locked');
      // And the stranger is still locked: the owner's logins reset nothing of theirs.
      expect((await attempt(attacker, owner.email, PASSWORD).expect(429)).body.code).toBe('account_locked');
    });

    it('tells the owner of a sign-in from a new device, not of the first sign-in nor of a known device, five a day at most', async () => {
      const owner = await newUser('newdevice');
      const redis = await get().t.redis();
      /** The notices auth has decided on for `owner` (told or not): each one hits this counter first. */
      const decided = async () =>
        Number(
          await redis.get(`${get().t.env.REDIS_KEY_PREFIX}ratelimit:security-notice:new-device:${owner.id}`),
        );
      const first = await attempt(clientIp(), owner.email, PASSWORD).expect(200);
      const device = first.body.device_token as string;
      // A known device, and a second new one within a minute of the first sign-in (a retry, a second tab
      // racing it), tell nothing (whether a login is told is decided before it is answered).
      await attempt(clientIp(), owner.email, PASSWORD, device).expect(200);
      await attempt(clientIp(), owner.email, PASSWORD).expect(200);
      // As if the account had signed in first two minutes ago.
      const db = await get().t.db();
      await db.query(
        `UPDATE auth.credentials SET first_signed_in_at = now() - interval '2 minutes' WHERE user_id = $1`,
        [owner.id],
      );
      // A wrong password, and another account's device token, are a new device only once in.
      const other = await newUser('otherdevice');
      const othersDevice = (await attempt(clientIp(), other.email, PASSWORD).expect(200)).body
        .device_token as string;
      await attempt(clientIp(), owner.email, 'wrong password').expect(401);
      await attempt(clientIp(), owner.email, PASSWORD, device).expect(200);
      expect(await decided()).toBe(0);
      const fresh = await attempt(clientIp(), owner.email, PASSWORD, othersDevice).expect(200);
      expect(fresh.body.device_token).not.toBe(othersDevice);
      const notices = await noticesOf(first.body.access_token, 'user.new_device_sign_in');
      expect(notices).toEqual([
        expect.objectContaining({
          category: 'security',
          title: 'New sign-in to your account',
          body: "Your account was signed in to from a device we didn't recognise. If this wasn't you, change your password and log out on all devices at once.",
        }),
      ]);
      expect(await authEvents(owner.id, 'user.new_device_sign_in')).toHaveLength(1);
      // Six more new devices: seven decided, five told (the decisions come after each answer).
      for (let i = 0; i < 6; i++) await attempt(clientIp(), owner.email, PASSWORD).expect(200);
      await eventually(async () => ((await decided()) === 7 ? true : undefined), 10_000, 'seven decisions');
      await eventually(
        async () => ((await authEvents(owner.id, 'user.new_device_sign_in')).length >= 5 ? true : undefined),
        10_000,
        'five new-device events',
      );
      expect(await authEvents(owner.id, 'user.new_device_sign_in')).toHaveLength(5);
    });

    it("locks a known device's own token after its failures, and nothing else", async () => {
      const owner = await newUser('device');
      const phone = (await attempt(clientIp(), owner.email, PASSWORD).expect(200)).body
        .device_token as string;
      const laptop = (await attempt(clientIp(), owner.email, PASSWORD).expect(200)).body
        .device_token as string;
      expect(laptop).not.toBe(phone);
      const ip = clientIp();
      // Someone holding the phone's token guesses: its token locks, even for the right password.
      expect(await statuses(5, () => attempt(ip, owner.email, 'wrong password', phone))).toEqual(
        FIVE_FAILURES,
      );
      const locked = await attempt(ip, owner.email, PASSWORD, phone).expect(429);
      expect(locked.body.code).toBe('account_locked');
      // The laptop and clients without a token are not locked by the phone's failures.
      const fromLaptop = await attempt(clientIp(), owner.email, PASSWORD, laptop).expect(200);
      await attempt(clientIp(), owner.email, PASSWORD).expect(200);
      expect(await noticesOf(fromLaptop.body.access_token, 'user.locked_out')).toEqual([
        expect.objectContaining({
          title: 'Sign-in paused on a device',
          data: { scope: 'device', lock_seconds: 900 },
        }),
      ]);
      expect(await authEvents(owner.id, 'user.locked_out')).toEqual([{ scope: 'device' }]);
    });

    it('answers an unknown e-mail exactly like a known one: five failures, then locked, device token or not', async () => {
      const known = await newUser('known');
      const device = (await attempt(clientIp(), known.email, PASSWORD).expect(200)).body
        .device_token as string;
      const unknown = `ghost.${Date.now()}.${seq++}@example.com`;
      const strip = (b: Record<string, unknown>) => ({ ...b, request_id: undefined });
      const run = async (email: string) => {
        const ip = clientIp();
        const bodies: unknown[] = [];
        for (let i = 0; i < 5; i++)
          bodies.push(strip((await attempt(ip, email, 'wrong password', device)).body));
        const after = await attempt(ip, email, PASSWORD);
        return { bodies, after: `${after.status} ${after.body.code}` };
      };
      // The device token belongs to `known`: with `someone` below and with the unknown e-mail it is
      // nobody's device, so both take the e-mail's path and must look the same.
      const someone = await newUser('someone');
      expect(await run(unknown)).toEqual(await run(someone.email));
      expect((await run(`ghost2.${Date.now()}.${seq++}@example.com`)).after).toBe('429 account_locked');
    });

    it('refuses a malformed device token with 400 naming device_token', async () => {
      const res = await attempt(clientIp(), 'x@example.com', PASSWORD, 'not-a-device-token').expect(400);
      expect(res.body.details.map((d: { field: string }) => d.field)).toContain('device_token');
    });

    it('counts attempts before checking them: parallel guesses get at most 5 tries', async () => {
      const { email } = await newUser('parallel');
      const ip = clientIp();
      const results = await Promise.all(
        Array.from({ length: 12 }, () =>
          http().post('/auth/login').set('X-Forwarded-For', ip).send({ email, password: 'wrong password' }),
        ),
      );
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((st) => st === 401).length).toBeLessThanOrEqual(5);
      expect(statuses.filter((st) => st === 429).length).toBeGreaterThanOrEqual(7);
      await http()
        .post('/auth/login')
        .set('X-Forwarded-For', ip)
        .send({ email, password: PASSWORD })
        .expect(429);
    });

    it('does not lock out an owner whose app sends the right password ten times at once', async () => {
      const { email } = await newUser('eager');
      const ip = clientIp();
      const results = await Promise.all(
        Array.from({ length: 10 }, () =>
          http().post('/auth/login').set('X-Forwarded-For', ip).send({ email, password: PASSWORD }),
        ),
      );
      // Those past the five being checked are not checked (429 login_busy, retry in a second), and lock nothing.
      const seen = results.map((r) => `${r.status} ${r.body.code ?? ''}`.trim());
      expect(seen.filter((x) => x !== '200' && x !== '429 login_busy')).toEqual([]);
      expect(seen.filter((x) => x === '200').length).toBeGreaterThanOrEqual(5);
      for (const r of results.filter((x) => x.status === 429)) expect(r.headers['retry-after']).toBe('1');
      await http()
        .post('/auth/login')
        .set('X-Forwarded-For', ip)
        .send({ email, password: PASSWORD })
        .expect(200);
    });

    it('limits login attempts per client IP: past LOGIN_RATE_LIMIT_PER_MINUTE it is 429 with Retry-After', async () => {
      const limit = Number(get().t.env.LOGIN_RATE_LIMIT_PER_MINUTE);
      const ip = clientIp();
      // Every attempt counts, a malformed one too (400, no password checked): most of the window is used up
      // by those, so the whole window fits in its minute on a slow machine. The last ten are real attempts,
      // checked one at a time as auth checks passwords (20 at once could wait past auth_busy's 5 s there).
      const real = 10;
      for (let sent = 0; sent < limit - real; sent += 20) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(20, limit - real - sent) }, (_, i) =>
            http()
              .post('/auth/login')
              .set('X-Forwarded-For', ip)
              .send({ email: `probe.${sent + i}.${seq}@example.com` }),
          ),
        );
        expect(batch.map((r) => `${r.status} ${r.body.details?.[0]?.field}`)).toEqual(
          batch.map(() => '400 password'),
        );
      }
      for (let i = 0; i < real; i++) {
        await http()
          .post('/auth/login')
          .set('X-Forwarded-For', ip)
          .send({ email: `probe.real.${i}.${seq}@example.com`, password: PASSWORD })
          .expect(401);
      }
      const limited = await http()
        .post('/auth/login')
        .set('X-Forwarded-For', ip)
        .send({ email: 'x@example.com', password: PASSWORD })
        .expect(429);
      expect(limited.body.code).toBe('rate_limited');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
      // A different client is not limited.
      await http()
        .post('/auth/login')
        .set('X-Forwarded-For', clientIp())
        .send({ email: 'x@example.com', password: PASSWORD })
        .expect(401);
    });
  });

  describe('one session at a time', () => {
    it("ends one of the caller's sessions, and answers another user's session id with 404", async () => {
      const a = await newUser('owner');
      const phone = await login(a.email, 'phone');
      const laptop = await login(a.email, 'laptop');
      const b = await newUser('other');
      const intruder = await login(b.email);
      const phoneSid = decode(phone.access_token).sid as string;
      const res = await http()
        .delete(`/auth/sessions/${phoneSid}`)
        .set('Authorization', `Bearer ${intruder.access_token}`)
        .expect(404);
      expect(res.body.code).toBe('not_found');
      await http()
        .post('/auth/refresh')
        .send({ refresh_token: phone.refresh_token })
        .expect(200)
        .then((r) => (phone.refresh_token = r.body.refresh_token));
      await http()
        .delete(`/auth/sessions/${phoneSid}`)
        .set('Authorization', `Bearer ${laptop.access_token}`)
        .expect(204);
      await http().post('/auth/refresh').send({ refresh_token: phone.refresh_token }).expect(401);
      await http().post('/auth/refresh').send({ refresh_token: laptop.refresh_token }).expect(200);
      await http()
        .delete('/auth/sessions/not-a-uuid')
        .set('Authorization', `Bearer ${laptop.access_token}`)
        .expect(400);
    });
  });

  describe('refresh sessions', () => {
    it('rotates: the new refresh token works and the old one stops at once', async () => {
      const { email } = await newUser();
      const first = await login(email);
      const second = (
        await http().post('/auth/refresh').send({ refresh_token: first.refresh_token }).expect(200)
      ).body;
      expect(second.refresh_token).not.toBe(first.refresh_token);
      expect(decode(second.access_token).sid).toBe(decode(first.access_token).sid);
      const third = (
        await http().post('/auth/refresh').send({ refresh_token: second.refresh_token }).expect(200)
      ).body;
      expect(third.refresh_token).not.toBe(second.refresh_token);
    });

    const refresh = (token: string) => http().post('/auth/refresh').send({ refresh_token: token });

    it('revokes the whole session when a token rotated twice since is presented again, even within the grace window', async () => {
      const { email } = await newUser();
      const first = await login(email);
      const second = (await refresh(first.refresh_token).expect(200)).body;
      const third = (await refresh(second.refresh_token).expect(200)).body;
      const replay = await refresh(first.refresh_token).expect(401);
      expect(replay.body.code).toBe('refresh_token_reused');
      // The legitimate holder's current token died with the session, and so did its access token.
      const after = await refresh(third.refresh_token).expect(401);
      expect(after.body.code).toBe('invalid_refresh_token');
      const ended = await http()
        .get('/users/me')
        .set('Authorization', `Bearer ${third.access_token}`)
        .expect(401);
      expect(ended.body.code).toBe('session_ended');
    });

    it('gives ten refreshes of one token, forced to overlap, the same new pair (two tabs), and that pair works', async () => {
      const { email } = await newUser();
      const first = await login(email);
      // A refresh reads the session, then the user's profile (users.users), then rotates. Holding the
      // users table parks all ten between the read and the rotation; they are let go together once all
      // ten are waiting, so every one of them read the token before any rotated it.
      const holder = await get().t.db();
      const observer = await get().t.db();
      let results: request.Response[];
      try {
        await holder.query('BEGIN');
        await holder.query('LOCK TABLE users.users IN ACCESS EXCLUSIVE MODE');
        const pending = Array.from({ length: 10 }, () => refresh(first.refresh_token).then((r) => r));
        await lockWaiters(
          observer,
          10,
          '%FROM "users"."users"%',
          'ten refreshes waiting on the held users table',
        );
        await holder.query('COMMIT');
        results = await Promise.all(pending);
      } finally {
        await holder.query('ROLLBACK');
      }
      expect(results.map((r) => `${r.status} ${r.body.code ?? ''}`.trim())).toEqual(results.map(() => '200'));
      const refreshTokens = new Set(results.map((r) => r.body.refresh_token as string));
      const accessTokens = new Set(results.map((r) => r.body.access_token as string));
      expect(refreshTokens.size).toBe(1);
      expect(accessTokens.size).toBe(1);
      const [next] = results.map((r) => r.body as { access_token: string; refresh_token: string });
      expect(next.refresh_token).not.toBe(first.refresh_token);
      for (const r of results) {
        expect(r.body.token_type).toBe('Bearer');
        expect(r.body.expires_in).toBeGreaterThan(850);
        expect(r.body.expires_in).toBeLessThanOrEqual(900);
      }
      expect(decode(next.access_token).sid).toBe(decode(first.access_token).sid);
      await http().get('/users/me').set('Authorization', `Bearer ${next.access_token}`).expect(200);
      await refresh(next.refresh_token).expect(200);
    });

    it('treats the rotated token as a replay once the grace window is over: 401 refresh_token_reused, the session ends', async () => {
      const graceSeconds = Number(get().t.env.REFRESH_REUSE_GRACE_SECONDS);
      const { email, id } = await newUser();
      /** Rotates `token`, then presents it again until the grace window ends: the replay's answer. */
      const rotateAndReplay = async (token: string) => {
        const rotated = (await refresh(token).expect(200)).body;
        // Within the window, the same pair again.
        expect((await refresh(token).expect(200)).body.refresh_token).toBe(rotated.refresh_token);
        // Presented again until the window ends: the same pair each time, then the replay.
        const replay = await eventually(
          async () => {
            const res = await refresh(token);
            if (res.status !== 200) return res;
            expect(res.body.refresh_token).toBe(rotated.refresh_token);
            return undefined;
          },
          graceSeconds * 1000 + 10000,
          'the grace window to end',
        );
        return { second: rotated, replay };
      };
      const first = await login(email);
      const { second, replay } = await rotateAndReplay(first.refresh_token);
      expect([replay.status, replay.body.code]).toEqual([401, 'refresh_token_reused']);
      expect((await refresh(second.refresh_token).expect(401)).body.code).toBe('invalid_refresh_token');
      const ended = await http()
        .get('/users/me')
        .set('Authorization', `Bearer ${second.access_token}`)
        .expect(401);
      expect(ended.body.code).toBe('session_ended');
      // The owner is told once (the ended session's token, presented again, is only unknown now).
      await refresh(first.refresh_token).expect(401);
      const next = await login(email);
      expect(await noticesOf(next.access_token, 'user.session_ended')).toEqual([
        expect.objectContaining({
          category: 'security',
          title: 'Signed out for your safety',
          data: { reason: 'refresh_token_reused' },
        }),
      ]);
      expect(await authEvents(id, 'user.session_ended')).toHaveLength(1);
      // Another session ended the same way that day ends as the first did, and tells nothing more: one
      // notice a day (someone replaying tokens of an account they made cannot flood its phone).
      const again = await rotateAndReplay(next.refresh_token);
      expect([again.replay.status, again.replay.body.code]).toEqual([401, 'refresh_token_reused']);
      await http().get('/users/me').set('Authorization', `Bearer ${again.second.access_token}`).expect(401);
      expect(await authEvents(id, 'user.session_ended')).toHaveLength(1);
    });

    it('refuses a malformed or unknown refresh token with 401 and a missing one with 400', async () => {
      expect((await http().post('/auth/refresh').send({ refresh_token: 'nope' }).expect(401)).body.code).toBe(
        'invalid_refresh_token',
      );
      const missing = await http().post('/auth/refresh').send({}).expect(400);
      expect(missing.body.details.map((d: { field: string }) => d.field)).toContain('refresh_token');
    });

    it('lists the sessions, ends the current one on logout and all of them on logout-all', async () => {
      const { email } = await newUser();
      const phone = await login(email, 'phone');
      const laptop = await login(email, 'laptop');
      const list = await http()
        .get('/auth/sessions')
        .set('Authorization', `Bearer ${laptop.access_token}`)
        .expect(200);
      expect(list.body.data).toHaveLength(2);
      expect(list.body.data.find((s: { current: boolean }) => s.current).user_agent).toBe('laptop');

      await http().post('/auth/logout').set('Authorization', `Bearer ${phone.access_token}`).expect(204);
      await http().post('/auth/refresh').send({ refresh_token: phone.refresh_token }).expect(401);
      // The access token of the ended session stops at once too, in every app.
      const ended = await http()
        .get('/users/me')
        .set('Authorization', `Bearer ${phone.access_token}`)
        .expect(401);
      expect(ended.body.code).toBe('session_ended');
      const remaining = await http()
        .get('/auth/sessions')
        .set('Authorization', `Bearer ${laptop.access_token}`)
        .expect(200);
      expect(remaining.body.data.map((s: { user_agent: string }) => s.user_agent)).toEqual(['laptop']);

      const tablet = await login(email, 'tablet');
      await http().post('/auth/logout-all').set('Authorization', `Bearer ${tablet.access_token}`).expect(204);
      await http().post('/auth/refresh').send({ refresh_token: laptop.refresh_token }).expect(401);
      await http().post('/auth/refresh').send({ refresh_token: tablet.refresh_token }).expect(401);
    });
  });
  describe('password change', () => {
    const NEW_PASSWORD = 'a different long passphrase';
    const change = (token: string, body: Record<string, unknown>, ip?: string) => {
      const req = http().post('/auth/password').set('Authorization', `Bearer ${token}`);
      if (ip) req.set('X-Forwarded-For', ip);
      return req.send(body);
    };
    const me = (token: string) => http().get('/users/me').set('Authorization', `Bearer ${token}`);
    /** Five wrong current passwords in a row from `ip`: the change is then locked. */
    const fiveWrongChanges = async (token: string, ip: string) => {
      for (let i = 0; i < 5; i++) {
        await change(token, { current_password: `wrong ${i}`, new_password: NEW_PASSWORD }, ip).expect(401);
      }
    };

    it('tells at most five password changes a day (the e-mail address is not verified)', async () => {
      const { email, id } = await newUser('pwnotices');
      let token = (await login(email)).access_token;
      const passwords = [PASSWORD, NEW_PASSWORD];
      for (let i = 0; i < 6; i++) {
        const res = await change(token, {
          current_password: passwords[i % 2],
          new_password: passwords[(i + 1) % 2],
        }).expect(200);
        token = res.body.access_token as string;
      }
      // Each change writes its event in its own statement, before it answers: the count is final.
      expect(await authEvents(id, 'user.password_changed')).toHaveLength(5);
    });

    it('changes the password: every session ends, this one too, the answer is a new session, and only the new password logs in', async () => {
      const { email } = await newUser('pwchange');
      const phone = await login(email, 'phone');
      const laptop = await login(email, 'laptop');
      const res = await change(laptop.access_token, {
        current_password: PASSWORD,
        new_password: NEW_PASSWORD,
      }).expect(200);
      expect(res.body).toEqual({
        access_token: expect.any(String),
        refresh_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 900,
        device_token: expect.any(String),
      });
      for (const old of [phone, laptop]) {
        expect((await me(old.access_token).expect(401)).body.code).toBe('session_ended');
        await http().post('/auth/refresh').send({ refresh_token: old.refresh_token }).expect(401);
      }
      await me(res.body.access_token).expect(200);
      const sessions = await http()
        .get('/auth/sessions')
        .set('Authorization', `Bearer ${res.body.access_token}`)
        .expect(200);
      expect(sessions.body.data).toEqual([expect.objectContaining({ current: true })]);
      const old = await http().post('/auth/login').send({ email, password: PASSWORD }).expect(401);
      expect(old.body.code).toBe('invalid_credentials');
      const again = await http().post('/auth/login').send({ email, password: NEW_PASSWORD }).expect(200);
      // The customer is told, as a security notice, once.
      const notices = await noticesOf(again.body.access_token, 'user.password_changed');
      expect(notices).toEqual([expect.objectContaining({ category: 'security', title: 'Password changed' })]);
      await http().post('/auth/refresh').send({ refresh_token: res.body.refresh_token }).expect(200);
    });

    it('refuses a wrong current password (401 naming it), a weak or unchanged new one (400 naming new_password), changing nothing; five wrong ones lock it', async () => {
      const { email, id } = await newUser('pwrefuse');
      const session = await login(email);
      const ip = clientIp();
      const wrong = await change(
        session.access_token,
        {
          current_password: 'not the password',
          new_password: NEW_PASSWORD,
        },
        ip,
      ).expect(401);
      expect([wrong.body.code, wrong.body.details]).toEqual([
        'invalid_password',
        [{ field: 'current_password', message: 'not your current password' }],
      ]);
      const refusals: [Record<string, unknown>, string, string][] = [
        [{ current_password: PASSWORD, new_password: PASSWORD }, 'validation_failed', 'new_password'],
        // The same password in full-width letters is the same password (NFKC, as it is hashed).
        [
          {
            current_password: PASSWORD,
            new_password: PASSWORD.replace(/[a-z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)),
          },
          'validation_failed',
          'new_password',
        ],
        [{ current_password: PASSWORD, new_password: '123qweasdzxc' }, 'weak_password', 'new_password'],
        [{ current_password: PASSWORD, new_password: `${email}!!` }, 'weak_password', 'new_password'],
        [{ current_password: PASSWORD, new_password: 'short' }, 'validation_failed', 'new_password'],
        [{ current_password: PASSWORD }, 'validation_failed', 'new_password'],
        [{ new_password: NEW_PASSWORD }, 'validation_failed', 'current_password'],
      ];
      for (const [body, code, field] of refusals) {
        const res = await change(session.access_token, body, ip).expect(400);
        expect({
          body,
          code: res.body.code,
          fields: [...new Set(res.body.details.map((d: { field: string }) => d.field))],
        }).toEqual({
          body,
          code,
          fields: [field],
        });
      }
      // Nothing changed: the session still works and the password is the same.
      await me(session.access_token).expect(200);
      await http().post('/auth/login').send({ email, password: PASSWORD }).expect(200);
      // Five wrong ones in a row lock the change, even with the right password: a stolen access token
      // cannot be used to guess it.
      await fiveWrongChanges(session.access_token, ip);
      const locked = await change(
        session.access_token,
        {
          current_password: PASSWORD,
          new_password: NEW_PASSWORD,
        },
        ip,
      ).expect(429);
      expect(locked.body.code).toBe('rate_limited');
      expect(Number(locked.headers['retry-after'])).toBeGreaterThan(800);
      await http().post('/auth/login').send({ email, password: PASSWORD }).expect(200);
      expect(await noticesOf(session.access_token, 'user.locked_out')).toEqual([
        expect.objectContaining({
          title: 'Password changes paused',
          data: { scope: 'password_change', lock_seconds: 900 },
        }),
      ]);
      expect(await authEvents(id, 'user.locked_out')).toEqual([{ scope: 'password_change' }]);
    });

    it('tells of lockouts at most once a day per kind: a second device locked tells nothing more, a locked password change does', async () => {
      const { email, id } = await newUser('lockednotice');
      const ip = clientIp();
      const devices = [
        (await attempt(clientIp(), email, PASSWORD).expect(200)).body.device_token as string,
        (await attempt(clientIp(), email, PASSWORD).expect(200)).body.device_token as string,
      ];
      for (const device of devices) {
        for (let i = 0; i < 5; i++) await attempt(ip, email, `wrong ${i}`, device).expect(401);
        expect((await attempt(ip, email, PASSWORD, device).expect(429)).body.code).toBe('account_locked');
      }
      const session = await login(email);
      await fiveWrongChanges(session.access_token, ip);
      // Auth wrote two (the second device's lock none), and the customer got those two.
      await eventually(
        async () => ((await authEvents(id, 'user.locked_out')).length >= 2 ? true : undefined),
        15_000,
        'the password change lock written',
      );
      expect(await authEvents(id, 'user.locked_out')).toEqual([
        { scope: 'device' },
        { scope: 'password_change' },
      ]);
      const notices = await noticesOf(session.access_token, 'user.locked_out', 2);
      expect(notices.map((n) => n.data.scope).sort()).toEqual(['device', 'password_change']);
    });

    it("forgets the devices that knew the old password: their token no longer passes the e-mail's lockout, the new one does", async () => {
      const { email } = await newUser('pwdevice');
      const home = clientIp();
      const before = await attempt(home, email, PASSWORD).expect(200);
      const changed = await change(before.body.access_token, {
        current_password: PASSWORD,
        new_password: NEW_PASSWORD,
      }).expect(200);
      // A stranger locks the e-mail.
      const stranger = clientIp();
      for (let i = 0; i < 5; i++) await attempt(stranger, email, 'wrong password').expect(401);
      const withOld = await attempt(home, email, NEW_PASSWORD, before.body.device_token).expect(429);
      expect(withOld.body.code).toBe('account_locked');
      await attempt(home, email, NEW_PASSWORD, changed.body.device_token).expect(200);
    });

    it('needs a valid access token', async () => {
      const res = await http()
        .post('/auth/password')
        .send({ current_password: PASSWORD, new_password: NEW_PASSWORD })
        .expect(401);
      expect(res.body.code).toBeDefined();
    });
  });

  describe('a user with very many sessions', () => {
    const redisKey = (key: string) => `${get().t.env.REDIS_KEY_PREFIX}${key}`;
    const userSet = (userId: string) => redisKey(`auth:user-sessions:${userId}`);
    const sessionHash = (sid: string) => redisKey(`auth:session:${sid}`);
    type Times = { created_at: string; last_used_at: string };
    const both = (at: string): Times => ({ created_at: at, last_used_at: at });
    /**
     * Sessions written as auth writes them (a hash with the fields GET /auth/sessions lists, then the id in
     * the user's set), in bounded pipelines;
     * `times` undefined: an id whose session has ended (no hash).
     */
    const seed = async (userId: string, sids: string[], times: (i: number) => Times | undefined) => {
      const redis = await get().t.redis();
      for (let i = 0; i < sids.length; i += 1000) {
        const p = redis.pipeline();
        sids.slice(i, i + 1000).forEach((sid, j) => {
          const t = times(i + j);
          if (t)
            p.hset(sessionHash(sid), {
              user_id: userId,
              ...t,
              expires_at: new Date(Date.now() + 3_600_000).toISOString(),
            }).expire(sessionHash(sid), 3600);
          p.sadd(userSet(userId), sid);
        });
        await p.exec();
      }
    };
    const existing = async (sids: string[]) => {
      const redis = await get().t.redis();
      let n = 0;
      for (let i = 0; i < sids.length; i += 1000)
        n += await redis.exists(...sids.slice(i, i + 1000).map(sessionHash));
      return n;
    };

    it('ends every session on logout-all when the set lists 70,000 (more than one command can take)', async () => {
      const { email, id } = await newUser('many');
      const own = await login(email);
      const sids = Array.from({ length: 70000 }, () => randomUUID());
      await seed(id, sids, () => both(new Date().toISOString()));
      await http().post('/auth/logout-all').set('Authorization', `Bearer ${own.access_token}`).expect(204);
      expect(await existing(sids)).toBe(0);
      expect(await (await get().t.redis()).exists(userSet(id))).toBe(0);
      const ended = await http()
        .get('/users/me')
        .set('Authorization', `Bearer ${own.access_token}`)
        .expect(401);
      expect(ended.body.code).toBe('session_ended');
    });

    it('ends every session on a logout-all repeated after one that stopped after its first step (its reply lost)', async () => {
      // The first step (generation bumped, the set read) ran, and nothing after it: a reply lost to a
      // reset, or a failure before the sessions were deleted. ioredis may even send the step again. The
      // step used to empty the set itself, so the retry, and the event behind a disable, found nothing to
      // end, and every session went on working.
      const { email, id } = await newUser('halfway');
      const phone = await login(email, 'phone');
      const laptop = await login(email, 'laptop');
      const redis = await get().t.redis();
      for (let i = 0; i < 2; i++)
        await REVOKE_ALL.run(redis, [redisKey(`auth:user-generation:${id}`), userSet(id)], [3600]);
      await http().get('/users/me').set('Authorization', `Bearer ${phone.access_token}`).expect(200);
      const again = await login(email, 'tablet');
      await http().post('/auth/logout-all').set('Authorization', `Bearer ${again.access_token}`).expect(204);
      for (const s of [phone, laptop, again]) {
        const res = await http()
          .get('/users/me')
          .set('Authorization', `Bearer ${s.access_token}`)
          .expect(401);
        expect(res.body.code).toBe('session_ended');
        await http().post('/auth/refresh').send({ refresh_token: s.refresh_token }).expect(401);
      }
      expect(await redis.exists(userSet(id))).toBe(0);
    });

    it('forgets ended sessions at login, and past SESSIONS_PER_USER_MAX (50) ends the least recently used', async () => {
      const { email, id } = await newUser('capped');
      const redis = await get().t.redis();
      const phone = await login(email, 'phone');
      // Ten ids whose sessions have expired (no hash): the next login's sample (16) sees them all.
      await seed(
        id,
        Array.from({ length: 10 }, () => randomUUID()),
        () => undefined,
      );
      expect(await redis.scard(userSet(id))).toBe(11);
      const laptop = await login(email, 'laptop');
      expect(await redis.scard(userSet(id))).toBe(2);
      // 49 live sessions last used long ago, the first two the oldest: 51 with phone and laptop.
      const old = Array.from({ length: 49 }, () => randomUUID());
      await seed(id, old, (i) => both(new Date(Date.UTC(2020, 0, 1, 0, i)).toISOString()));
      const tablet = await login(email, 'tablet');
      expect(await redis.scard(userSet(id))).toBe(50);
      expect(await existing(old.slice(0, 2))).toBe(0);
      expect(await existing(old.slice(2))).toBe(47);
      for (const device of [phone, laptop, tablet]) {
        await http().get('/users/me').set('Authorization', `Bearer ${device.access_token}`).expect(200);
      }
      const list = await http()
        .get('/auth/sessions')
        .set('Authorization', `Bearer ${tablet.access_token}`)
        .expect(200);
      expect(list.body.data).toHaveLength(50);
    });

    it('never ends, at the cap, a session made after the login (another login at the same moment)', async () => {
      const { email, id } = await newUser('racing');
      const redis = await get().t.redis();
      // 49 sessions made long ago but used lately, and one made after the coming login (as a login racing
      // it would be) that is the least recently used: evicting by use alone would end that one.
      const busy = Array.from({ length: 49 }, () => randomUUID());
      const later = randomUUID();
      await seed(id, busy, () => ({
        created_at: '2020-01-01T00:00:00.000Z',
        last_used_at: '2099-01-01T00:00:00.000Z',
      }));
      await seed(id, [later], () => ({
        created_at: '2099-12-31T00:00:00.000Z',
        last_used_at: '2000-01-01T00:00:00.000Z',
      }));
      const mine = await login(email);
      expect(await redis.exists(sessionHash(later))).toBe(1);
      expect(await redis.scard(userSet(id))).toBe(50);
      await http().get('/users/me').set('Authorization', `Bearer ${mine.access_token}`).expect(200);
    });
  });

  describe('auth: signing-key rotation while tokens are in use', () => {
    // One GET per service with routes (in split mode each is answered by its own app). What is asked is
    // whether the guard admits the token: the transactions route answers 404 for an account not ours.
    const PROBES = [
      '/auth/sessions',
      '/users/me',
      '/accounts',
      `/transactions?account_id=${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`,
      '/notifications/unread-count',
      '/analytics/insights',
    ];
    const statuses = async (token: string) => {
      const seen: Record<string, string> = {};
      for (const path of PROBES) {
        const res = await http().get(path).set('Authorization', `Bearer ${token}`);
        seen[path] = res.status === 401 ? `401 ${res.body.code}` : 'admitted';
      }
      return seen;
    };
    const all = (status: string) => Object.fromEntries(PROBES.map((p) => [p, status]));
    const jwksKids = async () =>
      ((await http().get('/auth/.well-known/jwks.json').expect(200)).body.keys as { kid: string }[]).map(
        (k) => k.kid,
      );

    it('rotates with npm run keys:rotate and no restart: old tokens keep working, new ones carry the new kid, every app accepts it, the retired key goes when its window ends', async () => {
      const dir = get().t.env.JWT_KEYS_DIR;
      const pids = get().children.map((c) => c.pid);
      const user = await newUser('rotation');
      const before = await login(user.email);
      const oldKid = headerOf(before.access_token).kid!;
      const oldKey = keysOfSuite();
      expect(oldKey.kid).toBe(oldKid);

      const out = execFileSync(process.execPath, [join('scripts', 'keys-rotate.js'), '--dir', dir], {
        encoding: 'utf8',
      });
      expect(out).toMatch(/^new signing key /);
      // Auth re-reads its key directory (every JWT_KEYS_REFRESH_SECONDS) and publishes both keys.
      const kids = await eventually(
        async () => {
          const listed = await jwksKids();
          return listed.length === 2 ? listed : undefined;
        },
        15000,
        'the JWKS to list the new key',
      );
      const after = await login(user.email);
      const newKid = headerOf(after.access_token).kid!;
      expect(newKid).not.toBe(oldKid);
      expect(new Set(kids)).toEqual(new Set([oldKid, newKid]));
      // Every app verifies both: the token from before the rotation, and the new key it never saw at boot
      // (in split mode it asks auth about the unknown kid).
      expect(await statuses(before.access_token)).toEqual(all('admitted'));
      expect(await statuses(after.access_token)).toEqual(all('admitted'));

      // As if the rotation had happened one token lifetime, refresh period and margin ago: the old key's
      // window is over (the new key file is back-dated; nothing else changes).
      const newest = readdirSync(dir)
        .filter((n) => /^\d{4}-.*Z\.pem$/.test(n))
        .sort()
        .pop()!;
      const past = new Date(
        Date.now() - (900 + Number(get().t.env.JWT_KEYS_REFRESH_SECONDS) + 60 + 5) * 1000,
      );
      const backdated = `${past.toISOString().replace(/:/g, '-')}.pem`;
      renameSync(join(dir, newest), join(dir, backdated));
      try {
        await eventually(
          async () => ((await jwksKids()).join() === newKid ? true : undefined),
          15000,
          'the JWKS to drop the retired key',
        );
        // Its tokens fail everywhere: the one issued before the rotation, and one freshly signed with the
        // retired key (a leaked key is worthless once its window ends). The other apps learn it from auth.
        const forged = signAccessToken(
          { ...(decode(before.access_token) as unknown as AccessClaims) },
          oldKey,
        );
        const [stale, fresh] = await eventually(
          async () => {
            const seen = [await statuses(before.access_token), await statuses(forged)];
            return seen.every((s) => Object.values(s).every((v) => v === '401 invalid_token'))
              ? seen
              : undefined;
          },
          15000,
          'every app to drop the retired key',
        );
        expect(stale).toEqual(all('401 invalid_token'));
        expect(fresh).toEqual(all('401 invalid_token'));
        expect(await statuses(after.access_token)).toEqual(all('admitted'));
      } finally {
        // Back to the clock's truth for the scenarios after this one, whose tokens (some from before the
        // rotation) are less than a lifetime old: the old key verifies again, as it really does.
        renameSync(join(dir, backdated), join(dir, newest));
        await eventually(
          async () => ((await jwksKids()).length === 2 ? true : undefined),
          15000,
          'the JWKS to list both keys again',
        );
      }
      // No app was restarted.
      expect(get().children.map((c) => c.pid)).toEqual(pids);
      expect(get().children.every((c) => c.exitCode === null)).toBe(true);
    });
  });
}
