import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { Queue, Worker, type JobsOptions, type Processor, type WorkerOptions } from 'bullmq';
import Redis from 'ioredis';
import type { Logger } from 'pino';
import { AppConfig } from '../config/app-config';
import { LOGGER } from '../logging/logging.tokens';

/**
 * BullMQ queues and workers of this process. They get their own Redis connections: a worker blocks its
 * connection while it waits for jobs, and BullMQ needs `maxRetriesPerRequest: null` (retry until Redis is
 * back) where the app's client fails fast. Keys live under REDIS_KEY_PREFIX + `bull:`. On shutdown the
 * workers stop taking jobs and finish the ones they hold, then the queues close.
 */
@Injectable()
export class Queues implements BeforeApplicationShutdown {
  private readonly queues = new Map<string, Queue>();
  private readonly workers: Worker[] = [];
  private connection?: Redis;

  constructor(
    private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  private get prefix(): string {
    return `${this.config.redisKeyPrefix}bull`;
  }

  private shared(): Redis {
    this.connection ??= this.connect();
    return this.connection;
  }

  private connect(): Redis {
    const client = new Redis(this.config.redisUrl, { maxRetriesPerRequest: null, connectTimeout: 3000 });
    // BullMQ logs nothing on its own; without a listener ioredis would print every reconnect attempt.
    client.on('error', (err) => this.logger.debug({ err: err.message }, 'queue connection error'));
    return client;
  }

  queue<T>(name: string, defaultJobOptions?: JobsOptions): Queue<T> {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.shared(), prefix: this.prefix, defaultJobOptions });
      queue.on('error', (err) => this.logger.warn({ err: err.message, queue: name }, 'queue error'));
      this.queues.set(name, queue);
    }
    return queue as Queue<T>;
  }

  worker<T>(name: string, processor: Processor<T>, options: Omit<WorkerOptions, 'connection'>): Worker<T> {
    const worker = new Worker<T>(name, processor, {
      ...options,
      connection: this.connect(),
      prefix: this.prefix,
    });
    worker.on('error', (err) => this.logger.warn({ err: err.message, queue: name }, 'worker error'));
    this.workers.push(worker);
    return worker;
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.allSettled(this.workers.map((w) => w.close()));
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    await Promise.allSettled(
      [this.connection, ...this.workers.map((w) => w.opts.connection as Redis)]
        .filter((c): c is Redis => !!c)
        .map((c) => c.quit().catch(() => c.disconnect())),
    );
  }
}
