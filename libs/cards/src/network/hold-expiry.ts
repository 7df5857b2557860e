import { InjectQueue, Processor } from '@nestjs/bullmq';
import { Inject, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { TRANSACTIONS_API, type TransactionsApi } from '@protobank/contracts';
import { AppConfig, jsonAmount, LOGGER } from '@protobank/platform';
import { keepJobScheduler, QueueWorker } from '@protobank/platform/queues';
import type { Job, Queue } from 'bullmq';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';

/** The cards module's BullMQ queue of hold-expiry sweeps. */
export const HOLD_EXPIRY_QUEUE = 'card-hold-expiry';
/** The job scheduler's id: one schedule, however many cards instances upsert it. */
const SCHEDULER_ID = 'hold-expiry';
/** Holds asked of the ledger per round. */
const PAGE = 200;

export interface HoldExpiryJob {
  reason: 'schedule';
}

/**
 * Releases the holds the network never cleared or reversed, once CARD_HOLD_EXPIRY_DAYS have passed: the
 * ledger lists the active holds past their expiry, releases each (reason expired) under its account's
 * lock, and the authorisation is marked expired. Run by a BullMQ job scheduler every
 * CARD_HOLD_EXPIRY_SWEEP_SECONDS. Safe to run twice at once: a release of a hold no longer active
 * (cleared meanwhile, or released by the other run) changes nothing and is not marked expired.
 */
@Processor(HOLD_EXPIRY_QUEUE, { concurrency: 1 })
export class HoldExpiry
  extends QueueWorker<HoldExpiryJob>
  implements OnApplicationBootstrap, OnApplicationShutdown
{
  private stopScheduling?: () => void;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(TRANSACTIONS_API) private readonly ledger: TransactionsApi,
    @InjectQueue(HOLD_EXPIRY_QUEUE) private readonly queue: Queue<HoldExpiryJob>,
    private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    // Without a listener BullMQ prints every failed connection attempt; readiness reports Redis.
    this.queue.on('error', () => undefined);
    this.stopScheduling = keepJobScheduler(
      this.queue,
      SCHEDULER_ID,
      { every: this.config.cardHoldExpirySweepSeconds * 1000 },
      { name: 'expire', data: { reason: 'schedule' }, opts: { removeOnComplete: true, removeOnFail: 100 } },
      this.logger,
    );
  }

  onApplicationShutdown(): void {
    this.stopScheduling?.();
  }

  async process(_job: Job<HoldExpiryJob>): Promise<number> {
    const expired = await this.run();
    if (expired > 0) this.logger.info({ expired }, 'card holds expired');
    return expired;
  }

  /** Releases every hold past its expiry now; how many expired. */
  async run(now = new Date()): Promise<number> {
    let expired = 0;
    for (;;) {
      const due = await this.ledger.expiredHolds(now.toISOString(), PAGE);
      for (const { hold_id } of due) {
        const result = await this.ledger.releaseHold({ hold_id, amount: null, reason: 'expired' });
        if (result.status !== 'expired') continue;
        expired++;
        await this.dataSource.query(
          `UPDATE cards.authorisations SET status = 'expired', released_amount = released_amount + $2,
                  updated_at = now() WHERE id = $1 AND status = 'pending'`,
          [hold_id, jsonAmount(result.released)],
        );
      }
      if (due.length < PAGE) return expired;
    }
  }
}
