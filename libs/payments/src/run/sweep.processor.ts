import { Processor } from '@nestjs/bullmq';
import { Inject, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { LOGGER } from '@protobank/platform';
import { keepJobScheduler, QueueWorker } from '@protobank/platform/queues';
import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import { DueSweep, type SweepCounts } from './due-sweep';
import { InjectPaymentQueue, PaymentQueues, type PaymentQueue, type SweepJob } from './queues';

/** The job scheduler's id: one schedule, however many payments instances upsert it. */
const SCHEDULER_ID = 'due-sweep-every-minute';
const EVERY_MS = 60_000;

/**
 * Runs the due sweep as BullMQ jobs: a job scheduler (`upsertJobScheduler`, one per queue whatever the
 * number of instances) adds one every minute, and an order set up for today adds one at once (SweepKicks).
 * A worker takes one job at a time, and DueSweep's lock keeps sweeps of several instances apart.
 */
@Processor(PaymentQueues.sweeps, { concurrency: 1 })
export class SweepProcessor
  extends QueueWorker<SweepJob>
  implements OnApplicationBootstrap, OnApplicationShutdown
{
  private stopScheduling?: () => void;

  constructor(
    private readonly sweep: DueSweep,
    @InjectPaymentQueue('sweeps') private readonly queue: PaymentQueue<'sweeps'>,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    // Without a listener BullMQ prints every failed connection attempt; readiness reports Redis.
    this.queue.on('error', () => undefined);
    // Not awaited, and retried until Redis takes it: Redis may be down at boot.
    this.stopScheduling = keepJobScheduler(
      this.queue,
      SCHEDULER_ID,
      { every: EVERY_MS },
      { name: 'sweep', data: { reason: 'schedule' }, opts: { removeOnComplete: true, removeOnFail: 100 } },
      this.logger,
    );
  }

  onApplicationShutdown(): void {
    this.stopScheduling?.();
  }

  async process(job: Job<SweepJob>): Promise<SweepCounts> {
    const counts = await this.sweep.run();
    if (counts.scheduled + counts.paid + counts.failed + counts.retrying + counts.errors > 0) {
      this.logger.info({ ...counts, reason: job.data.reason }, 'payments due sweep');
    }
    return counts;
  }
}
