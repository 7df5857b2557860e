import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { keepJobScheduler } from './job-scheduler';

const logger = () => ({ info: jest.fn(), warn: jest.fn() }) as unknown as Logger & Record<string, jest.Mock>;
const flush = () =>
  new Promise<void>((resolve) =>
    jest.requireActual<typeof import('node:timers')>('node:timers').setImmediate(resolve),
  );

describe('keepJobScheduler', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('keeps trying, backing off, until Redis takes the scheduler, then stops', async () => {
    const upsert = jest
      .fn()
      .mockRejectedValueOnce(new Error('Command timed out'))
      .mockRejectedValueOnce(new Error('Connection is closed'))
      .mockResolvedValue({});
    const log = logger();
    keepJobScheduler(
      { upsertJobScheduler: upsert } as unknown as Queue,
      'sweep',
      { every: 1000 },
      { name: 'x' },
      log,
    );
    await flush();
    expect(upsert).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(1999);
    expect(upsert).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(upsert).toHaveBeenCalledTimes(2);
    await jest.advanceTimersByTimeAsync(4000); // the second wait is twice the first
    expect(upsert).toHaveBeenCalledTimes(3);
    expect(upsert).toHaveBeenLastCalledWith('sweep', { every: 1000 }, { name: 'x' });
    expect(log.warn).toHaveBeenCalledTimes(2);
    expect(log.info).toHaveBeenCalledWith({ what: 'job scheduler sweep' }, 'job scheduler sweep: done');
    await jest.advanceTimersByTimeAsync(600_000);
    expect(upsert).toHaveBeenCalledTimes(3);
  });

  it('with runNow, adds a job now when the scheduler was already there, once however many retries', async () => {
    const queue = {
      getJobScheduler: jest.fn().mockResolvedValue({ key: 'verify' }),
      upsertJobScheduler: jest.fn().mockResolvedValue({}),
      add: jest.fn().mockRejectedValueOnce(new Error('Connection is closed')).mockResolvedValue({}),
    };
    const template = { name: 'verify', data: { a: 1 }, opts: { attempts: 3 } };
    keepJobScheduler(queue as unknown as Queue, 'v', { every: 1000 }, template, logger(), { runNow: true });
    await flush();
    await jest.advanceTimersByTimeAsync(2000);
    expect(queue.add).toHaveBeenCalledTimes(2);
    expect(queue.add).toHaveBeenLastCalledWith(
      'verify',
      { a: 1 },
      { attempts: 3, deduplication: { id: 'v:now' } },
    );
    await jest.advanceTimersByTimeAsync(600_000);
    expect(queue.add).toHaveBeenCalledTimes(2);
    // A new scheduler (none there before) makes its first job itself.
    const fresh = { ...queue, getJobScheduler: jest.fn().mockResolvedValue(undefined), add: jest.fn() };
    keepJobScheduler(fresh as unknown as Queue, 'v', { every: 1000 }, template, logger(), { runNow: true });
    await flush();
    expect(fresh.upsertJobScheduler).toHaveBeenCalled();
    expect(fresh.add).not.toHaveBeenCalled();
  });

  it('stops retrying when stopped (shutdown)', async () => {
    const upsert = jest.fn().mockRejectedValue(new Error('Connection is closed'));
    const stop = keepJobScheduler(
      { upsertJobScheduler: upsert } as unknown as Queue,
      'sweep',
      { every: 1000 },
      { name: 'x' },
      logger(),
    );
    await flush();
    stop();
    await jest.advanceTimersByTimeAsync(600_000);
    expect(upsert).toHaveBeenCalledTimes(1);
  });
});
