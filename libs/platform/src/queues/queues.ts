import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { Queue, Worker, type JobsOptions, type Processor, type WorkerOptions } from 'bullmq';
import Redis, { type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { AppConfig } from '../config/app-config';
import { AppError } from '../errors/app-error';
import { LOGGER } from '../logging/logging.tokens';

/**
 * BullMQ queues and workers of this process, on their own Redis connections, with keys under
 * REDIS_KEY_PREFIX + `bull:`. Adding a job fails fast while Redis is down (no offline queue, one retry,
 * a command timeout), so a caller can fall back (a sweep, a 503) instead of hanging; a worker's
 * connection waits for Redis to come back (BullMQ needs `maxRetriesPerRequest: null` there, since it
 * blocks while waiting for jobs). On shutdown the workers stop taking jobs and finish the ones they hold,
 * then the queues close.
 */
const ADD_TIMEOUT_MS = 3000;

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
    this.connection ??= this.connect({
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      commandTimeout: 2000,
    });
    return this.connection;
  }

  private connect(options: RedisOptions): Redis {
    const client = new Redis(this.config.redisUrl, { connectTimeout: 3000, ...options });
    // Without a listener ioredis would print every reconnect attempt; the readiness check reports Redis.
    client.on('error', (err) => this.logger.debug({ err: err.message }, 'queue connection error'));
    return client;
  }

  queue<T>(name: string, defaultJobOptions?: JobsOptions): Queue<T> {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.shared(), prefix: this.prefix, defaultJobOptions });
      queue.on('error', (err) => this.logger.debug({ err: err.message, queue: name }, 'queue error'));
      this.queues.set(name, queue);
    }
    return queue as Queue<T>;
  }

  /**
   * Adds jobs, or throws 503 `queue_unavailable` when Redis has not taken them within ADD_TIMEOUT_MS:
   * a queue that never reached Redis waits for it instead of failing, and a caller must not hang on it.
   * If Redis takes them later after all, job ids (when given) keep that from doubling anything.
   */
  async addBulk<T>(queue: Queue<T>, jobs: Parameters<Queue<T>['addBulk']>[0]): Promise<void> {
    if (jobs.length === 0) return;
    const adding = queue.addBulk(jobs);
    adding.catch(() => undefined); // settled by the race below, or too late to matter
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new AppError(503, 'queue_unavailable', 'The job queue is unavailable; try again')),
        ADD_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([adding, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  worker<T>(name: string, processor: Processor<T>, options: Omit<WorkerOptions, 'connection'>): Worker<T> {
    const worker = new Worker<T>(name, processor, {
      ...options,
      connection: this.connect({ maxRetriesPerRequest: null }),
      prefix: this.prefix,
    });
    worker.on('error', (err) => this.logger.debug({ err: err.message, queue: name }, 'worker error'));
    this.workers.push(worker);
    return worker;
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.allSettled(this.workers.map((w) => w.close()));
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    await Promise.allSettled(
      [this.connection, ...this.workers.map((w) => w.opts.connection as Redis)]
        .filter((c): c is Redis => !!c)
        // A connection that never got through is dropped: QUIT would wait for it.
        .map((c) => (c.status === 'ready' ? c.quit().catch(() => c.disconnect()) : c.disconnect())),
    );
  }
}
