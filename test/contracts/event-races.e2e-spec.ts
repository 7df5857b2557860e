/**
 * Races of the event pipeline, forced rather than hoped for: in-process contexts built from the real
 * platform modules (outbox relay, RabbitMQ strategy, inbox) over the real RabbitMQ and Postgres, with
 * test consumers whose effect is not idempotent by itself (a counter, rows with no key), so that only the
 * inbox and the relay's claim stand between a duplicate and a double effect. These mechanisms are the
 * same in both topologies; the failed-handler test runs over both transports (RabbitMQ: the split
 * apps; in-process: the monolith).
 */
import { Controller, Inject, type INestApplicationContext } from '@nestjs/common';
import type { ServiceName, UserRegisteredEvent } from '@protobank/contracts';
import {
  EventTransport,
  InboxService,
  inboxFor,
  MetricsService,
  OnEvent,
  outboxFor,
  OutboxService,
  type Transport,
} from '@protobank/platform';
import amqp from 'amqplib';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Client } from 'pg';
import { DataSource } from 'typeorm';
import { OUTBOX_CLAIM_LOCK } from '../../migrations/1763700000024-OutboxClaimOnOnePage';
import { createContext } from '../support/contexts';
import { lockWaiters } from '../support/lock-waits';
import { processes } from '../support/processes';
import { createTestEnv, eventually, metricValue, type TestEnv } from '../support/test-env';

const userRegistered = (userId = randomUUID()) => ({
  event_id: randomUUID(),
  occurred_at: new Date().toISOString(),
  user_id: userId,
  email: `${userId}@example.com`,
});

