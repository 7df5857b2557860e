import type { MetricsService } from '@protobank/platform';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { InAppChannel } from './channels/in-app.channel';
import type { DeliveryQueue } from './delivery-queue';
import { STREAM_MESSAGE_MAX } from '../stream/stream-hub';
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

/**
 * InAppNow over fakes: a message (one sendMany) that holds a user in `failing` is not published; the
 * published messages' users are recorded, one array per message; queries are recorded.
 */
function setup(failing: string[], recordFails = false) {
  const messages: string[][] = [];
  const inApp = {
    name: 'in_app',
    sendMany: (batch: { user_id: string }[]) => {
      if (batch.some((m) => failing.includes(m.user_id))) return Promise.reject(new Error('redis down'));
      messages.push(batch.map((m) => m.user_id));
      return Promise.resolve();
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
  const pushed = () => messages.flat();
  return { now, messages, pushed, queued, queries, warnings, counts };
}

describe('InAppNow', () => {
  it('pushes a batch in one message and records the pushed deliveries as sent in one statement', async () => {
    const { now, messages, queued, queries, counts } = setup([]);
    await now.sendAfterCommit([delivery(1), delivery(2)]);
    expect(messages).toEqual([['user-1', 'user-2']]);
    expect(queries).toEqual([[['delivery-1', 'delivery-2']]]);
    expect(queued).toEqual([]);
    expect(counts).toEqual({ sent: 2 });
  });

  it('queues the deliveries of a message that was not published, at generation 0, and records none', async () => {
    const { now, queued, queries, counts } = setup(['user-2']);
    await now.sendAfterCommit([delivery(1), delivery(2)]);
    expect(queued).toEqual([
      { delivery_id: 'delivery-1', generation: 0 },
      { delivery_id: 'delivery-2', generation: 0 },
    ]);
    expect(queries).toEqual([]);
    expect(counts).toEqual({ retry: 2 });
  });

  it('splits a larger batch into messages of STREAM_MESSAGE_MAX: a failed one is queued, the others recorded', async () => {
    const n = STREAM_MESSAGE_MAX * 2 + 1;
    const all = Array.from({ length: n }, (_, i) => delivery(i));
    const failing = `user-${STREAM_MESSAGE_MAX + 5}`; // in the second message
    const { now, messages, queued, queries, counts } = setup([failing]);
    await now.sendAfterCommit(all);
    expect(messages.map((m) => m.length)).toEqual([STREAM_MESSAGE_MAX, 1]);
    expect(messages.flat()).toEqual([...all.slice(0, STREAM_MESSAGE_MAX), all[n - 1]].map((d) => d.user_id));
    expect(queued.map((j) => j.delivery_id)).toEqual(
      all.slice(STREAM_MESSAGE_MAX, 2 * STREAM_MESSAGE_MAX).map((d) => d.delivery_id),
    );
    expect(queries).toEqual([[[...all.slice(0, STREAM_MESSAGE_MAX), all[n - 1]].map((d) => d.delivery_id)]]);
    expect(counts).toEqual({ sent: STREAM_MESSAGE_MAX + 1, retry: STREAM_MESSAGE_MAX });
  });

  it('does not throw when the record fails after the push (the sweep resends the pending row)', async () => {
    const { now, pushed, warnings } = setup([], true);
    await expect(now.sendAfterCommit([delivery(1)])).resolves.toBeUndefined();
    expect(pushed()).toEqual(['user-1']);
    expect(warnings).toEqual(['in-app deliveries sent but not recorded; the sweep will resend']);
  });

  it('does nothing for no deliveries', async () => {
    const { now, queries, queued } = setup([]);
    await now.sendAfterCommit([]);
    expect(queries).toEqual([]);
    expect(queued).toEqual([]);
  });
});
