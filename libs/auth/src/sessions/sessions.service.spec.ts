import { AppError } from '@protobank/platform';
import { SessionsService } from './sessions.service';

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
      {} as never,
      {} as never,
    );
    const attempt = service.login(' ＡＬＩＣＥ@Example.COM ', 'password', {});
    await expect(attempt).rejects.toBeInstanceOf(AppError);
    await expect(attempt).rejects.toMatchObject({ code: 'account_locked' });
    expect(queries).toEqual([['alice@example.com']]);
    expect(locks).toEqual(['alice@example.com']);
  });
});
