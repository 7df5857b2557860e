import { BullModule, getQueueToken, Processor } from '@nestjs/bullmq';
import { Global, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Job, Queue } from 'bullmq';
import type { DataSource } from 'typeorm';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/app-config';
import { AppConfig as AppConfigToken } from '../config/app-config';
import { LOGGER } from '../logging/logging.tokens';
import type { OutboxRelay } from '../messaging/events/outbox-relay';
import { MetricsService } from '../metrics/metrics.service';
import { addJobs } from './add-jobs';
import { WaitingWorker } from './queue-connections';
import { QueueWorker } from './queue-worker';
import { QueuesModule } from './queues.module';

// Nothing listens there: Redis is away for the whole test.
const config = { redisUrl: 'redis://127.0.0.1:1', redisKeyPrefix: 'unit:' } as AppConfig;
const logger = { debug: () => undefined, warn: () => undefined } as unknown as Logger;

@Global()
@Module({
  providers: [
    { provide: AppConfigToken, useValue: config },
    { provide: LOGGER, useValue: logger },
    {
      provide: MetricsService,
      useFactory: () =>
        new MetricsService('unit', {} as DataSource, { ownedSchemas: () => [] } as unknown as OutboxRelay),
    },
  ],
  exports: [AppConfigToken, LOGGER, MetricsService],
})
class FakePlatform {}

@Processor('unit', { concurrency: 3 })
class UnitWorker extends QueueWorker<{ n: number }> {
  async process(job: Job<{ n: number }>): Promise<number> {
    return job.data.n;
  }
}

const events: string[] = [];

/** Stands for the app's other shutdown hooks (the database closes in one). */
@Injectable()
class Database implements OnApplicationShutdown {
  onApplicationShutdown(): void {
    events.push('database closed');
  }
}

describe('QueuesModule (@nestjs/bullmq)', () => {
  const start = () =>
    Test.createTestingModule({
      imports: [FakePlatform, QueuesModule, BullModule.registerQueue({ name: 'unit' })],
      providers: [UnitWorker, Database],
    })
      .compile()
      .then((m) => {
        // As a producer does: without a listener BullMQ prints every failed connection attempt.
        m.get<Queue>(getQueueToken('unit')).on('error', () => undefined);
        return m.init();
      });

  it('gives queues the fail-fast producer connection, and workers a waiting one, under <prefix>bull', async () => {
    const app = await start();
    try {
      const queue = app.get<Queue>(getQueueToken('unit'));
      expect(queue.opts.prefix).toBe('unit:bull');
      expect(queue.opts.connection).toMatchObject({
        url: config.redisUrl,
        maxRetriesPerRequest: 1,
        enableOfflineQueue: false,
        commandTimeout: 2000,
      });
      const worker = app.get(UnitWorker).worker;
      expect(worker).toBeInstanceOf(WaitingWorker);
      expect(worker.opts).toMatchObject({ prefix: 'unit:bull', concurrency: 3 });
      expect(worker.opts.connection).toMatchObject({ url: config.redisUrl, maxRetriesPerRequest: null });
      expect(worker.opts.connection).not.toHaveProperty('enableOfflineQueue');
      expect(worker.opts.connection).not.toHaveProperty('commandTimeout');
    } finally {
      await app.close();
    }
  });

  it('answers 503 queue_unavailable, instead of waiting, when Redis cannot be reached', async () => {
    const app = await start();
    try {
      const queue = app.get<Queue<{ n: number }>>(getQueueToken('unit'));
      await expect(addJobs(queue, [{ name: 'job', data: { n: 1 } }])).rejects.toMatchObject({
        status: 503,
        code: 'queue_unavailable',
      });
    } finally {
      await app.close();
    }
  });

  it('reports its queues as bullmq_jobs, and a scrape answers without them while Redis is away', async () => {
    const app = await start();
    try {
      const text = await app.get(MetricsService).registry.metrics();
      expect(text).toContain('# TYPE bullmq_jobs gauge');
      // Redis never answered: no counts to report, and the scrape did not wait for it.
      expect(text).not.toContain('bullmq_jobs{');
    } finally {
      await app.close();
    }
  });

  it('closes its worker before the app shutdown hooks, and then its queue', async () => {
    const app = await start();
    const worker = app.get(UnitWorker).worker;
    const queue = app.get<Queue>(getQueueToken('unit'));
    events.length = 0;
    worker.on('closed', () => events.push('worker closed'));
    await app.close();
    expect(events).toEqual(['worker closed', 'database closed']);
    await expect(queue.closing).resolves.toBeUndefined();
  });
});