describe('event races', () => {
  let t: TestEnv;
  let db: Client;
  let locker: Client;
  const contexts: INestApplicationContext[] = [];

  const start = async (o: Parameters<typeof createContext>[0]) => {
    const ctx = await createContext(o);
    contexts.push(ctx);
    return ctx;
  };

  const inboxOutcomes = async (ctxs: INestApplicationContext[], consumer: string, outcome: string) => {
    let n = 0;
    for (const ctx of ctxs) {
      n += metricValue(await ctx.get(MetricsService).registry.metrics(), 'inbox_events_total', {
        consumer,
        outcome,
      });
    }
    return n;
  };

  /** Waits until `schema`'s outbox has nothing unpublished and `consumer` applied `count` events. */
  const everyEventApplied = (schema: string, ctx: INestApplicationContext, consumer: string, count: number) =>
    eventually(
      async () =>
        (await db.query(`SELECT 1 FROM ${schema}.outbox WHERE published_at IS NULL`)).rows.length === 0 &&
        (await inboxOutcomes([ctx], consumer, 'applied')) === count
          ? true
          : undefined,
      30000,
      'every event published and applied',
    );

  /** An analytics instance counting every delivery it takes, with an effect (a row) behind the inbox. */
  const relayedConsumer = async (env: Record<string, string>, consumer: string) => {
    const delivered: string[] = [];
    @Controller()
    class Relayed {
      constructor(@Inject(InboxService) private readonly inbox: InboxService) {}
      @OnEvent('user.registered')
      async on(event: UserRegisteredEvent): Promise<void> {
        delivered.push(event.event_id);
        await this.inbox.once('analytics', consumer, event.event_id, async (m) => {
          await m.query(`INSERT INTO public.race_effects (event_id, part) VALUES ($1, 'relayed')`, [
            event.event_id,
          ]);
        });
      }
    }
    const ctx = await start({
      service: 'analytics',
      transport: 'rmq',
      env,
      subscriptions: { analytics: ['user.registered'] },
      controllers: [Relayed],
      providers: [inboxFor('analytics')],
    });
    return { ctx, delivered };
  };

  /** Each of `ids` delivered once and applied once (one row), and no duplicate reached the inbox. */
  const expectOnceEach = async (
    ids: string[],
    consumer: { ctx: INestApplicationContext; delivered: string[] },
    name: string,
  ) => {
    const times = new Map<string, number>();
    for (const id of consumer.delivered) times.set(id, (times.get(id) ?? 0) + 1);
    expect([...times.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    expect([...times.keys()].sort()).toEqual([...ids].sort());
    const effects = await db.query<{ event_id: string; n: number }>(
      `SELECT event_id, count(*)::int AS n FROM public.race_effects WHERE event_id = ANY($1::uuid[]) GROUP BY event_id`,
      [ids],
    );
    expect(effects.rows).toHaveLength(ids.length);
    expect(effects.rows.filter((r) => r.n !== 1)).toEqual([]);
    expect(await inboxOutcomes([consumer.ctx], name, 'duplicate')).toBe(0);
  };

  beforeAll(async () => {
    t = await createTestEnv('eventraces');
    await processes.runOnce('migrate', t.env, { logFile: join(t.logDir, 'migrate.log') });
    db = await t.db();
    locker = await t.db();
    // The test consumers' effects: a counter (one UPDATE per effect) and rows without a key.
    await db.query(`CREATE TABLE public.race_counter (event_id uuid PRIMARY KEY, n int NOT NULL DEFAULT 0)`);
    await db.query(`CREATE TABLE public.race_effects (event_id uuid NOT NULL, part text NOT NULL)`);
  });

  afterEach(async () => {
    for (const ctx of contexts.splice(0).reverse()) await ctx.close();
  });

  afterAll(async () => {
    await t?.cleanup();
  });

  it('two copies of one event taken at the same time by two consumers of one queue have exactly one effect', async () => {
    const env = { ...t.env, RABBITMQ_PREFIX: t.rabbitPrefix('copies') };
    const subscriptions = { analytics: ['user.registered'] } as const;
    const CONSUMER = 'Race.countOnce';
    const takenBy: Record<string, string[]> = { first: [], second: [] };
    const counter = (label: 'first' | 'second') => {
      @Controller()
      class Counter {
        constructor(@Inject(InboxService) private readonly inbox: InboxService) {}
        @OnEvent('user.registered')
        async on(event: UserRegisteredEvent): Promise<void> {
          takenBy[label].push(event.event_id);
          await this.inbox.once('analytics', CONSUMER, event.event_id, async (m) => {
            await m.query('UPDATE public.race_counter SET n = n + 1 WHERE event_id = $1', [event.event_id]);
          });
        }
      }
      return Counter;
    };
    // Two instances of the analytics service on its one queue (each with a prefetch of 16).
    const consumers = [
      await start({
        service: 'analytics',
        transport: 'rmq',
        env,
        subscriptions,
        controllers: [counter('first')],
        providers: [inboxFor('analytics')],
      }),
      await start({
        service: 'analytics',
        transport: 'rmq',
        env,
        subscriptions,
        controllers: [counter('second')],
        providers: [inboxFor('analytics')],
      }),
    ];
    // Both consumers on the queue, so that the broker hands one copy to each (round robin).
    const connection = await amqp.connect(t.env.RABBITMQ_URL);
    try {
      const channel = await connection.createChannel();
      await eventually(
        async () =>
          (await channel.checkQueue(`${env.RABBITMQ_PREFIX}.events.analytics`)).consumerCount === 2
            ? true
            : undefined,
        15000,
        'both consumers on the queue',
      );
    } finally {
      await connection.close();
    }
    const event = userRegistered();
    await db.query('INSERT INTO public.race_counter (event_id) VALUES ($1)', [event.event_id]);
    // Hold the counter row: the first copy to take it inserts its inbox record, then waits here.
    await locker.query('BEGIN');
    await locker.query('SELECT 1 FROM public.race_counter WHERE event_id = $1 FOR UPDATE', [event.event_id]);
    try {
      const transport = consumers[0].get(EventTransport);
      const envelope = { name: 'user.registered', payload: event, headers: {} };
      await transport.publish(envelope);
      await transport.publish(envelope);
      // Both copies in flight at once: one blocked on the held row, the other on the first one's
      // uncommitted inbox record (or, were the inbox not guarding, on the held row too).
      const waiting = await lockWaiters(db, 2, '%', 'both copies to be blocked in their handlers');
      process.stdout.write(
        `two copies in flight: taken by first=${takenBy.first.length} second=${takenBy.second.length}; waiting on: ${waiting.map((q) => q.split('\n')[0].slice(0, 60)).join(' | ')}\n`,
      );
    } finally {
      await locker.query('COMMIT');
    }
    await eventually(
      async () =>
        (await inboxOutcomes(consumers, CONSUMER, 'applied')) +
          (await inboxOutcomes(consumers, CONSUMER, 'duplicate')) ===
        2
          ? true
          : undefined,
      15000,
      'both copies to be handled',
    );
    const { rows } = await db.query<{ n: number }>('SELECT n FROM public.race_counter WHERE event_id = $1', [
      event.event_id,
    ]);
    expect(rows[0].n).toBe(1);
    expect(await inboxOutcomes(consumers, CONSUMER, 'applied')).toBe(1);
    expect(await inboxOutcomes(consumers, CONSUMER, 'duplicate')).toBe(1);
    expect(takenBy.first.length + takenBy.second.length).toBe(2);
  });

  describe.each([
    ['rmq', 'payments'],
    ['local', 'cards'],
  ] as [Transport, ServiceName][])('over the %s transport', (transport, producer) => {
    it('a handler that fails after some writes and succeeds on retry leaves one effect and no partial state', async () => {
      const env = {
        ...t.env,
        RABBITMQ_PREFIX: t.rabbitPrefix(`partial-${transport}`),
        OUTBOX_POLL_MS: '200',
      };
      const CONSUMER = 'Race.partial';
      let attempts = 0;
      let openRetry!: () => void;
      const retryGate = new Promise<void>((r) => (openRetry = r));
      @Controller()
      class Partial {
        constructor(@Inject(InboxService) private readonly inbox: InboxService) {}
        @OnEvent('user.registered')
        async on(event: UserRegisteredEvent): Promise<void> {
          const attempt = ++attempts;
          if (attempt === 2) await retryGate; // the test looks at the state between the attempts
          await this.inbox.once('notifications', CONSUMER, event.event_id, async (m) => {
            await m.query(`INSERT INTO public.race_effects (event_id, part) VALUES ($1, 'first')`, [
              event.event_id,
            ]);
            if (attempt === 1) throw new Error('failed after its first write');
            await m.query(`INSERT INTO public.race_effects (event_id, part) VALUES ($1, 'second')`, [
              event.event_id,
            ]);
          });
        }
      }
      // One app producing through its outbox and consuming (in split, from its own queue).
      const app = await start({
        service: 'notifications',
        transport,
        env,
        subscriptions: { notifications: ['user.registered'] },
        controllers: [Partial],
        providers: [outboxFor(producer), inboxFor('notifications')],
      });
      const ds = app.get(DataSource);
      const event = await ds.transaction((m) =>
        app
          .get(OutboxService)
          .add(m, producer, 'user.registered', { user_id: randomUUID(), email: 'p@example.com' }),
      );
      await eventually(async () => (attempts >= 2 ? true : undefined), 15000, 'the retry to begin');
      // Between the failed attempt and the retry: nothing of the first attempt is left.
      const partial = await db.query('SELECT part FROM public.race_effects WHERE event_id = $1', [
        event.event_id,
      ]);
      const recorded = await db.query('SELECT 1 FROM notifications.inbox WHERE event_id = $1', [
        event.event_id,
      ]);
      openRetry();
      expect(partial.rows).toEqual([]);
      expect(recorded.rows).toEqual([]);
      await eventually(
        async () => ((await inboxOutcomes([app], CONSUMER, 'applied')) === 1 ? true : undefined),
        15000,
        'the retry to succeed',
      );
      // Marked sent (or acked) after the success: no further delivery comes.
      await eventually(
        async () =>
          (
            await db.query(`SELECT 1 FROM "${producer}".outbox WHERE id = $1 AND published_at IS NOT NULL`, [
              event.event_id,
            ])
          ).rows.length === 1
            ? true
            : undefined,
        15000,
        'the event to be marked sent',
      );
      const effects = await db.query<{ part: string }>(
        'SELECT part FROM public.race_effects WHERE event_id = $1 ORDER BY part',
        [event.event_id],
      );
      expect(effects.rows.map((r) => r.part)).toEqual(['first', 'second']);
      const inbox = await db.query(
        'SELECT 1 FROM notifications.inbox WHERE event_id = $1 AND consumer = $2',
        [event.event_id, CONSUMER],
      );
      expect(inbox.rows).toHaveLength(1);
      expect(attempts).toBe(2);
    });
  });

  it('two relays on one outbox, as two instances of one app, the second claiming while the first holds a leased batch: every event published once, each effect once', async () => {
    const env = { ...t.env, RABBITMQ_PREFIX: t.rabbitPrefix('relays'), OUTBOX_POLL_MS: '200' };
    const CONSUMER = 'Race.relayed';
    const consumer = await relayedConsumer(env, CONSUMER);
    const instance = () =>
      start({
        service: 'users',
        transport: 'rmq',
        env,
        subscriptions: { analytics: ['user.registered'] },
        providers: [outboxFor('users')],
      });
    // The first instance: its first publish waits until the second instance has published something,
    // so the second claims while the first still holds (leased, unsent) a full batch.
    const first = await instance();
    const firstTransport = first.get(EventTransport);
    const firstPublish = firstTransport.publish.bind(firstTransport);
    const byFirst: string[] = [];
    let secondPublished!: () => void;
    const gate = new Promise<void>((r) => (secondPublished = r));
    firstTransport.publish = async (envelope) => {
      byFirst.push(envelope.payload.event_id);
      await gate;
      return firstPublish(envelope);
    };
    const COUNT = 150; // a full batch (100) for one relay, the rest for the other
    const events = await first.get(DataSource).transaction((m) =>
      first.get(OutboxService).addMany(
        m,
        'users',
        Array.from({ length: COUNT }, () => ({
          name: 'user.registered' as const,
          input: { user_id: randomUUID(), email: 'r@example.com' },
        })),
      ),
    );
    const ids = events.map((e) => e.event_id);
    try {
      await eventually(
        async () => (byFirst.length > 0 ? true : undefined),
        15000,
        'the first relay to claim',
      );
      await instance();
      await eventually(
        async () =>
          (await db.query('SELECT 1 FROM users.outbox WHERE published_at IS NOT NULL LIMIT 1')).rows.length
            ? true
            : undefined,
        15000,
        'the second relay to publish',
      );
    } finally {
      secondPublished();
    }
    await everyEventApplied('users', consumer.ctx, CONSUMER, COUNT);
    const firstSent = new Set(byFirst);
    process.stdout.write(
      `two relays, one holding a batch: the first published ${firstSent.size} of ${COUNT} events; the consumer took ${consumer.delivered.length} deliveries\n`,
    );
    expect(firstSent.size).toBeGreaterThan(0);
    expect(firstSent.size).toBeLessThan(COUNT);
    // No relay sent a row the other had claimed: each event reached the consumer once, with one effect.
    await expectOnceEach(ids, consumer, CONSUMER);
  });

  it('two relays on one outbox claiming at the same instant take disjoint rows: every event published once, each effect once', async () => {
    const env = { ...t.env, RABBITMQ_PREFIX: t.rabbitPrefix('claims'), OUTBOX_POLL_MS: '200' };
    const CONSUMER = 'Race.claimed';
    const consumer = await relayedConsumer(env, CONSUMER);
    const published: Record<string, string[]> = { first: [], second: [] };
    const relays = [];
    for (const label of ['first', 'second']) {
      const ctx = await start({
        service: 'auth',
        transport: 'rmq',
        env,
        subscriptions: { analytics: ['user.registered'] },
        providers: [outboxFor('auth')],
      });
      const transport = ctx.get(EventTransport);
      const publish = transport.publish.bind(transport);
      transport.publish = (envelope) => {
        published[label].push(envelope.payload.event_id);
        return publish(envelope);
      };
      relays.push(ctx);
    }
    const COUNT = 150;
    const events = Array.from({ length: COUNT }, () => userRegistered());
    // The events and a lock on the outbox that every claim (an UPDATE) waits for, in one transaction: at
    // its commit both relays' claims, already waiting, run at the same instant. One claim waits for the
    // table while holding the outbox's claim lock (an advisory lock), the other waits for that lock.
    await locker.query('BEGIN');
    try {
      await locker.query(
        `INSERT INTO auth.outbox (id, name, payload)
         SELECT (p->>'event_id')::uuid, 'user.registered', p FROM unnest($1::jsonb[]) AS p`,
        [events.map((e) => JSON.stringify(e))],
      );
      await locker.query('LOCK TABLE auth.outbox IN EXCLUSIVE MODE');
      await eventually(
        async () =>
          (
            await db.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM pg_locks
                WHERE NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND (relation = 'auth.outbox'::regclass
                       OR (locktype = 'advisory' AND classid = $1::int::oid))`,
              [OUTBOX_CLAIM_LOCK],
            )
          ).rows[0].n >= 2
            ? true
            : undefined,
        15000,
        'both relays to wait for the outbox',
      );
    } finally {
      await locker.query('COMMIT');
    }
    const ids = events.map((e) => e.event_id);
    await everyEventApplied('auth', consumer.ctx, CONSUMER, COUNT);
    process.stdout.write(
      `two relays claiming at once: the first published ${published.first.length}, the second ${published.second.length} of ${COUNT}; the consumer took ${consumer.delivered.length} deliveries\n`,
    );
    expect(published.first.length).toBeGreaterThan(0);
    expect(published.second.length).toBeGreaterThan(0);
    await expectOnceEach(ids, consumer, CONSUMER);
  });
});
