import { Worker, type ConnectionOptions, type Processor, type WorkerOptions } from 'bullmq';
import type { AppConfig } from '../config/app-config';

/** Where every BullMQ key lives: REDIS_KEY_PREFIX + `bull` (`<prefix>bull:<queue>:…`), as before @nestjs/bullmq. */
export const queuePrefix = (config: AppConfig): string => `${config.redisKeyPrefix}bull`;

const FAIL_FAST = { maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: 2000 } as const;

/**
 * A producer's connection (a queue's): while Redis is away a command fails (no offline queue, one retry, a
 * command timeout) instead of waiting, so a caller can fall back (a sweep, a 503). Options, not a client:
 * BullMQ then owns the connection and closes it with its queue. Reconnects keep ioredis's own pacing
 * (BullMQ's default backs off to 20 s, which would slow the recovery after an outage).
 */
export function producerConnection(config: AppConfig) {
  return {
    url: config.redisUrl,
    connectTimeout: 3000,
    retryStrategy: (attempt: number) => Math.min(attempt * 50, 2000),
    ...FAIL_FAST,
  };
}

/**
 * A worker's connections wait for Redis to come back instead: BullMQ needs `maxRetriesPerRequest: null`
 * there (it blocks while waiting for jobs), and a command timeout would cut its blocking reads short.
 */
export function workerConnection(connection: ConnectionOptions): ConnectionOptions {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { maxRetriesPerRequest, enableOfflineQueue, commandTimeout, ...rest } = connection as Record<
    string,
    unknown
  >;
  return { ...rest, maxRetriesPerRequest: null };
}

/**
 * @nestjs/bullmq builds a processor's worker from its queue's options (the producer connection above) and
 * takes no per-worker connection at runtime (only a static one in `@Processor`, which cannot read our
 * config). So the platform gives BullModule this worker class (QueuesModule sets it): the same Redis and
 * prefix, with the worker's settings.
 */
export class WaitingWorker extends Worker {
  constructor(name: string, processor: string | URL | null | Processor | undefined, opts: WorkerOptions) {
    super(name, processor, { ...opts, connection: workerConnection(opts.connection) });
  }
}
