import { OnWorkerEvent, WorkerHost } from '@nestjs/bullmq';
import { Inject, type BeforeApplicationShutdown } from '@nestjs/common';
import type { Job, Worker } from 'bullmq';
import type { Logger } from 'pino';
import { LOGGER } from '../logging/logging.tokens';

/**
 * The base of every processor: `@Processor(queue, workerOptions) class X extends QueueWorker<JobData>`.
 * Worker options that come from config are set on `this.worker` in `onApplicationBootstrap` (the worker
 * exists by then; `concurrency` can change while it runs), since `@Processor`'s options are static.
 */
export abstract class QueueWorker<T> extends WorkerHost<Worker<T>> implements BeforeApplicationShutdown {
  @Inject(LOGGER) private readonly queueLogger!: Logger;
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
