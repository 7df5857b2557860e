import type { InboxService } from '@protobank/platform';
import type { EntityManager } from 'typeorm';
import type { DeliveryChannel } from '../delivery/channels/channel';
import type { DeliveryQueue } from '../delivery/delivery-queue';
import type { InAppDelivery, InAppNow } from '../delivery/in-app-now';
import type { DeliveryJob } from '../delivery/queues';
import { effectivePreferences } from '../preferences/preference-rules';
import type { PreferencesService } from '../preferences/preferences.service';
import type { Draft } from './draft';
import { Notifier } from './notifier';

const USER = '11111111-1111-4111-8111-111111111111';
const STORED_AT = new Date('2026-12-01T12:00:00Z');
const draft: Draft = {
  user_id: USER,
  category: 'transactions',
  type: 'transaction.sent',
  title: 'Money sent',
  body: 'You sent £25.50 to Bob Smith',
  data: {},
};

/** A Notifier over fakes: the inbox runs the effect once per event id, queries are recorded. */
function setup(unavailable: Partial<Record<string, string>>) {
  const queries: { sql: string; params: unknown[] }[] = [];
  const seen = new Set<string>();
  const manager = {
    query: (sql: string, params: unknown[]) => {
      queries.push({ sql, params });
      // The notification insert returns the ids it stored, with their time.
      return Promise.resolve(
        sql.includes('INTO notifications.notifications')
          ? [{ id: (params[0] as string[])[0], created_at: STORED_AT }]
          : [],
      );
    },
  } as unknown as EntityManager;
  const inbox = {
    onceEach: async <E extends { event_id: string }>(
      _s: string,
      _c: string,
      events: E[],
      effect: (m: EntityManager, fresh: E[]) => Promise<void>,
    ) => {
      const fresh = events.filter((e) => !seen.has(e.event_id) && seen.add(e.event_id));
      if (fresh.length) await effect(manager, fresh);
      return fresh;
    },
  } as unknown as InboxService;
  const preferences = {
    forUsers: () =>
      Promise.resolve(
        new Map([
          [USER, effectivePreferences([{ category: 'transactions', channel: 'sms', enabled: true }])],
        ]),
      ),
  } as unknown as PreferencesService;
  const enqueued: DeliveryJob[] = [];
  const queue = {
    enqueueAfterCommit: (jobs: DeliveryJob[]) => Promise.resolve(void enqueued.push(...jobs)),
  } as unknown as DeliveryQueue;
  const sentNow: InAppDelivery[] = [];
  const inAppNow = {
    sendAfterCommit: (deliveries: InAppDelivery[]) => Promise.resolve(void sentNow.push(...deliveries)),
  } as unknown as InAppNow;
  const channels = (['in_app', 'email', 'sms', 'push'] as const).map(
    (name) => ({ name, unavailable: () => unavailable[name] }) as unknown as DeliveryChannel,
  );
  return {
    notifier: new Notifier(inbox, preferences, queue, inAppNow, channels),
    queries,
    enqueued,
    sentNow,
  };
}

describe('Notifier', () => {
  it('writes one delivery per enabled channel, sends the in-app one at once and enqueues the others', async () => {
    const { notifier, queries, enqueued, sentNow } = setup({});
    await notifier.notify('c', 'event-1', [draft]);
    const deliveries = queries.find((q) => q.sql.includes('INTO notifications.deliveries'))!;
    const [ids, notificationIds] = deliveries.params as string[][];
    expect(deliveries.params[3]).toEqual(['in_app', 'email', 'sms']);
    expect(deliveries.params[4]).toEqual([null, null, null]);
    expect(sentNow).toEqual([
      {
        delivery_id: ids[0],
        user_id: USER,
        notification: {
          id: notificationIds[0],
          category: 'transactions',
          type: 'transaction.sent',
          title: 'Money sent',
          body: 'You sent £25.50 to Bob Smith',
          data: {},
          created_at: STORED_AT.toISOString(),
          read_at: null,
        },
      },
    ]);
    expect(enqueued).toEqual(ids.slice(1).map((delivery_id) => ({ delivery_id, generation: 0 })));
  });

  it('records a channel that cannot send as skipped, with its reason, and queues nothing for it', async () => {
    const { notifier, queries, enqueued } = setup({ email: 'email is not configured (SMTP_HOST)' });
    await notifier.notify('c', 'event-1', [draft]);
    const deliveries = queries.find((q) => q.sql.includes('INTO notifications.deliveries'))!;
    expect(deliveries.params[4]).toEqual([null, 'email is not configured (SMTP_HOST)', null]);
    expect(enqueued.map((j) => j.delivery_id)).toEqual([(deliveries.params[0] as string[])[2]]);
  });

  it('does nothing the second time an event comes', async () => {
    const { notifier, queries, enqueued, sentNow } = setup({});
    await notifier.notify('c', 'event-1', [draft]);
    const writes = queries.length;
    await notifier.notify('c', 'event-1', [draft]);
    expect(queries).toHaveLength(writes);
    expect(enqueued).toHaveLength(2);
    expect(sentNow).toHaveLength(1);
  });
});
