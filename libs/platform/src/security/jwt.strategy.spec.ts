import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { generateKeyPairSync } from 'node:crypto';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/app-config';
import type { Caller } from '../context/request-context';
import type { AppError } from '../errors/app-error';
import type { RedisService } from '../redis/redis.module';
import { signAccessToken, type AccessClaims } from './access-token';
import { AuthGuard } from './auth.guard';
import { PUBLIC_ROUTE, ROLES, TOKEN_IN_QUERY } from './decorators';
import { JwtStrategy } from './jwt.strategy';
import { publicJwk } from './key-files';
import { KeyRing } from './key-ring';
import { sessionKey } from './session-registry';

const logger = { info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;
const pair = () => {
  const p = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey: p.privateKey, publicKey: p.publicKey, kid: publicJwk(p.publicKey).kid };
};
const config = { jwtIssuer: 'protobank', jwtAudience: 'protobank-api' } as AppConfig;
const now = Math.floor(Date.now() / 1000);
const claims: AccessClaims = {
  sub: 'u1',
  role: 'customer',
  sid: 's1',
  iat: now,
  exp: now + 900,
  iss: 'protobank',
  aud: 'protobank-api',
};
const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');

function setup(meta: Record<symbol, unknown> = {}) {
  const key = pair();
  const ring = new KeyRing(
    [{ key: key.publicKey, jwk: publicJwk(key.publicKey), verifyUntil: null }],
    30,
    logger,
  );
  const lookups: string[] = [];
  const keyFor = ring.keyFor.bind(ring);
  ring.keyFor = (kid: string) => {
    lookups.push(kid); // only the uncached path reaches the key ring
    return keyFor(kid);
  };
  // Live sessions and their users, as auth stores them (the hash's user_id field), and the role of the
  // sessions that keep one (`roles`; sessions opened before they did have none).
  const live = new Map([[sessionKey('s1'), 'u1']]);
  const roles = new Map<string, string>();
  const holds = new Map<string, string>(); // reset_hold_until of sessions opened after a password reset
  const redis = {
    client: {
      hmget: (k: string, ...fields: string[]) =>
        Promise.resolve(
          fields.map((f) => ({ user_id: live, role: roles, reset_hold_until: holds })[f]?.get(k) ?? null),
        ),
    },
  } as unknown as RedisService;
  new JwtStrategy(ring, config, redis, logger); // registers itself with passport as 'jwt'
  const reflector = new Reflector();
  reflector.getAllAndOverride = ((k: symbol) => meta[k]) as unknown as Reflector['getAllAndOverride'];
  const guard = new AuthGuard(reflector);
  const call = async (headers: Record<string, string>, query: Record<string, string> = {}) => {
    const req: Record<string, unknown> = { headers, query };
    const ctx = {
      getType: () => 'http',
      getHandler: () => call,
      getClass: () => AuthGuard,
      switchToHttp: () => ({ getRequest: () => req, getResponse: () => ({}) }),
    } as unknown as ExecutionContext;
    try {
      await guard.canActivate(ctx);
      return { ok: true as const, req };
    } catch (err) {
      const e = err as AppError;
      return { ok: false as const, status: e.status, code: e.code, auth: e.headers?.['WWW-Authenticate'] };
    }
  };
  const bearer = (token: string) => call({ authorization: `Bearer ${token}` });
  return { key, ring, live, roles, holds, lookups, guard, call, bearer };
}

