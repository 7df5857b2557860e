import { QueryFailedError, type DataSourceOptions } from 'typeorm';
import {
  retryableLockFailure,
  retryDelayMs,
  withLockRetries,
  withLockTimeout,
  type LockRetry,
} from './migration-locks';

const pgError = (code: string, message: string, query = 'ALTER TABLE t ADD COLUMN c int\n  -- more') =>
  new QueryFailedError(query, [], Object.assign(new Error(message), { code }));

describe('migration locks', () => {
  it('sets lock_timeout on every connection of a Postgres DataSource, and nothing when it is 0', () => {
    const base = {
      type: 'postgres',
      url: 'postgres://x',
      extra: { idleTimeoutMillis: 1 },
    } as DataSourceOptions;
    expect(withLockTimeout(base, { lockTimeoutMs: 3000, attempts: 1 })).toMatchObject({
      extra: { idleTimeoutMillis: 1, lock_timeout: 3000 },
    });
    expect(withLockTimeout(base, { lockTimeoutMs: 0, attempts: 1 })).toBe(base);
  });

  it('retries lock timeouts and deadlocks only', () => {
    expect(retryableLockFailure(pgError('55P03', 'canceling statement due to lock timeout'))).toBe('55P03');
    expect(retryableLockFailure(pgError('40P01', 'deadlock detected'))).toBe('40P01');
    expect(retryableLockFailure(pgError('42P07', 'relation "t" already exists'))).toBeUndefined();
    expect(retryableLockFailure(Object.assign(new Error('x'), { code: '55P03' }))).toBeUndefined();
  });

  it('waits the lock timeout doubled at each failure, from 250 ms, up to 30 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((n) => retryDelayMs(3000, n))).toEqual([
      3000, 6000, 12000, 24000, 30000, 30000, 30000,
    ]);
    expect([1, 2, 3].map((n) => retryDelayMs(0, n))).toEqual([250, 500, 1000]);
  });

  it('tries again after a lock failure, and gives the last error up after the attempts', async () => {
    const slept: number[] = [];
    const retries: LockRetry[] = [];
    let calls = 0;
    const work = () => {
      calls++;
      return calls < 3
        ? Promise.reject(pgError('55P03', 'canceling statement due to lock timeout'))
        : Promise.resolve('done');
    };
    const sleep = (ms: number) => (slept.push(ms), Promise.resolve());
    await expect(
      withLockRetries({ lockTimeoutMs: 1000, attempts: 3 }, work, (r) => retries.push(r), sleep),
    ).resolves.toBe('done');
    expect(slept).toEqual([1000, 2000]);
    expect(retries[0]).toEqual({
      attempt: 1,
      code: '55P03',
      message: 'canceling statement due to lock timeout',
      statement: 'ALTER TABLE t ADD COLUMN c int',
      delayMs: 1000,
    });

    calls = 0;
    await expect(
      withLockRetries({ lockTimeoutMs: 1000, attempts: 2 }, work, () => undefined, sleep),
    ).rejects.toThrow('canceling statement due to lock timeout');
    expect(calls).toBe(2);
  });

  it('does not retry any other failure', async () => {
    let calls = 0;
    const work = () => (calls++, Promise.reject(pgError('23505', 'duplicate key')));
    await expect(
      withLockRetries(
        { lockTimeoutMs: 1000, attempts: 5 },
        work,
        () => undefined,
        () => Promise.resolve(),
      ),
    ).rejects.toThrow('duplicate key');
    expect(calls).toBe(1);
  });
});
