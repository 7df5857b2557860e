import type { Logger } from 'pino';
import type { AppConfig } from '../config/app-config';
import { Queues } from './queues';

describe('Queues', () => {
  it('answers 503 queue_unavailable, instead of waiting, when Redis cannot be reached', async () => {
    const logger = { debug: () => undefined, warn: () => undefined } as unknown as Logger;
    const queues = new Queues(
      { redisUrl: 'redis://127.0.0.1:1', redisKeyPrefix: 'unit:' } as AppConfig,
      logger,
    );
    const queue = queues.queue<{ n: number }>('unit');
    try {
      await expect(queues.addBulk(queue, [{ name: 'job', data: { n: 1 } }])).rejects.toMatchObject({
        status: 503,
        code: 'queue_unavailable',
      });
    } finally {
      await queues.beforeApplicationShutdown();
    }
  });
});
