import { OnWorkerEvent, WorkerHost } from '@nestjs/bullmq';
import { Inject, type BeforeApplicationShutdown } from '@nestjs/common';
import type { Job, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { LOGGER } from '../logging/logging.tokens';
import { MetricsService } from '../metrics/metrics.service';

/** Jobs that failed for good, by queue. */
export const FAILED_JOBS_METRIC = 'bullmq_jobs_failed_total';

/**
 * The base of every processor: `@Processor(queue, workerOptions) class X extends QueueWorker<JobData>`.
 * Worker options that come from config are set on `this.worker` in `onApplicationBootstrap` (the worker
 * exists by then; `concurrency` can change while it runs), since `@Processor`'s options are static.
 */
export abstract class QueueWorker<T> extends WorkerHost<Worker<T>> implements BeforeApplicationShutdown {
  @Inject(LOGGER) private readonly queueLogger!: Logger;
  @Inject(MetricsService) private readonly queueMetrics!: MetricsService;
  private reachedRedis = false;

  abstract override process(job: Job<T>): Promise<unknown>;

  /** Without a listener BullMQ would print every reconnect attempt; the readiness check reports Redis. */
  @OnWorkerEvent('error')
  onWorkerError(err: Error): void {
    this.queueLogger.debug({ err: err.message, queue: this.worker.name }, 'worker error');
  }

  @OnWorkerEvent('ready')
  onWorkerReady(): void {
    this.reachedRedis = true;
    // From 0, so that the first failure is an increase Prometheus sees.
    this.failedJobs().inc({ queue: this.worker.name }, 0);
  }

  /**
   * A job that used up its attempts counts in bullmq_jobs_failed_total{queue}: the failed set itself stops
   * growing once `removeOnFail` trims it (100 kept), and deliveries keep none, so an alert on its size went
   * blind after a while of failures, or never saw any.
   */
  @OnWorkerEvent('failed')
  onJobFailed(job: Job<T> | undefined, err: Error | undefined): void {
    // BullMQ's UnrecoverableError (a delivery refused for good, 4xx) ends the job whatever attempts remain.
    const final = err?.name === 'UnrecoverableError' || !job || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (final) this.failedJobs().inc({ queue: this.worker.name });
  }

  private failedJobs() {
    return this.queueMetrics.counter(
      FAILED_JOBS_METRIC,
      'BullMQ jobs that failed for good (their last attempt), by queue',
      ['queue'],
    );
  }

  /**
   * Stops taking jobs and finishes the ones it holds, before the app's shutdown hooks close the database
   * they use (@nestjs/bullmq would close it later, in onApplicationShutdown; closing twice is a no-op).
   */
  async beforeApplicationShutdown(): Promise<void> {
    let worker: Worker<T>;
    try {
      worker = this.worker;
    } catch {
      return; // the app stopped before its workers were created
    }
    // A worker that never reached Redis holds no job, and BullMQ's graceful close would wait for Redis.
    await worker.close(!this.reachedRedis);
  }
}
