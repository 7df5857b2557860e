import { addressKey, AppError } from '@protobank/platform';
import { checkPassword } from '../credentials/passwords';
import { SessionsService } from './sessions.service';

jest.mock('../credentials/passwords', () => ({ checkPassword: jest.fn() }));

describe('SessionsService.login', () => {
  it('looks the e-mail up, and locks it, in the one form registration stored (NFKC, trimmed, lower case)', async () => {
    const queries: unknown[][] = [];
    const locks: string[] = [];
    const dataSource = {
      query: async (_sql: string, params: unknown[]) => {
        queries.push(params);
        return [];
      },
    };
    const devices = { knownDevice: async () => undefined };
    // Locked: the login stops before any password hash, having shown which key it looked up.
    const limiter = {
      lockedFor: async (_bucket: string, key: string) => {
        locks.push(key);
        return 60;
      },
    };
    const service = new SessionsService(
      dataSource as never,
      {} as never,
      {} as never,
      devices as never,
      {} as never,
      limiter as never,
      {} as never, // outbox
      {} as never, // relay
      {} as never,
      {} as never,
    );
    const attempt = service.login(' ＡＬＩＣＥ@Example.COM ', 'password', {});
    await expect(attempt).rejects.toBeInstanceOf(AppError);
    await expect(attempt).rejects.toMatchObject({ code: 'account_locked' });
    expect(queries).toEqual([['alice@example.com']]);
    // The lock is keyed by the normalised address's hash: no address in plain text in Redis.
    expect(locks).toEqual([addressKey('alice@example.com')]);
  });
});

describe('SessionsService.login under load', () => {
  it('does not count a login whose password was never checked (503 auth_busy) as a failure', async () => {
    const busy = new AppError(503, 'auth_busy', 'Too many password checks under way; try again shortly');
    (checkPassword as jest.Mock).mockRejectedValueOnce(busy);
    const calls: string[] = [];
    const limiter = {
      lockedFor: async () => 0,
      hit: async (bucket: string, key: string) => {
        calls.push(`hit ${bucket} ${key}`);
        return { allowed: true, count: 5 };
      },
      release: async (bucket: string, key: string) => {
        calls.push(`release ${bucket} ${key}`);
      },
      lock: async () => calls.push('lock'),
    };
    const service = new SessionsService(
      { query: async () => [] } as never,
      {} as never,
      {} as never,
      { knownDevice: async () => undefined } as never,
      {} as never,
      limiter as never,
      {} as never, // outbox
      {} as never, // relay
      { loginMaxFailures: 5, loginLockoutSeconds: 900 } as never,
      { info: () => undefined, warn: () => undefined } as never,
    );
    await expect(service.login('alice@example.com', 'correct horse', {})).rejects.toBe(busy);
    // Counted before the hash (so parallel guesses cannot all pass), then given back: the fifth busy
    // answer no longer locks the e-mail.
    expect(calls).toEqual([
      `hit login-failures ${addressKey('alice@example.com')}`,
      `release login-failures ${addressKey('alice@example.com')}`,
    ]);
  });
});

describe('SessionsService.refresh after a role change', () => {
  it("ends a session whose role is no longer the user's (its revocation still on its way), issuing nothing", async () => {
    const calls: string[] = [];
    const sessions = {
      peek: async () => ({ sid: 's1', userId: 'u1', role: 'customer' }),
      revoke: async (userId: string, sid: string) => {
        calls.push(`revoke ${userId} ${sid}`);
      },
      rotate: async () => {
        calls.push('rotate');
        return { kind: 'rotated' };
      },
    };
    const users = { getProfile: async () => ({ id: 'u1', role: 'staff', disabled: false }) };
    const service = new SessionsService(
      {} as never,
      users as never,
      sessions as never,
      {} as never,
      {} as never,
      {} as never,
      {} as never, // outbox
      {} as never, // relay
      {} as never,
      { info: () => undefined, warn: () => undefined } as never,
    );
    await expect(service.refresh('s1.secret', {})).rejects.toMatchObject({
      status: 401,
      code: 'session_ended',
    });
    expect(calls).toEqual(['revoke u1 s1']);
  });
});
