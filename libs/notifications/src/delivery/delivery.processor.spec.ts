import type { MetricsService } from '@protobank/platform';
import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { PreferencesService } from '../preferences/preferences.service';
import type { DeliveryChannel } from './channels/channel';
import { DeliveryProcessor } from './delivery.processor';
import type { DeliveryJob } from './queues';

/**
 * DeliveryProcessor over fakes: a push delivery whose message goes out while the database refuses the
 * first `recordFailures` recordings of it.
 */
function setup(recordFailures: number) {
  const sent: string[] = [];
  const recorded: unknown[][] = [];
  let failures = recordFailures;
  const dataSource = {
    query: (sql: string, params: unknown[]) => {
      if (sql.includes('WITH d AS')) {
        return Promise.resolve([
          {
            id: 'delivery-1',
            notification_id: 'notification-1',
            user_id: 'user-1',
            channel: 'push',
            status: 'pending',
            generation: 1,
            category: 'transactions',
            type: 'transaction.received',
            title: 'Money in',
            body: 'You received £1.00',
            data: {},
            created_at: new Date('2026-12-01T12:00:00Z'),
            read_at: null,
          },
        ]);
      }
      if (failures > 0) {
        failures--;
        return Promise.reject(new Error('connection terminated'));
      }
      recorded.push(params);
      return Promise.resolve([]);
    },
  } as unknown as DataSource;
  const push = {
    name: 'push',
    needsContact: false,
    unavailable: () => null,
    send: (m: { delivery_id: string }) => {
      sent.push(m.delivery_id);
      return Promise.resolve({ status: 'sent' });
    },
  } as unknown as DeliveryChannel;
  const preferences = {
    get: () => Promise.resolve({ transactions: { push: true } }),
  } as unknown as PreferencesService;
  const errors: string[] = [];
  const logger = {
    error: (_: unknown, msg: string) => errors.push(msg),
    warn: () => undefined,
  } as unknown as Logger;
  const metrics = { counter: () => ({ inc: () => undefined }) } as unknown as MetricsService;
  const processor = new DeliveryProcessor(dataSource, [push], {} as never, preferences, logger, metrics);
  const job = {
    data: { delivery_id: 'delivery-1', generation: 1 },
    attemptsMade: 0,
    opts: {},
  } as Job<DeliveryJob>;
  return { processor, job, sent, recorded, errors };
}

describe('DeliveryProcessor', () => {
  it('records a sent message after the database refused the first tries, and sends it once', async () => {
    const { processor, job, sent, recorded, errors } = setup(2);
    await expect(processor.process(job)).resolves.toBeUndefined();
    expect(sent).toEqual(['delivery-1']);
    expect(recorded).toEqual([['delivery-1', 1, 'sent', null]]);
    expect(errors).toEqual([]);
  });

  it('completes the job, logged, when the message went out and could never be recorded (no retry resends it)', async () => {
    const { processor, job, sent, recorded, errors } = setup(100);
    await expect(processor.process(job)).resolves.toBeUndefined();
    expect(sent).toEqual(['delivery-1']);
    expect(recorded).toEqual([]);
    expect(errors).toEqual(['notification delivered but not recorded: the sweep may send it again']);
  });
});
