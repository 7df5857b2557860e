/**
 * One contract suite, two bindings (DESIGN.md §3): the users API as the monolith injects it (the module's
 * own implementation) and as a split app injects it (the generic RabbitMQ client to the users app).
 * Both must behave identically, errors included.
 */
import type { INestApplicationContext } from '@nestjs/common';
import { AuthContract, USERS_API, UsersContract, type UsersApi } from '@protobank/contracts';
import { AppError } from '@protobank/platform';
import { UsersModule } from '@protobank/users';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createContext } from '../support/contexts';
import { processes } from '../support/processes';
import { createTestEnv, type TestEnv } from '../support/test-env';

describe('users contract', () => {
  let t: TestEnv;
  let usersApp: INestApplicationContext;
  let callerApp: INestApplicationContext;
  const bindings: Record<string, UsersApi> = {};

  beforeAll(async () => {
    t = await createTestEnv('contract');
    await processes.runOnce('migrate', t.env, { logFile: join(t.logDir, 'migrate.log') });
    usersApp = await createContext({
      service: 'users',
      transport: 'rmq',
      env: t.env,
      modules: [UsersModule],
      serves: [UsersContract],
      calls: [AuthContract],
    });
    callerApp = await createContext({
      service: 'auth',
      transport: 'rmq',
      env: t.env,
      calls: [UsersContract],
    });
    bindings.local = usersApp.get<UsersApi>(USERS_API);
    bindings.rabbitmq = callerApp.get<UsersApi>(USERS_API);
  });

  afterAll(async () => {
    await callerApp?.close();
    await usersApp?.close();
    await t?.cleanup();
  });

  describe.each(['local', 'rabbitmq'])('bound %s', (binding) => {
    const api = () => bindings[binding];

    it('creates a profile and returns its view', async () => {
      const id = randomUUID();
      const view = await api().create({ id, email: `${binding}.${id}@example.com`, full_name: 'Erin Moss' });
      expect(view).toEqual({
        id,
        email: `${binding}.${id}@example.com`,
        full_name: 'Erin Moss',
        latin_name: null, // none until KYC verifies one
        role: 'customer',
        created_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
        disabled: false,
      });
      await expect(api().getProfile(id)).resolves.toEqual(view);
    });

    it('is idempotent for a retried create with the same id', async () => {
      const id = randomUUID();
      const first = await api().create({ id, email: `retry.${id}@example.com`, full_name: 'Finn' });
      await expect(
        api().create({ id, email: `retry.${id}@example.com`, full_name: 'Finn' }),
      ).resolves.toEqual(first);
    });

    it("takes the name of a later create with the same id and e-mail (the registration now holding the e-mail's claim)", async () => {
      const id = randomUUID();
      const email = `takeover.${id}@example.com`;
      await api().create({ id, email, full_name: 'Gone Away' });
      const view = await api().create({ id, email, full_name: 'Hana Lee' });
      expect(view.full_name).toBe('Hana Lee');
      await expect(api().getProfile(id)).resolves.toMatchObject({ full_name: 'Hana Lee' });
    });

    it('throws a typed 409 for a taken e-mail', async () => {
      const email = `taken.${randomUUID()}@example.com`;
      await api().create({ id: randomUUID(), email, full_name: 'Gail' });
      const err = await api()
        .create({ id: randomUUID(), email, full_name: 'Gail Again' })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect(err).toMatchObject({ status: 409, code: 'email_taken' });
    });

    it("tells a user's KYC status, and 404 for an unknown user", async () => {
      const id = randomUUID();
      await api().create({ id, email: `kyc.${id}@example.com`, full_name: 'Kay' });
      await expect(api().getKycStatus(id)).resolves.toEqual({ status: 'not_submitted' });
      await expect(api().getKycStatus(randomUUID())).rejects.toMatchObject({
        status: 404,
        code: 'not_found',
      });
    });

    it('throws a typed 404 for an unknown user', async () => {
      const err = await api()
        .getProfile(randomUUID())
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect(err).toMatchObject({ status: 404, code: 'not_found' });
    });
  });
});
