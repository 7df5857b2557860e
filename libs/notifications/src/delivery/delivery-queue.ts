import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { LOGGER } from '@protobank/platform';
import { addJobs } from '@protobank/platform/queues';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { InjectNotificationQueue, type DeliveryJob, type NotificationQueue } from './queues';

/** A pending row untouched for this long has no job (the app stopped between commit and enqueue). */
const ORPHAN_AFTER_SECONDS = 30;
const SWEEP_EVERY_MS = 15_000;

/**
 * Adds delivery jobs. Rows are written in the same transaction as their notification, and enqueued after
 * commit; the job id is the row id and its generation, so enqueueing twice (after-commit and the sweep that
 * re-enqueues orphaned pending rows) yields one job. Retries and their backoff are the queue's defaults
 * (NotificationsModule registers it).
 */
@Injectable()
export class DeliveryQueue implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer?: NodeJS.Timeout;

  constructor(
    @InjectNotificationQueue('deliveries') readonly queue: NotificationQueue<'deliveries'>,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    // Without a listener BullMQ would print every reconnect attempt; the readiness check reports Redis.
    queue.on('error', (err) => this.logger.debug({ err: err.message, queue: queue.name }, 'queue error'));
  }

  /** 503 when Redis does not take the jobs in time (see addJobs); a job id already queued is a no-op. */
  async enqueue(jobs: DeliveryJob[]): Promise<void> {
    await addJobs(
      this.queue,
      jobs.map((data) => ({
        name: 'deliver',
        data,
        opts: { jobId: `${data.delivery_id}-${data.generation}` },
      })),
    );
  }

  /** After commit: a failure here is logged, and the sweep enqueues the rows later. */
  async enqueueAfterCommit(jobs: DeliveryJob[]): Promise<void> {
    await this.enqueue(jobs).catch((err: unknown) =>
      this.logger.warn({ err, deliveries: jobs.length }, 'deliveries not enqueued; the sweep will'),
    );
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sweep(), SWEEP_EVERY_MS);
    this.timer.unref();
  }

  /** Enqueues pending rows that have waited too long (an existing job makes this a no-op). */
  async sweep(): Promise<number> {
    try {
      const rows = (await this.dataSource.query(
        `SELECT id AS delivery_id, generation FROM notifications.deliveries
          WHERE status = 'pending' AND updated_at < now() - make_interval(secs => $1)
          ORDER BY updated_at LIMIT 500`,
        [ORPHAN_AFTER_SECONDS],
      )) as DeliveryJob[];
      await this.enqueue(rows);
      return rows.length;
    } catch (err) {
      this.logger.warn({ err }, 'delivery sweep failed');
      return 0;
    }
  }

  beforeApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
