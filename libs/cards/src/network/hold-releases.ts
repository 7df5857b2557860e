import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import { TRANSACTIONS_API, type HoldReleaseResult, type TransactionsApi } from '@protobank/contracts';
import { AppError, LOGGER } from '@protobank/platform';
import { addJobs } from '@protobank/platform/queues';
import type { Queue } from 'bullmq';
import type { Logger } from 'pino';
import { HOLD_EXPIRY_QUEUE, type HoldExpiryJob } from './hold-expiry-job';

/**
 * Tries of a release handed to the queue, the waits from one second, doubling: 16,383 s (about 4.5 hours)
 * in all, so a ledger app down for a deployment or an outage does not leave a declined payment's money
 * held until the hold expires.
 */
export const RELEASE_ATTEMPTS = 15;

/**
 * Gives back what a declined authorisation's hold still holds: a decline recorded after the ledger
 * approved (the card was stopped meanwhile, another attempt's decline came first), or a hold a crashed
 * earlier attempt may have placed. The decline is recorded already, so it is the network's answer
 * whatever the release does: a ledger that cannot take the release now (503 ledger_busy, its app down in
 * split mode) gets it from the hold-expiry queue instead, retried with backoff, rather than the network an
 * error for a decided message. Only when the queue cannot take it either does the error reach the network,
 * whose retry releases (its recording finds the decline); failing that, the hold expires
 * (CARD_HOLD_EXPIRY_DAYS).
 */
@Injectable()
export class HoldReleases {
  constructor(
    @Inject(TRANSACTIONS_API) private readonly ledger: TransactionsApi,
    @InjectQueue(HOLD_EXPIRY_QUEUE) private readonly queue: Queue<HoldExpiryJob>,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * Releases the hold now, or queues its release; a hold the ledger does not know is nothing to do. True
   * when nothing is held any more; false when the release waits in the queue (the money still held).
   */
  async release(holdId: string): Promise<boolean> {
    try {
      await this.releaseNow(holdId);
      return true;
    } catch (err) {
      try {
        await addJobs(this.queue, [
          {
            name: 'release',
            data: { reason: 'release', hold_id: holdId },
            opts: {
              // One job per hold while it waits: a second decline's release of it adds nothing.
              jobId: `release-${holdId}`,
              attempts: RELEASE_ATTEMPTS,
              backoff: { type: 'exponential', delay: 1000 },
              removeOnComplete: true,
              removeOnFail: 100,
            },
          },
        ]);
      } catch {
        throw err;
      }
      this.logger.warn({ err, hold_id: holdId }, 'card hold release failed; queued to be tried again');
      return false;
    }
  }

  /**
   * Releases all that remains of the hold (reason reversed): the ledger's answer, or null for a hold it
   * does not know (404), which is not an error.
   */
  async releaseNow(holdId: string): Promise<HoldReleaseResult | null> {
    try {
      return await this.ledger.releaseHold({ hold_id: holdId, amount: null, reason: 'reversed' });
    } catch (err) {
      if (err instanceof AppError && err.status === 404) return null;
      throw err;
    }
  }
}