describe('JwtStrategy behind the AuthGuard', () => {
  it('admits a valid ES256 token: the caller, its expiry, from the cache the second time', async () => {
    const { key, bearer, lookups } = setup();
    const token = signAccessToken(claims, key);
    const first = await bearer(token);
    expect(first).toMatchObject({
      ok: true,
      req: { caller: { user_id: 'u1', role: 'customer', session_id: 's1' }, tokenExpiresAt: claims.exp },
    });
    expect(await bearer(token)).toMatchObject({ ok: true });
    expect(lookups).toEqual([key.kid]); // the second request skipped jsonwebtoken and the key lookup
  });

  it("puts the session's reset hold on the caller, on every request (none when the session has none)", async () => {
    const { key, bearer, holds } = setup();
    const token = signAccessToken(claims, key);
    const first = await bearer(token);
    expect(first.ok && (first.req.caller as Caller).reset_hold_until).toBeUndefined();
    holds.set(sessionKey('s1'), '2026-12-06T05:00:00.000Z');
    expect(await bearer(token)).toMatchObject({
      ok: true,
      req: { caller: { user_id: 'u1', reset_hold_until: '2026-12-06T05:00:00.000Z' } },
    });
  });

  it('answers 401 unauthorized without a token, and takes ?access_token only on @TokenInQuery routes', async () => {
    const plain = setup();
    expect(await plain.call({})).toMatchObject({ status: 401, code: 'unauthorized', auth: 'Bearer' });
    const token = signAccessToken(claims, plain.key);
    expect(await plain.call({}, { access_token: token })).toMatchObject({ code: 'unauthorized' });
    const stream = setup({ [TOKEN_IN_QUERY]: true });
    expect(await stream.call({}, { access_token: signAccessToken(claims, stream.key) })).toMatchObject({
      ok: true,
    });
  });

  it('refuses expiry, issuer, audience, role, algorithm, key and tampering with their codes', async () => {
    const { key, bearer } = setup();
    const invalid = { status: 401, code: 'invalid_token', auth: 'Bearer error="invalid_token"' };
    expect(await bearer(signAccessToken({ ...claims, exp: now - 1 }, key))).toMatchObject({
      status: 401,
      code: 'token_expired',
    });
    for (const bad of [{ iss: 'x' }, { aud: 'x' }, { role: 'root' as never }, { sid: 7 as never }]) {
      expect(await bearer(signAccessToken({ ...claims, ...bad }, key))).toMatchObject(invalid);
    }
    const [h, , s] = signAccessToken(claims, key).split('.');
    expect(await bearer(`${h}.${b64({ ...claims, role: 'admin' })}.${s}`)).toMatchObject(invalid);
    expect(await bearer(`${b64({ alg: 'none', typ: 'JWT', kid: key.kid })}.${b64(claims)}.`)).toMatchObject(
      invalid,
    );
    expect(
      await bearer(`${b64({ alg: 'HS256', typ: 'JWT', kid: key.kid })}.${b64(claims)}.${s}`),
    ).toMatchObject(invalid);
    expect(await bearer(signAccessToken(claims, pair()))).toMatchObject(invalid); // a key the ring never had
    expect(await bearer(signAccessToken(claims, { ...pair(), kid: key.kid }))).toMatchObject(invalid);
    for (const junk of [
      'a.b',
      'a.b.c',
      'bnVsbA.e30.AAAA',
      `${b64({ alg: 'ES256', kid: key.kid })}.bnVsbA.${s}`,
    ]) {
      expect(await bearer(junk)).toMatchObject(invalid);
    }
  });

  it("refuses a token whose role is not its session's (a leaked key cannot raise one's own role)", async () => {
    const { key, roles, bearer } = setup();
    roles.set(sessionKey('s1'), 'customer');
    expect(await bearer(signAccessToken(claims, key))).toMatchObject({ ok: true });
    const raised = signAccessToken({ ...claims, role: 'admin' }, key);
    expect(await bearer(raised)).toMatchObject({ status: 401, code: 'session_ended' });
    // A session opened before sessions kept their role has none to compare: the user check still holds.
    roles.delete(sessionKey('s1'));
    expect(await bearer(raised)).toMatchObject({ ok: true });
  });

  it('still checks expiry, the key and the session on a cached token', async () => {
    const { key, ring, live, bearer } = setup();
    const token = signAccessToken(claims, key);
    expect(await bearer(token)).toMatchObject({ ok: true });
    live.delete(sessionKey('s1')); // logout, disabled user, role change
    expect(await bearer(token)).toMatchObject({ status: 401, code: 'session_ended' });
    // Another user's session named in a token (one a leaked key could sign): not this token's.
    live.set(sessionKey('s1'), 'u2');
    expect(await bearer(token)).toMatchObject({ status: 401, code: 'session_ended' });
    live.set(sessionKey('s1'), 'u1');
    ring.apply({ keys: [{ ...publicJwk(pair().publicKey), verify_until: null }] }); // the key was revoked
    expect(await bearer(token)).toMatchObject({ status: 401, code: 'invalid_token' });

    const soon = setup();
    const short = signAccessToken({ ...claims, exp: now + 2 }, soon.key);
    expect(await soon.bearer(short)).toMatchObject({ ok: true });
    const realNow = Date.now;
    Date.now = () => realNow() + 3000;
    try {
      expect(await soon.bearer(short)).toMatchObject({ status: 401, code: 'token_expired' });
    } finally {
      Date.now = realNow;
    }
  });

  it('enforces @Roles with 403, lets @Public routes and non-HTTP contexts through', async () => {
    const staffOnly = setup({ [ROLES]: ['staff', 'admin'] });
    expect(await staffOnly.bearer(signAccessToken(claims, staffOnly.key))).toMatchObject({
      status: 403,
      code: 'forbidden',
    });
    expect(await setup({ [PUBLIC_ROUTE]: true }).call({})).toMatchObject({ ok: true });
    const rpc = { getType: () => 'rpc' } as unknown as ExecutionContext;
    await expect(setup().guard.canActivate(rpc)).resolves.toBe(true);
  });
});
