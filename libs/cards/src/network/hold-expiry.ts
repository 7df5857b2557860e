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
 *
 * The release and the mark are two steps in two databases' worth of transactions: a crash or a lost reply
 * between them left the authorisation pending for good, and the ledger lists only active holds. So each
 * run also asks the ledger about authorisations still pending past a hold's life (reconcile).
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
      if (due.length < PAGE) break;
    }
    return expired + (await this.reconcile(now));
  }

  /**
   * Authorisations still pending a minute past CARD_HOLD_EXPIRY_DAYS whose hold the ledger has released
   * in full (expired, or reversed): marked so, with all of it released. At most PAGE a run, oldest first;
   * a hold still active (its expiry was set longer) or cleared is left to its own path.
   */
  private async reconcile(now: Date): Promise<number> {
    const before = new Date(now.getTime() - (this.config.cardHoldExpiryDays * 86_400 + 60) * 1000);
    const stale = (await this.dataSource.query(
      `SELECT id FROM cards.authorisations WHERE status = 'pending' AND created_at < $1 ORDER BY created_at LIMIT $2`,
      [before.toISOString(), PAGE],
    )) as { id: string }[];
    let settled = 0;
    for (const { id } of stale) {
      const hold = await this.ledger.getHold(id);
      if (hold?.status !== 'expired' && hold?.status !== 'reversed') continue;
      await this.dataSource.query(
        `UPDATE cards.authorisations SET status = $2, released_amount = $3, updated_at = now()
          WHERE id = $1 AND status = 'pending'`,
        [id, hold.status, jsonAmount(hold.amount)],
      );
      settled++;
    }
    if (settled > 0)
      this.logger.warn({ settled }, 'card authorisations brought in line with their released holds');
    return settled;
  }
}
