/**
 * Batched consumers (@OnEventBatch, InboxService.onceEach) on the real platform modules, Postgres and
 * RabbitMQ: a batch is applied in one transaction with its inbox records, an id seen before or twice in
 * the batch has one effect, a failed batch is handed over again one event at a time, so only the
 * poison event fails (and is dead-lettered over RabbitMQ) while the others are applied once. Both
 * transports (RabbitMQ: the split apps; in-process: the monolith). Over RabbitMQ an app handles up to
 * EVENT_BATCHES_IN_FLIGHT batches at once.
 */
import { Controller, Inject, type INestApplicationContext, type Type } from '@nestjs/common';
import type { UserRegisteredEvent } from '@protobank/contracts';
import {
  InboxService,
  inboxFor,
  OnEventBatch,
  outboxFor,
  OutboxService,
  type Transport,
} from '@protobank/platform';
import amqp from 'amqplib';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Client } from 'pg';
import { DataSource, type EntityManager } from 'typeorm';
import { createContext } from '../support/contexts';
import { processes } from '../support/processes';
import { createTestEnv, eventually, type TestEnv } from '../support/test-env';

const POISON = 'poison@example.com';

describe('event batches', () => {
  let t: TestEnv;
  let db: Client;
  const contexts: INestApplicationContext[] = [];

  beforeAll(async () => {
    t = await createTestEnv('eventbatches');
    await processes.runOnce('migrate', t.env, { logFile: join(t.logDir, 'migrate.log') });
    db = await t.db();
    await db.query(`CREATE TABLE public.batch_effects (event_id uuid NOT NULL, consumer text NOT NULL)`);
  });

  afterEach(async () => {
    for (const ctx of contexts.splice(0).reverse()) await ctx.close();
    // Each test's events are its own: the tests share this database's cards outbox, and an event left
    // pending there (the poison test's, due for a retry) would be relayed by the next test's relay to its
    // consumer (seen once under load, 2026-12-07: the in-flight test's consumer got it).
    await db.query('DELETE FROM cards.outbox');
  });

  afterAll(async () => {
    await t?.cleanup();
  });

  /**
   * A notifications-service context whose `controller` consumes user.registered, published from the cards
   * outbox; `add(email)` publishes one event in its own transaction.
   */
  const consumerOf = async (transport: Transport, env: Record<string, string>, controller: Type) => {
    const app = await createContext({
      service: 'notifications',
      transport,
      env,
      subscriptions: { notifications: ['user.registered'] },
      controllers: [controller],
      providers: [outboxFor('cards'), inboxFor('notifications')],
    });
    contexts.push(app);
    const ds = app.get(DataSource);
    const outbox = app.get(OutboxService);
    const add = (email: string) =>
      ds.transaction((m) => outbox.add(m, 'cards', 'user.registered', { user_id: randomUUID(), email }));
    return { ds, outbox, add };
  };

  /** What the test consumers do: one row per fresh event, in the batch's transaction. */
  const recordEffects = (m: EntityManager, fresh: UserRegisteredEvent[], consumer: string) =>
    m.query(`INSERT INTO public.batch_effects (event_id, consumer) SELECT unnest($1::uuid[]), $2`, [
      fresh.map((f) => f.event_id),
      consumer,
    ]);

  const effects = async (consumer: string) =>
    (
      await db.query<{ event_id: string; n: number }>(
        `SELECT event_id, count(*)::int AS n FROM public.batch_effects WHERE consumer = $1 GROUP BY event_id`,
        [consumer],
      )
    ).rows;

  it('onceEach: an id already in the inbox and an id twice in the batch each have one effect; a failed effect leaves no inbox record', async () => {
    const ctx = await createContext({
      service: 'notifications',
      transport: 'local',
      env: t.env,
      providers: [inboxFor('notifications')],
    });
    contexts.push(ctx);
    const inbox = ctx.get(InboxService);
    const CONSUMER = 'Batch.onceEach';
    const effect = async (m: { query: (sql: string, p: unknown[]) => Promise<unknown> }, ids: string[]) => {
      await m.query(`INSERT INTO public.batch_effects (event_id, consumer) SELECT unnest($1::uuid[]), $2`, [
        ids,
        CONSUMER,
      ]);
    };
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()].map((event_id) => ({ event_id }));
    expect(await inbox.once('notifications', CONSUMER, c.event_id, (m) => effect(m, [c.event_id]))).toBe(
      true,
    );

    const handed: string[][] = [];
    const fresh = await inbox.onceEach('notifications', CONSUMER, [a, b, a, c], async (m, events) => {
      handed.push(events.map((e) => e.event_id));
      await effect(
        m,
        events.map((e) => e.event_id),
      );
    });
    expect(handed).toEqual([[a.event_id, b.event_id]]);
    expect(fresh.map((e) => e.event_id)).toEqual([a.event_id, b.event_id]);
    // Again, the whole batch: nothing is fresh, the effect does not run.
    expect(
      await inbox.onceEach('notifications', CONSUMER, [c, b, a], () => Promise.reject(new Error('ran'))),
    ).toEqual([]);
    const rows = await effects(CONSUMER);
    expect(rows.map((r) => r.event_id).sort()).toEqual([a.event_id, b.event_id, c.event_id].sort());
    expect(rows.filter((r) => r.n !== 1)).toEqual([]);

    // A failing effect after its first write: neither that write nor any of the batch's inbox records stay.
    const [d, e] = [randomUUID(), randomUUID()].map((event_id) => ({ event_id }));
    await expect(
      inbox.onceEach('notifications', CONSUMER, [d, e], async (m, events) => {
        await effect(
          m,
          events.map((x) => x.event_id),
        );
        throw new Error('failed after its first write');
      }),
    ).rejects.toThrow('failed after its first write');
    const left = await db.query(
      `SELECT event_id FROM notifications.inbox WHERE event_id = ANY($1::uuid[])
       UNION ALL SELECT event_id FROM public.batch_effects WHERE event_id = ANY($1::uuid[])`,
      [[d.event_id, e.event_id]],
    );
    expect(left.rows).toEqual([]);
  });

  describe.each([['rmq'], ['local']] as [Transport][])('over the %s transport', (transport) => {
    it('a batch whose effect fails is handed over one event at a time: the poison event fails alone, the others are applied once', async () => {
      const env = {
        ...t.env,
        RABBITMQ_PREFIX: t.rabbitPrefix(`batch-${transport}`),
        OUTBOX_POLL_MS: '200',
        EVENT_MAX_DELIVERIES: '2',
        // One batch at a time, so that the nine that arrive while the first waits form the next batch.
        EVENT_BATCHES_IN_FLIGHT: '1',
      };
      const CONSUMER = `Batch.poison.${transport}`;
      const calls: string[][] = [];
      let openFirst!: () => void;
      const firstGate = new Promise<void>((r) => (openFirst = r));
      @Controller()
      class Batched {
        constructor(@Inject(InboxService) private readonly inbox: InboxService) {}
        @OnEventBatch('user.registered')
        async on(events: UserRegisteredEvent[]): Promise<void> {
          calls.push(events.map((e) => e.event_id));
          // The first batch waits until the rest have reached this consumer: they form the next batch.
          if (calls.length === 1) await firstGate;
          await this.inbox.onceEach('notifications', CONSUMER, events, async (m, fresh) => {
            await recordEffects(m, fresh, CONSUMER);
            if (fresh.some((f) => f.email === POISON)) throw new Error('poison event');
          });
        }
      }
      const { ds, outbox, add } = await consumerOf(transport, env, Batched);
      const first = await add('first@example.com');
      await eventually(async () => (calls.length === 1 ? true : undefined), 15000, 'the first batch');
      // Nine more in one transaction, the fifth poison.
      const rest = await ds.transaction(async (m) => {
        const out = [];
        for (let i = 0; i < 9; i++) {
          const email = i === 4 ? POISON : `u${i}@example.com`;
          out.push(await outbox.add(m, 'cards', 'user.registered', { user_id: randomUUID(), email }));
        }
        return out;
      });
      const poison = rest[4];
      const good = [first, ...rest.filter((e) => e !== poison)];
      if (transport === 'rmq') {
        // Published, and handed to this consumer (prefetched, unacked): none is waiting in the queue.
        const connection = await amqp.connect(t.env.RABBITMQ_URL);
        try {
          const channel = await connection.createChannel();
          await eventually(
            async () => {
              const published = await db.query(
                `SELECT 1 FROM cards.outbox WHERE id = ANY($1::uuid[]) AND published_at IS NOT NULL`,
                [rest.map((e) => e.event_id)],
              );
              const q = await channel.checkQueue(`${env.RABBITMQ_PREFIX}.events.notifications`);
              return published.rows.length === 9 && q.messageCount === 0 ? true : undefined;
            },
            15000,
            'the nine events delivered to the consumer',
          );
        } finally {
          await connection.close();
        }
      }
      openFirst();
      await eventually(
        async () => {
          const rows = await effects(CONSUMER);
          return rows.length === good.length ? rows : undefined;
        },
        30000,
        'every good event applied',
      );
      // The nine went as one batch, which failed, then one by one.
      expect(calls[1].sort()).toEqual(rest.map((e) => e.event_id).sort());
      expect(calls.slice(2, 11).map((c) => c.length)).toEqual(Array(9).fill(1));

      if (transport === 'rmq') {
        const connection = await amqp.connect(t.env.RABBITMQ_URL);
        try {
          const channel = await connection.createChannel();
          await eventually(
            async () => {
              const q = await channel.checkQueue(`${env.RABBITMQ_PREFIX}.dead.events.notifications`);
              return q.messageCount === 1 ? true : undefined;
            },
            30000,
            'the poison event in the dead-letter queue',
          );
        } finally {
          await connection.close();
        }
      } else {
        // In-process the outbox keeps the poison row, backed off with its error, and retries it.
        await eventually(
          async () =>
            (
              await db.query(
                `SELECT 1 FROM cards.outbox WHERE id = $1 AND published_at IS NULL AND last_error IS NOT NULL`,
                [poison.event_id],
              )
            ).rows.length === 1
              ? true
              : undefined,
          15000,
          'the poison row backed off in the outbox',
        );
      }
      const rows = await effects(CONSUMER);
      expect(rows.map((r) => r.event_id).sort()).toEqual(good.map((e) => e.event_id).sort());
      expect(rows.filter((r) => r.n !== 1)).toEqual([]);
      const inbox = await db.query<{ event_id: string }>(
        `SELECT event_id FROM notifications.inbox WHERE consumer = $1`,
        [CONSUMER],
      );
      expect(inbox.rows.map((r) => r.event_id).sort()).toEqual(good.map((e) => e.event_id).sort());
      process.stdout.write(
        `${transport}: batch sizes handed over ${JSON.stringify(calls.map((c) => c.length))}\n`,
      );
    });
  });

  it('over RabbitMQ, handles EVENT_BATCHES_IN_FLIGHT batches at once: events that arrive while one batch waits go in another, and each is applied once', async () => {
    const env = {
      ...t.env,
      RABBITMQ_PREFIX: t.rabbitPrefix('batch-in-flight'),
      OUTBOX_POLL_MS: '200',
      EVENT_BATCHES_IN_FLIGHT: '2',
    };
    const CONSUMER = 'Batch.inflight';
    const calls: string[][] = [];
    let running = 0;
    let most = 0;
    let openFirst!: () => void;
    const firstGate = new Promise<void>((r) => (openFirst = r));
    @Controller()
    class Batched {
      constructor(@Inject(InboxService) private readonly inbox: InboxService) {}
      @OnEventBatch('user.registered')
      async on(events: UserRegisteredEvent[]): Promise<void> {
        calls.push(events.map((e) => e.event_id));
        running++;
        most = Math.max(most, running);
        try {
          // The first batch waits (a slow contract call, a lock) until the others have been applied.
          if (calls.length === 1) await firstGate;
          await this.inbox.onceEach('notifications', CONSUMER, events, (m, fresh) =>
            recordEffects(m, fresh, CONSUMER).then(() => undefined),
          );
        } finally {
          running--;
        }
      }
    }
    const { ds, outbox, add } = await consumerOf('rmq', env, Batched);
    const first = await add('first@example.com');
    await eventually(async () => (calls.length === 1 ? true : undefined), 15000, 'the first batch');
    const rest = await ds.transaction(async (m) => {
      const out = [];
      for (let i = 0; i < 20; i++) {
        out.push(
          await outbox.add(m, 'cards', 'user.registered', {
            user_id: randomUUID(),
            email: `u${i}@example.com`,
          }),
        );
      }
      return out;
    });
    // With the first batch still waiting, the other twenty are applied by the second slot.
    const applied = await eventually(
      async () => {
        const rows = await effects(CONSUMER);
        return rows.length === rest.length ? rows : undefined;
      },
      30000,
      'the other events applied while the first batch waits',
    );
    expect(applied.map((r) => r.event_id).sort()).toEqual(rest.map((e) => e.event_id).sort());
    expect(most).toBe(2);
    openFirst();
    const all = await eventually(
      async () => {
        const rows = await effects(CONSUMER);
        return rows.length === rest.length + 1 ? rows : undefined;
      },
      15000,
      'the first event applied once its batch goes on',
    );
    expect(all.filter((r) => r.n !== 1)).toEqual([]);
    expect(all.map((r) => r.event_id)).toContain(first.event_id);
    // Never more than two at once, every event handed over once.
    expect(most).toBe(2);
    expect(calls.flat().sort()).toEqual([first, ...rest].map((e) => e.event_id).sort());
  });
});
