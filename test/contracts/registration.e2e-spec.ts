/**
 * Registration across auth and users when the users side fails: the e-mail is never locked out, a retry
 * completes the same user, and a finished registration cannot be taken over.
 */
import { Global, Module, type INestApplicationContext } from '@nestjs/common';
import { AuthModule } from '@protobank/auth';
import {
  USERS_API,
  type CreateUserInput,
  type UserContact,
  type UsersApi,
  type UserView,
} from '@protobank/contracts';
import { AppError } from '@protobank/platform';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { RegisterService } from '../../libs/auth/src/register/register.service';
import { createContext } from '../support/contexts';
import { processes } from '../support/processes';
import { createTestEnv, eventually, type TestEnv } from '../support/test-env';

/** A users API that commits the profile and then fails to answer, once, as a timed-out call would. */
class FlakyUsers implements UsersApi {
  readonly calls: CreateUserInput[] = [];
  private readonly profiles = new Map<string, UserView>();
  failNext = false;
  /** The next call waits for this before it answers (a users app that is slow). */
  holdNext?: Promise<void>;

  async create(input: CreateUserInput): Promise<UserView> {
    this.calls.push(input);
    const hold = this.holdNext;
    this.holdNext = undefined;
    await hold;
    const existing = this.profiles.get(input.id);
    const view = existing ?? {
      id: input.id,
      email: input.email,
      full_name: input.full_name,
      latin_name: null,
      role: 'customer' as const,
      disabled: false,
      created_at: new Date().toISOString(),
    };
    this.profiles.set(input.id, view);
    if (this.failNext) {
      this.failNext = false;
      throw new AppError(504, 'dependency_timeout', 'users did not answer within 5000 ms');
    }
    return view;
  }

  async getKycStatus(userId: string): Promise<{ status: 'not_submitted' }> {
    await this.getProfile(userId);
    return { status: 'not_submitted' };
  }

  async getProfile(userId: string): Promise<UserView> {
    const view = this.profiles.get(userId);
    if (!view) throw AppError.notFound('user');
    return view;
  }

  async getContacts(userIds: string[]): Promise<UserContact[]> {
    return userIds.flatMap((id) => {
      const v = this.profiles.get(id);
      return v
        ? [{ user_id: v.id, full_name: v.full_name, email: v.email, phone: null, disabled: false }]
        : [];
    });
  }

  /** Registration reads no one's data as staff: never called here. */
  recordStaffRead(): Promise<{ owners: [] }> {
    return Promise.reject(new Error('registration does not read as staff'));
  }
}

const users = new FlakyUsers();

@Global()
@Module({ providers: [{ provide: USERS_API, useValue: users }], exports: [USERS_API] })
class FlakyUsersModule {}

describe('registration saga', () => {
  let t: TestEnv;
  let app: INestApplicationContext;
  let registration: RegisterService;
  let db: DataSource;

  beforeAll(async () => {
    t = await createTestEnv('registration');
    await processes.runOnce('migrate', t.env, { logFile: join(t.logDir, 'migrate.log') });
    const env = { ...t.env, ADMIN_EMAIL: '', ADMIN_PASSWORD: '' };
    app = await createContext({
      service: 'auth',
      transport: 'local',
      env,
      modules: [FlakyUsersModule, AuthModule],
    });
    registration = app.get(RegisterService);
    db = app.get(DataSource);
  });
  afterAll(async () => {
    await app?.close();
    await t?.cleanup();
  });

  const credential = async (email: string) =>
    (await db.query('SELECT user_id, status FROM auth.credentials WHERE email = $1', [email])) as {
      user_id: string;
      status: string;
    }[];

  it('keeps a pending credential when users fails, and a retry completes the same user', async () => {
    const email = 'retry@example.com';
    users.failNext = true;
    await expect(
      registration.register({ email, password: 'correct horse battery staple', full_name: 'Rita' }),
    ).rejects.toMatchObject({ status: 504 });
    const [pending] = await credential(email);
    expect(pending.status).toBe('pending');

    const view = await registration.register({
      email,
      password: 'a different passphrase',
      full_name: 'Rita',
    });
    expect(view.id).toBe(pending.user_id);
    expect(users.calls.filter((c) => c.email === email).map((c) => c.id)).toEqual([
      pending.user_id,
      pending.user_id,
    ]);
    expect(await credential(email)).toEqual([{ user_id: pending.user_id, status: 'active' }]);
  });

  it('refuses the e-mail once the registration is complete', async () => {
    const email = 'done@example.com';
    await registration.register({ email, password: 'correct horse battery staple', full_name: 'Dan' });
    await expect(
      registration.register({
        email: 'DONE@example.com',
        password: 'another good passphrase',
        full_name: 'Eve',
      }),
    ).rejects.toMatchObject({
      status: 409,
      code: 'email_taken',
    });
    expect(await credential(email)).toHaveLength(1);
  });

  it('refuses a registration of an e-mail whose first registration is still running, which completes as its own', async () => {
    // The second used to take the claim over: it was the one activated, on the profile the first had
    // created (the first's name, the second's password), and the first was told the e-mail was taken.
    const email = 'held@example.com';
    let release!: () => void;
    users.holdNext = new Promise((resolve) => (release = resolve));
    const first = registration.register({
      email,
      password: 'correct horse battery staple',
      full_name: 'First',
    });
    await eventually(
      async () => (users.calls.some((c) => c.email === email) ? true : undefined),
      5000,
      'the first registration calling users',
    );
    await expect(
      registration.register({ email, password: 'another good passphrase', full_name: 'Second' }),
    ).rejects.toMatchObject({ status: 409, code: 'email_taken' });
    release();
    const view = await first;
    expect(view.full_name).toBe('First');
    expect(users.calls.filter((c) => c.email === email).map((c) => c.full_name)).toEqual(['First']);
    expect(await credential(email)).toEqual([{ user_id: view.id, status: 'active' }]);
  });

  it('lets exactly one of two concurrent registrations of one e-mail succeed', async () => {
    const email = 'twice@example.com';
    const results = await Promise.allSettled([
      registration.register({ email, password: 'correct horse battery staple', full_name: 'Tom' }),
      registration.register({ email, password: 'correct horse battery staple', full_name: 'Tom' }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({
      reason: { status: 409, code: 'email_taken' },
    });
    expect(await credential(email)).toEqual([{ user_id: expect.any(String), status: 'active' }]);
  });
});
