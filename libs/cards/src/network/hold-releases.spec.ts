import { AppError } from '@protobank/platform';
import { HoldReleases, RELEASE_ATTEMPTS } from './hold-releases';

const busy = new AppError(503, 'ledger_busy', 'The ledger is busy; try again');
const unknownHold = new AppError(404, 'not_found', 'Hold not found');

function releasesWith(
  ledgerAnswer: () => Promise<unknown>,
  queueAnswer: () => Promise<unknown> = async () => [],
) {
  const ledger = { releaseHold: jest.fn(ledgerAnswer) };
  const queue = { addBulk: jest.fn(queueAnswer) };
  const logger = { warn: jest.fn() };
  const releases = new HoldReleases(ledger as never, queue as never, logger as never);
  return { releases, ledger, queue, logger };
}

describe('HoldReleases', () => {
  it('releases all that remains of the hold at once, queueing nothing', async () => {
    const { releases, ledger, queue } = releasesWith(async () => ({ status: 'reversed' }));
    await expect(releases.release('hold-1')).resolves.toBe(true);
    expect(ledger.releaseHold).toHaveBeenCalledWith({ hold_id: 'hold-1', amount: null, reason: 'reversed' });
    expect(queue.addBulk).not.toHaveBeenCalled();
  });

  it('takes a hold the ledger does not know (404) as nothing to release', async () => {
    const { releases, queue } = releasesWith(() => Promise.reject(unknownHold));
    await expect(releases.release('hold-1')).resolves.toBe(true);
    await expect(releases.releaseNow('hold-1')).resolves.toBeNull();
    expect(queue.addBulk).not.toHaveBeenCalled();
  });

  it('queues the release, one job per hold tried again with backoff, when the ledger cannot take it now', async () => {
    const { releases, queue, logger } = releasesWith(() => Promise.reject(busy));
    // False: the money is still held (an early-reversed approval's owner is told once the queue gives it
    // back).
    await expect(releases.release('hold-1')).resolves.toBe(false);
    expect(queue.addBulk).toHaveBeenCalledWith([
      {
        name: 'release',
        data: { reason: 'release', hold_id: 'hold-1' },
        opts: expect.objectContaining({
          jobId: 'release-hold-1',
          attempts: RELEASE_ATTEMPTS,
          backoff: { type: 'exponential', delay: 1000 },
        }),
      },
    ]);
    expect(logger.warn).toHaveBeenCalledWith(
      { err: busy, hold_id: 'hold-1' },
      'card hold release failed; queued to be tried again',
    );
  });

  it("gives the ledger's error to the caller when the queue cannot take the release either", async () => {
    const { releases, queue } = releasesWith(
      () => Promise.reject(busy),
      () => Promise.reject(new Error('Connection is closed')),
    );
    await expect(releases.release('hold-1')).rejects.toBe(busy);
    expect(queue.addBulk).toHaveBeenCalledTimes(1);
  });

  it('throws any other failure of a queued release, so the queue tries it again', async () => {
    const { releases } = releasesWith(() => Promise.reject(busy));
    await expect(releases.releaseNow('hold-1')).rejects.toBe(busy);
  });
});
