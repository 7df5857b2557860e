import type { MetricsService } from '@protobank/platform';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { InAppChannel } from './channels/in-app.channel';
import type { DeliveryQueue } from './delivery-queue';
import { InAppNow, type InAppDelivery } from './in-app-now';
import type { DeliveryJob } from './queues';

const delivery = (n: number): InAppDelivery => ({
  delivery_id: `delivery-${n}`,
  user_id: `user-${n}`,
  notification: {
    id: `notification-${n}`,
    category: 'transactions',
    type: 'card.spent',
    title: 'Card payment',
    body: '£25.50 spent at Starbucks',
    data: {},
    created_at: '2026-12-01T12:00:00.000Z',
    read_at: null,
  },
});

/** InAppNow over fakes: the pushes that fail are the users in `failing`; queries are recorded. */
function setup(failing: string[], recordFails = false) {
  const pushed: string[] = [];
  const inApp = {
    name: 'in_app',
    send: ({ user_id }: { user_id: string }) => {
      if (failing.includes(user_id)) return Promise.reject(new Error('redis down'));
      pushed.push(user_id);
      return Promise.resolve({ status: 'sent' });
    },
  } as unknown as InAppChannel;
  const queued: DeliveryJob[] = [];
  const queue = {
    enqueueAfterCommit: (jobs: DeliveryJob[]) => Promise.resolve(void queued.push(...jobs)),
  } as unknown as DeliveryQueue;
  const queries: unknown[][] = [];
  const dataSource = {
    query: (_sql: string, params: unknown[]) => {
      queries.push(params);
      return recordFails ? Promise.reject(new Error('connection lost')) : Promise.resolve([]);
    },
  } as unknown as DataSource;
  const warnings: string[] = [];
  const logger = { warn: (_o: unknown, msg: string) => warnings.push(msg) } as unknown as Logger;
  const counts: Record<string, number> = {};
  const metrics = {
    counter: () => ({
      inc: (labels: { outcome: string }, by = 1) =>
        (counts[labels.outcome] = (counts[labels.outcome] ?? 0) + by),
    }),
  } as unknown as MetricsService;
  const now = new InAppNow(inApp, queue, dataSource, logger, metrics);
  return { now, pushed, queued, queries, warnings, counts };
}

describe('InAppNow', () => {
  it('pushes each delivery and records the pushed ones as sent in one statement', async () => {
    const { now, pushed, queued, queries, counts } = setup([]);
    await now.sendAfterCommit([delivery(1), delivery(2)]);
    expect(pushed).toEqual(['user-1', 'user-2']);
    expect(queries).toEqual([[['delivery-1', 'delivery-2']]]);
    expect(queued).toEqual([]);
    expect(counts).toEqual({ sent: 2 });
  });

  it('queues a delivery whose push failed, at generation 0, and records only the others', async () => {
    const { now, queued, queries, counts } = setup(['user-2']);
    await now.sendAfterCommit([delivery(1), delivery(2)]);
    expect(queued).toEqual([{ delivery_id: 'delivery-2', generation: 0 }]);
    expect(queries).toEqual([[['delivery-1']]]);
    expect(counts).toEqual({ sent: 1, retry: 1 });
  });

  it('does not throw when the record fails after the push (the sweep resends the pending row)', async () => {
    const { now, pushed, warnings } = setup([], true);
    await expect(now.sendAfterCommit([delivery(1)])).resolves.toBeUndefined();
    expect(pushed).toEqual(['user-1']);
    expect(warnings).toEqual(['in-app deliveries sent but not recorded; the sweep will resend']);
  });

  it('does nothing for no deliveries', async () => {
    const { now, queries, queued } = setup([]);
    await now.sendAfterCommit([]);
    expect(queries).toEqual([]);
    expect(queued).toEqual([]);
  });
});
