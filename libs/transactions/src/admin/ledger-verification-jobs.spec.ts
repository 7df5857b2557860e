import type { MetricsService } from '@protobank/platform';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { TransactionsConfig } from '../transactions.config';
import { LedgerVerificationJobs, type LedgerVerificationJobData } from './ledger-verification-jobs';

const logger = { info: jest.fn(), warn: jest.fn() } as unknown as Logger;
const metrics = () => ({ gauge: jest.fn() });
const jobs = (queue: unknown, minutes = 60, gauges = metrics()) =>
  new LedgerVerificationJobs(
    queue as Queue<LedgerVerificationJobData>,
    { ledgerVerifyIntervalMinutes: minutes } as TransactionsConfig,
    gauges as unknown as MetricsService,
    logger,
  );
/** A queue as BullMQ's, recording what the schedule asks of it; `existing`: a schedule already there. */
const schedulingQueue = (existing: boolean) => ({
  on: jest.fn(),
  getJobScheduler: jest.fn(async () => (existing ? { key: 'ledger-verification-periodic' } : undefined)),
  upsertJobScheduler: jest.fn(async () => ({})),
  removeJobScheduler: jest.fn(async () => true),
  setGlobalConcurrency: jest.fn(async () => 1),
  add: jest.fn(async () => ({})),
});
const flush = () =>
  new Promise<void>((resolve) =>
    jest.requireActual<typeof import('node:timers')>('node:timers').setImmediate(resolve),
  );

const RESULT = { ok: true, mode: 'full' };

/**
 * A queue whose one job finishes after `readsBeforeDone` reads (of its state or of the job): a run that
 * completes between two reads of one GET, at every possible point.
 */
function finishingQueue(readsBeforeDone: number): Queue<LedgerVerificationJobData> {
  let reads = 0;
  const done = () => reads++ >= readsBeforeDone;
  const job = (finished: boolean) => ({
    id: 'v1',
    data: { mode: 'full', requested_by: 'u1' },
    timestamp: 1_000,
    processedOn: 2_000,
    finishedOn: finished ? 3_000 : undefined,
    returnvalue: finished ? RESULT : null,
    failedReason: undefined,
  });
  return {
    getJobState: () => Promise.resolve(done() ? 'completed' : 'active'),
    getJob: () => Promise.resolve(job(done())),
  } as unknown as Queue<LedgerVerificationJobData>;
}

describe('LedgerVerificationJobs.get', () => {
  it.each([0, 1, 2])(
    'never answers completed without its result, whenever the run finishes (after %i reads)',
    async (readsBeforeDone) => {
      const view = await jobs(finishingQueue(readsBeforeDone)).get('v1');
      if (view.status === 'completed') {
        expect(view.result).toEqual(RESULT);
        expect(view.finished_at).toBe(new Date(3_000).toISOString());
      } else {
        expect(view).toMatchObject({ status: 'running', result: null });
      }
    },
  );

  it('answers completed with the result once the run has finished', async () => {
    const view = await jobs(finishingQueue(0)).get('v1');
    expect(view).toMatchObject({
      status: 'completed',
      result: RESULT,
      started_at: new Date(2_000).toISOString(),
    });
  });
});

describe('LedgerVerificationJobs: the periodic verification', () => {
  it('schedules an incremental run every LEDGER_VERIFY_INTERVAL_MINUTES, tried again a minute later', async () => {
    const queue = schedulingQueue(false);
    const gauges = metrics();
    const periodic = jobs(queue, 30, gauges);
    periodic.onApplicationBootstrap();
    await flush();
    expect(queue.upsertJobScheduler).toHaveBeenCalledWith(
      'ledger-verification-periodic',
      { every: 30 * 60_000 },
      expect.objectContaining({
        name: 'verify',
        data: { mode: 'incremental', requested_by: null },
        opts: expect.objectContaining({
          attempts: 3,
          backoff: { type: 'fixed', delay: 60_000 },
          removeOnComplete: { age: 7 * 24 * 3600, count: 100 },
        }),
      }),
    );
    // A new schedule makes its first run at once: no other is added.
    expect(queue.add).not.toHaveBeenCalled();
    // One run at a time across every instance, periodic or staff's.
    expect(queue.setGlobalConcurrency).toHaveBeenCalledWith(1);
    // What LedgerVerificationStale compares the last run's age with.
    const [[name, , read]] = gauges.gauge.mock.calls as [string, string, () => number][];
    expect([name, read()]).toEqual(['ledger_verification_interval_seconds', 1800]);
    periodic.onApplicationShutdown();
  });

  it('runs once at every boot also when the schedule was already there (a restart)', async () => {
    const queue = schedulingQueue(true);
    const periodic = jobs(queue, 60);
    periodic.onApplicationBootstrap();
    await flush();
    expect(queue.upsertJobScheduler).toHaveBeenCalledTimes(1);
    expect(queue.add).toHaveBeenCalledWith(
      'verify',
      { mode: 'incremental', requested_by: null },
      expect.objectContaining({ deduplication: { id: 'ledger-verification-periodic:now' } }),
    );
    periodic.onApplicationShutdown();
  });

  it('never verifies when the interval is 0, and removes a schedule an earlier configuration left (tried until Redis takes it)', async () => {
    const queue = schedulingQueue(true);
    queue.removeJobScheduler.mockRejectedValueOnce(new Error('Connection is closed'));
    jest.useFakeTimers();
    const gauges = metrics();
    const off = jobs(queue, 0, gauges);
    off.onApplicationBootstrap();
    await flush();
    await jest.advanceTimersByTimeAsync(2_000);
    jest.useRealTimers();
    expect(queue.removeJobScheduler).toHaveBeenCalledTimes(2);
    expect(queue.removeJobScheduler).toHaveBeenCalledWith('ledger-verification-periodic');
    off.onApplicationShutdown();
    expect(queue.upsertJobScheduler).not.toHaveBeenCalled();
    expect(queue.add).not.toHaveBeenCalled();
    const [[, , read]] = gauges.gauge.mock.calls as [string, string, () => number][];
    expect(read()).toBe(0);
  });
});

describe('LedgerVerificationJobs.get: staff read their own', () => {
  it("answers 404 for a periodic run's job, which no staff member asked for", async () => {
    const queue = {
      getJobState: async () => 'completed',
      getJob: async () => ({ id: '6', data: { mode: 'incremental', requested_by: null }, timestamp: 1 }),
    };
    await expect(jobs(queue).get('6')).rejects.toMatchObject({ status: 404 });
  });
});
