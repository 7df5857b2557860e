/**
 * The auth API in both bindings (DESIGN.md §3): revokeSessions as the monolith injects it and as a split
 * app (users) calls it over RabbitMQ. It ends every session of the user before it returns, a login that
 * read the profile before it cannot add a session after it, and the events it was called for, delivered
 * later (the safety net), end nothing the user opened since. verificationKeys answers auth's key directory
 * as it is now, so the other apps follow a rotation.
 */
import type { INestApplicationContext } from '@nestjs/common';
import { AuthModule } from '@protobank/auth';
import { AUTH_API, AuthContract, UsersContract, type AuthApi } from '@protobank/contracts';
import type Redis from 'ioredis';
import { publicJwk, readKeysDir } from '@protobank/platform';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { hashPassword } from '../../libs/auth/src/credentials/passwords';
import { SessionStore } from '../../libs/auth/src/sessions/session.store';
import { SessionsEventsController } from '../../libs/auth/src/sessions/sessions-events.controller';
import { createContext } from '../support/contexts';
import { processes } from '../support/processes';
import { createTestEnv, type TestEnv } from '../support/test-env';

describe('auth contract', () => {
  let t: TestEnv;
  let authApp: INestApplicationContext;
  let callerApp: INestApplicationContext;
  let store: SessionStore;
  let revoker: SessionsEventsController;
  let redis: Redis;
  const bindings: Record<string, AuthApi> = {};

  beforeAll(async () => {
    t = await createTestEnv('authcontract');
    await processes.runOnce('migrate', t.env, { logFile: join(t.logDir, 'migrate.log') });
    // No first admin: its registration would call users, which this suite does not run.
    const env = { ...t.env, ADMIN_EMAIL: '', ADMIN_PASSWORD: '' };
    authApp = await createContext({
      service: 'auth',
      transport: 'rmq',
      env,
      modules: [AuthModule],
      serves: [AuthContract],
      calls: [UsersContract],
    });
    callerApp = await createContext({ service: 'users', transport: 'rmq', env, calls: [AuthContract] });
    bindings.local = authApp.get<AuthApi>(AUTH_API);
    bindings.rabbitmq = callerApp.get<AuthApi>(AUTH_API);
    store = authApp.get(SessionStore);
    revoker = authApp.get(SessionsEventsController);
    redis = await t.redis();
  });

  afterAll(async () => {
    await callerApp?.close();
    await authApp?.close();
    await t?.cleanup();
  });

  const alive = async (sid: string) =>
    (await redis.exists(`${t.env.REDIS_KEY_PREFIX}auth:session:${sid}`)) === 1;
  const open = async (userId: string) => {
    const created = await store.create(
      userId,
      'customer',
      { ip: '203.0.113.9' },
      await store.generation(userId),
    );
    if (!created) throw new Error('session not created');
    return created.sid;
  };

  describe.each(['local', 'rabbitmq'])('bound %s', (binding) => {
    const api = () => bindings[binding];

    it("ends every session of the user before it returns, and nobody else's", async () => {
      const [user, other] = [randomUUID(), randomUUID()];
      const sids = [await open(user), await open(user), await open(user)];
      const kept = await open(other);
      await expect(api().revokeSessions({ user_id: user, event_ids: [] })).resolves.toEqual({ revoked: 3 });
      for (const sid of sids) expect(await alive(sid)).toBe(false);
      expect(await alive(kept)).toBe(true);
      await expect(api().revokeSessions({ user_id: user, event_ids: [] })).resolves.toEqual({ revoked: 0 });
    });

    it('refuses a session whose login read the profile before the revocation', async () => {
      const user = randomUUID();
      const before = await store.generation(user);
      await api().revokeSessions({ user_id: user, event_ids: [] });
      await expect(store.create(user, 'customer', {}, before)).resolves.toBeUndefined();
      expect(await store.list(user)).toEqual([]);
      await expect(store.create(user, 'customer', {}, await store.generation(user))).resolves.toMatchObject({
        sid: expect.any(String),
      });
    });

    it('records the events it was called for: delivered later, they end no session opened since', async () => {
      const user = randomUUID();
      await open(user);
      const disabled = { event_id: randomUUID(), occurred_at: new Date().toISOString(), user_id: user };
      const roleChanged = { ...disabled, event_id: randomUUID() };
      await api().revokeSessions({ user_id: user, event_ids: [disabled.event_id, roleChanged.event_id] });
      const since = await open(user);
      await revoker.onUserDisabled({ ...disabled, actor_id: randomUUID() });
      await revoker.onRoleChanged({
        ...roleChanged,
        role: 'staff',
        previous_role: 'customer',
        actor_id: user,
      });
      expect(await alive(since)).toBe(true);
      // An event the call did not carry still ends the sessions: the safety net works.
      await revoker.onUserDisabled({ ...disabled, event_id: randomUUID(), actor_id: randomUUID() });
      expect(await alive(since)).toBe(false);
    });

    it("lists the keys of auth's directory that verify, re-read on every call", async () => {
      const dir = t.env.JWT_KEYS_DIR;
      const first = readKeysDir(dir).at(-1)!; // the newest (the other binding's run rotated once already)
      const { keys } = await api().verificationKeys();
      expect(keys).toContainEqual({ ...first.jwk, verify_until: null });
      // A key added since (as keys:rotate does) is in the next answer, and the older one gets an end.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { rotate } = require('../../scripts/keys-rotate.js') as {
        rotate(o: { dir: string }): { kid: string };
      };
      const added = rotate({ dir }).kid;
      const next = (await api().verificationKeys()).keys;
      expect(next.map((k) => k.kid)).toEqual(expect.arrayContaining([first.jwk.kid, added]));
      expect(next.find((k) => k.kid === added)).toMatchObject({ verify_until: null, alg: 'ES256' });
      expect(next.find((k) => k.kid === first.jwk.kid)?.verify_until).toEqual(expect.any(Number));
      expect(publicJwk(readKeysDir(dir).at(-1)!.publicKey).kid).toBe(added);
    });

    it("checks a user's current password again, false for a wrong one, an unknown user or a pending credential; five wrong lock it", async () => {
      const db = await t.db();
      const [active, pending] = [randomUUID(), randomUUID()];
      const hash = await hashPassword('the right passphrase');
      for (const [id, status] of [
        [active, 'active'],
        [pending, 'pending'],
      ]) {
        await db.query(
          `INSERT INTO auth.credentials (user_id, email, password_hash, status) VALUES ($1, $2, $3, $4)`,
          [id, `${id}@example.com`, hash, status],
        );
      }
      const check = (user_id: string, password: string) => api().verifyPassword({ user_id, password });
      await expect(check(active, 'the right passphrase')).resolves.toEqual({ valid: true });
      await expect(check(active, 'the wrong passphrase')).resolves.toEqual({ valid: false });
      await expect(check(pending, 'the right passphrase')).resolves.toEqual({ valid: false });
      await expect(check(randomUUID(), 'the right passphrase')).resolves.toEqual({ valid: false });
      await expect(check('not-a-uuid', 'the right passphrase')).resolves.toEqual({ valid: false });
      // Wrong ones count with the password change's: the fifth locks, and then the right one is 429 too.
      for (let i = 0; i < 4; i++) await check(active, `wrong again ${i}`);
      await expect(check(active, 'the right passphrase')).rejects.toMatchObject({
        status: 429,
        code: 'rate_limited',
      });
    });
  });
});
