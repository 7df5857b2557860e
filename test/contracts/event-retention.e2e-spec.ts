/** Old published events and old inbox records are pruned; unpublished events never are. */
import type { INestApplicationContext } from '@nestjs/common';
import { EventRetention, InboxService, inboxFor, outboxFor } from '@protobank/platform';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { createContext } from '../support/contexts';
import { processes } from '../support/processes';
import { createTestEnv, type TestEnv } from '../support/test-env';

describe('event retention', () => {
  let t: TestEnv;
  let app: INestApplicationContext;

  beforeAll(async () => {
    t = await createTestEnv('retention');
    await processes.runOnce('migrate', t.env, { logFile: join(t.logDir, 'migrate.log') });
    app = await createContext({
      service: 'cards',
      transport: 'local',
      env: { ...t.env, EVENT_RETENTION_DAYS: '7' },
      // cards owns an outbox and an inbox; analytics only consumes: its inbox must be pruned all the same.
      providers: [outboxFor('cards'), inboxFor('cards'), inboxFor('analytics')],
    });
  });
  afterAll(async () => {
    await app?.close();
    await t?.cleanup();
  });

  it('deletes published outbox rows and inbox records past retention, and nothing else', async () => {
    const db = app.get(DataSource);
    const ids = { oldSent: randomUUID(), oldPending: randomUUID(), newSent: randomUUID() };
    const insert = (id: string, created: string, published: string | null) =>
      db.query(
        `INSERT INTO cards.outbox (id, name, payload, created_at, published_at, next_attempt_at)
         VALUES ($1, 'user.registered', '{}', now() - $2::interval, now() - $3::interval, now() + interval '1 day')`,
        [id, created, published],
      );
    await insert(ids.oldSent, '30 days', '30 days');
    await insert(ids.oldPending, '30 days', null);
    await insert(ids.newSent, '1 day', '1 day');
    const [oldSeen, newSeen] = [randomUUID(), randomUUID()];
    await db.query(
      `INSERT INTO cards.inbox (event_id, consumer, processed_at) VALUES ($1, 'c', now() - interval '30 days'), ($2, 'c', now())`,
      [oldSeen, newSeen],
    );

    const [oldConsumed, newConsumed] = [randomUUID(), randomUUID()];
    await db.query(
      `INSERT INTO analytics.inbox (event_id, consumer, processed_at) VALUES ($1, 'c', now() - interval '8 days'), ($2, 'c', now() - interval '6 days')`,
      [oldConsumed, newConsumed],
    );

    const removed = await app.get(EventRetention).prune();

    expect(removed).toEqual({ 'cards.outbox': 1, 'cards.inbox': 1, 'analytics.inbox': 1 });
    const outbox = (await db.query('SELECT id FROM cards.outbox ORDER BY id')) as { id: string }[];
    expect(outbox.map((r) => r.id).sort()).toEqual([ids.oldPending, ids.newSent].sort());
    const inbox = (await db.query('SELECT event_id FROM cards.inbox')) as { event_id: string }[];
    expect(inbox.map((r) => r.event_id)).toEqual([newSeen]);
    const consumed = (await db.query('SELECT event_id FROM analytics.inbox')) as { event_id: string }[];
    expect(consumed.map((r) => r.event_id)).toEqual([newConsumed]);
  });

  it('refuses to record an event in an inbox that no module registered (retention would never prune it)', async () => {
    const inbox = app.get(InboxService);
    await expect(inbox.once('notifications', 'c', randomUUID(), async () => {})).rejects.toThrow(
      "the inbox of notifications is not registered: add inboxFor('notifications') to its module",
    );
    expect(inbox.schemas().sort()).toEqual(['analytics', 'cards']);
  });
});
