import { Global, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import type { Logger } from 'pino';
import { AppConfig } from '../config/app-config';
import { LOGGER } from '../logging/logging.tokens';

/**
 * The app's Redis client. Every key carries REDIS_KEY_PREFIX. Commands fail after one retry instead of
 * queueing forever, so a Redis outage shows as errors and a failing readiness check, not as hung requests.
 */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  readonly client: Redis;

  constructor(config: AppConfig, @Inject(LOGGER) logger: Logger) {
    this.client = new Redis(config.redisUrl, {
      keyPrefix: config.redisKeyPrefix,
      maxRetriesPerRequest: 1,
      connectTimeout: 3000,
      // A Redis that hangs fails the command instead of holding the request (e.g. after money moved).
      commandTimeout: 2000,
      // Commands issued in the same tick by concurrent requests go out in one write: socket writes are
      // a large share of a request's CPU.
      enableAutoPipelining: true,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    });
    let warned = false;
    this.client.on('error', (err) => {
      if (!warned) logger.warn({ err: err.message }, 'redis unavailable');
      warned = true;
    });
    this.client.on('ready', () => {
      if (warned) logger.info('redis available again');
      warned = false;
    });
  }

  async ping(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([this.client.ping(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

@Global()
@Module({ providers: [RedisService], exports: [RedisService] })
export class RedisModule {}
