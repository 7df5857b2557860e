import type { AppConfig, MetricsService } from '@protobank/platform';
import { withSessionLock } from '@protobank/platform';
import type { Logger } from 'pino';
import { LedgerVerifySchedule } from './ledger-verify.schedule';
import type { LedgerVerification, LedgerVerifyService } from './ledger-verify.service';
import type { TransactionsConfig } from '../transactions.config';

// Only the lock is replaced: the rest of the platform (its lock keys, configProvider) is the real one.
jest.mock('@protobank/platform', () => ({
  ...jest.requireActual<object>('@protobank/platform'),
  withSessionLock: jest.fn(),
}));
const lock = jest.mocked(withSessionLock);

const CLEAN: LedgerVerification = {
  ok: true,
  checked_accounts: 0,
  checked_entries: 0,
  mismatches: [],
  mode: 'incremental',
  since: null,
  new_entries: 0,
  checkpointed: true,
};
const logger = { debug: jest.fn(), warn: jest.fn(), error: jest.fn() } as unknown as Logger;

function schedule(minutes: number, verify: (signal?: AbortSignal) => Promise<LedgerVerification>) {
  const verifier = { verify: jest.fn(verify) };
  const config = { databaseListenUrl: 'postgres://x' } as AppConfig;
  const ledgerConfig = { ledgerVerifyIntervalMinutes: minutes } as TransactionsConfig;
  const metrics = { gauge: jest.fn() };
  const s = new LedgerVerifySchedule(
    verifier as unknown as LedgerVerifyService,
    config,
    ledgerConfig,
    logger,
    metrics as unknown as MetricsService,
  );
  return { s, verifier };
}

describe('LedgerVerifySchedule', () => {
  beforeEach(() => {
    jest.useFakeTimers();
    lock.mockReset();
    lock.mockImplementation(async (_url, _key, work) => ({ locked: true, value: await work() }));
  });
  afterEach(() => jest.useRealTimers());

  it('verifies right after boot, then every LEDGER_VERIFY_INTERVAL_MINUTES, under one advisory lock', async () => {
    const { s, verifier } = schedule(60, async () => CLEAN);
    s.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(0);
    expect(verifier.verify).toHaveBeenCalledTimes(1);
    expect(lock).toHaveBeenCalledWith('postgres://x', 0x6c65_6467, expect.any(Function));
    await jest.advanceTimersByTimeAsync(59 * 60_000);
    expect(verifier.verify).toHaveBeenCalledTimes(1);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(verifier.verify).toHaveBeenCalledTimes(2);
    await s.beforeApplicationShutdown();
  });

  it('never verifies when the interval is 0', async () => {
    const { s, verifier } = schedule(0, async () => CLEAN);
    s.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(24 * 3600_000);
    expect(verifier.verify).not.toHaveBeenCalled();
    expect(lock).not.toHaveBeenCalled();
  });

  it('skips its turn while another replica holds the lock', async () => {
    lock.mockResolvedValue({ locked: false });
    const { s, verifier } = schedule(30, async () => CLEAN);
    s.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(0);
    expect(lock).toHaveBeenCalledTimes(1);
    expect(verifier.verify).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(30 * 60_000);
    expect(lock).toHaveBeenCalledTimes(2);
    await s.beforeApplicationShutdown();
  });

  it('tries again in a minute after a run that could not complete', async () => {
    let calls = 0;
    const { s, verifier } = schedule(60, async () => {
      if (++calls === 1) throw new Error('database away');
      return CLEAN;
    });
    s.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(0);
    expect(logger.warn).toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(60_000);
    expect(verifier.verify).toHaveBeenCalledTimes(2);
    await s.beforeApplicationShutdown();
  });

  it('cancels a run in progress at shutdown instead of waiting for it, and schedules no other', async () => {
    let signal: AbortSignal | undefined;
    const { s, verifier } = schedule(60, (given) => {
      signal = given;
      // A long verification: it ends only when cancelled.
      return new Promise((_, reject) =>
        given!.addEventListener('abort', () => reject(new Error('cancelled'))),
      );
    });
    s.onApplicationBootstrap();
    await jest.advanceTimersByTimeAsync(0);
    expect(signal?.aborted).toBe(false);
    await s.beforeApplicationShutdown();
    expect(signal?.aborted).toBe(true);
    await jest.advanceTimersByTimeAsync(24 * 3600_000);
    expect(verifier.verify).toHaveBeenCalledTimes(1);
  });
});
