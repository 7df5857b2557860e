/**
 * The RabbitMQ mechanisms themselves, with a test contract and test consumers: what crosses the wire
 * (request id, caller, bigint), what happens when a server is slow or breaks, and how events fan out.
 */
import { Controller, Inject, type INestApplicationContext } from '@nestjs/common';
import { defineContract, type UserRegisteredEvent } from '@protobank/contracts';
import amqp from 'amqplib';
import {
  MetricsService,
  AppError,
  enableTracingForTests,
  InboxService,
  OnEvent,
  inboxFor,
  outboxFor,
  OutboxService,
  requestContext,
} from '@protobank/platform';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { RmqConnection } from '../../libs/platform/src/messaging/rmq-connection';
import { declareEventQueue } from '../../libs/platform/src/messaging/events/event-queues';
import { createContext } from '../support/contexts';
import { processes } from '../support/processes';
import { createTestEnv, eventually, metricValue, type TestEnv } from '../support/test-env';

interface EchoApi {
  whoami(): Promise<{ request_id?: string; caller?: unknown }>;
  double(amount: bigint): Promise<bigint>;
  hold(): Promise<string>;
  explode(): Promise<void>;
  refuse(): Promise<void>;
  deadlock(): Promise<void>;
  throttle(): Promise<void>;
}
const ECHO_API = Symbol('ECHO_API');
// Served under the "cards" service name: any name works for the mechanism.
const EchoContract = defineContract<EchoApi>({
  service: 'cards',
  token: ECHO_API,
  patterns: {
    whoami: 'echo.whoami',
    double: 'echo.double',
    hold: 'echo.hold',
    explode: 'echo.explode',
    refuse: 'echo.refuse',
    deadlock: 'echo.deadlock',
    throttle: 'echo.throttle',
  },
});

const held: true[] = [];
const released = (() => {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
})();

class Echo implements EchoApi {
  async whoami() {
    const ctx = requestContext.current();
    return { request_id: ctx?.requestId, caller: ctx?.caller };
  }
  async double(amount: bigint) {
    return amount * 2n;
  }
  /** Answers only once the test lets it (released.open()): a server slower than any timeout. */
  async hold() {
    held.push(true);
    await released.promise;
    return 'late';
  }
  async explode(): Promise<void> {
    throw new Error('database password is hunter2'); // must never reach the caller
  }
  async refuse(): Promise<void> {
    throw AppError.unprocessable('insufficient_funds', 'Not enough money', [
      { field: 'amount', message: 'too large' },
    ]);
  }
  async deadlock(): Promise<void> {
    // What pg raises when Postgres picked this transaction as a deadlock victim.
    throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
  }
  async throttle(): Promise<void> {
    throw AppError.tooManyRequests('too_many_requests', 'Slow down', 7);
  }
}

const received: Record<string, string[]> = { notifications: [], analytics: [] };
/** This test's subscription table: two consuming services for one event. */
const subscribed = {
  subscriptions: { notifications: ['user.registered'], analytics: ['user.registered'] },
} as const;

function consumerFor(service: 'notifications' | 'analytics') {
  @Controller()
  class Consumer {
    constructor(@Inject(InboxService) private readonly inbox: InboxService) {}
    @OnEvent('user.registered')
    async on(event: UserRegisteredEvent): Promise<void> {
      await this.inbox.once(service, `Test.${service}`, event.event_id, async () => {
        received[service].push(event.user_id);
      });
    }
  }
  return Consumer;
}

describe('messaging over RabbitMQ', () => {
  let t: TestEnv;
  const contexts: INestApplicationContext[] = [];
  let echo: EchoApi;

  beforeAll(async () => {
    t = await createTestEnv('messaging');
    await processes.runOnce('migrate', t.env, { logFile: join(t.logDir, 'migrate.log') });
    const env = { ...t.env, RPC_TIMEOUT_MS: '400' };
    contexts.push(
      await createContext({
        service: 'cards',
        transport: 'rmq',
        env,
        providers: [{ provide: ECHO_API, useClass: Echo }],
        serves: [EchoContract],
      }),
    );
    const caller = await createContext({ service: 'payments', transport: 'rmq', env, calls: [EchoContract] });
    contexts.push(caller);
    echo = caller.get<EchoApi>(ECHO_API);
  });

  afterEach(() => enableTracingForTests(false));

  afterAll(async () => {
    for (const ctx of contexts.reverse()) await ctx.close();
    await t?.cleanup();
  });

  /**
   * A payments app consuming user.registered with `consumer`, and an app relaying the `via` outbox, into
   * which one user.registered for `email` is written (each test relays its own outbox: one relay per
   * outbox in this suite).
   */
  /**
   * Waits until `queue` has a consumer. An app declares, binds and consumes its queue after start-up has
   * returned (the channel's setup runs on connect): publish once it consumes, else the event may find no
   * queue bound. A missing queue closes the channel that checks it, so each look has a channel of its own.
   */
  async function consuming(connection: amqp.ChannelModel, queue: string): Promise<void> {
    await eventually(
      async () => {
        const probe = await connection.createChannel();
        probe.on('error', () => undefined);
        try {
          const q = await probe.checkQueue(queue);
          return q.consumerCount > 0 ? q : undefined;
        } catch {
          return undefined;
        } finally {
          await probe.close().catch(() => undefined);
        }
      },
      10000,
      'the consumer on its queue',
    );
  }

  async function toPayments(
    env: Record<string, string>,
    consumer: new (...args: never[]) => unknown,
    via: 'cards' | 'accounts',
    email: string,
  ): Promise<void> {
    const only = { subscriptions: { payments: ['user.registered'] } } as const;
    contexts.push(
      await createContext({ ...only, service: 'payments', transport: 'rmq', env, controllers: [consumer] }),
    );
    const producer = await createContext({
      ...only,
      service: via,
      transport: 'rmq',
      env,
      providers: [outboxFor(via)],
    });
    contexts.push(producer);
    await producer
      .get(DataSource)
      .transaction((m) =>
        producer.get(OutboxService).add(m, via, 'user.registered', { user_id: randomUUID(), email }),
      );
  }

  it('carries the request id and the caller in message headers', async () => {
    const caller = { user_id: randomUUID(), role: 'customer' };
    const seen = await requestContext.run({ requestId: 'req-over-the-wire', caller }, () => echo.whoami());
    expect(seen).toEqual({ request_id: 'req-over-the-wire', caller });
  });

  it('keeps bigint money exact across the wire', async () => {
    await expect(echo.double(4_503_599_627_370_497n)).resolves.toBe(9_007_199_254_740_994n);
  });

  it('re-throws a domain error with its status, code and details', async () => {
    const err = await echo.refuse().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).toBody()).toEqual({
      status: 422,
      code: 'insufficient_funds',
      message: 'Not enough money',
      details: [{ field: 'amount', message: 'too large' }],
    });
  });

  it('turns an unexpected server error into a 500 that reveals nothing', async () => {
    const err = await echo.explode().catch((e: unknown) => e);
    expect((err as AppError).toBody()).toEqual({
      status: 500,
      code: 'internal_error',
      message: 'Internal server error',
      details: [],
    });
  });

  it('maps other errors as HTTP does (a deadlock is a 409 to retry), and keeps the Retry-After of a 429', async () => {
    const deadlock = await echo.deadlock().catch((e: unknown) => e);
    expect((deadlock as AppError).toBody()).toMatchObject({ status: 409, code: 'concurrent_update' });
    const throttled = await echo.throttle().catch((e: unknown) => e);
    expect(throttled).toMatchObject({
      status: 429,
      code: 'too_many_requests',
      headers: { 'Retry-After': '7' },
    });
  });

  it('gives up with 504 on a server still holding the call (RPC_TIMEOUT_MS); the next call gets its own answer', async () => {
    const err = await echo.hold().catch((e: unknown) => e);
    // The server took the call and has not answered: only the caller's timeout can have ended it.
    expect(held).toHaveLength(1);
    expect(err).toMatchObject({ status: 504, code: 'dependency_timeout' });
    // Which app, and its timeout, are for the log: the client reads what a monolith would tell it.
    expect((err as Error).message).not.toMatch(/cards|400|ms\b/);
    released.open();
    expect(await echo.double(21n)).toBe(42n);
  });

  it('keeps events published before any consumer ever ran, fans them out to each service once, and absorbs a redelivery', async () => {
    // The producer starts and publishes first: the consumers' queues must exist already (declared by the
    // publisher from the subscription table), or the broker would drop the event.
    const producer = await createContext({
      ...subscribed,
      service: 'users',
      transport: 'rmq',
      env: t.env,
      providers: [outboxFor('users')],
    });
    contexts.push(producer);
    const userId = randomUUID();
    const dataSource = producer.get(DataSource);
    const outbox = producer.get(OutboxService);
    const event = await dataSource.transaction((m) =>
      outbox.add(m, 'users', 'user.registered', { user_id: userId, email: 'x@example.com' }),
    );
    // A rolled-back change publishes nothing.
    const ghost = randomUUID();
    await dataSource
      .transaction(async (m) => {
        await outbox.add(m, 'users', 'user.registered', { user_id: ghost, email: 'ghost@example.com' });
        throw new Error('rollback');
      })
      .catch(() => undefined);
    await eventually(
      async () => {
        const [row] = (await dataSource.query(
          'SELECT 1 FROM users.outbox WHERE id = $1 AND published_at IS NOT NULL',
          [event.event_id],
        )) as unknown[];
        return row ? true : undefined;
      },
      10000,
      'the event to be published',
    );

    const consumers = {
      notifications: await createContext({
        ...subscribed,
        service: 'notifications',
        transport: 'rmq',
        env: t.env,
        controllers: [consumerFor('notifications')],
        providers: [inboxFor('notifications')],
      }),
      analytics: await createContext({
        ...subscribed,
        service: 'analytics',
        transport: 'rmq',
        env: t.env,
        controllers: [consumerFor('analytics')],
        providers: [inboxFor('analytics')],
      }),
    };
    contexts.push(consumers.notifications, consumers.analytics);
    await eventually(
      async () =>
        received.notifications.includes(userId) && received.analytics.includes(userId) ? true : undefined,
      10000,
      'both consumers',
    );

    // Relay the same event again: each consumer takes it, and its inbox turns it into a no-op.
    const duplicates = async (service: 'notifications' | 'analytics') =>
      metricValue(await consumers[service].get(MetricsService).registry.metrics(), 'inbox_events_total', {
        consumer: `Test.${service}`,
        outcome: 'duplicate',
      });
    // (and lift the lease the first relay left on the row, as if it had long expired)
    await dataSource.query(
      'UPDATE users.outbox SET published_at = NULL, next_attempt_at = now() WHERE id = $1',
      [event.event_id],
    );
    await eventually(
      async () =>
        (await duplicates('notifications')) >= 1 && (await duplicates('analytics')) >= 1 ? true : undefined,
      10000,
      'the redelivery to reach both consumers',
    );
    expect(received.notifications.filter((id) => id === userId)).toHaveLength(1);
    expect(received.analytics.filter((id) => id === userId)).toHaveLength(1);
    expect([...received.notifications, ...received.analytics]).not.toContain(ghost);
  });

  it('declares the event queues durable', async () => {
    const connection = await amqp.connect(t.env.RABBITMQ_URL);
    try {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      // Re-declaring with other properties is refused (406) only if the queue exists as declared: durable quorum.
      await expect(
        channel.assertQueue(`${t.env.RABBITMQ_PREFIX}.events.notifications`, { durable: false }),
      ).rejects.toThrow(/PRECONDITION_FAILED/);
    } finally {
      await connection.close().catch(() => undefined);
    }
  });

  it('names EVENT_MAX_DELIVERIES when the queues were declared with another value (RabbitMQ refuses the new one)', async () => {
    const prefix = t.rabbitPrefix('limit');
    const rmq = (limit: number) =>
      ({
        name: (...parts: string[]) => [prefix, ...parts].join('.'),
        eventsExchange: `${prefix}.events`,
        config: { eventMaxDeliveries: limit },
      }) as unknown as RmqConnection;
    const connection = await amqp.connect(t.env.RABBITMQ_URL);
    try {
      const first = await connection.createChannel();
      await declareEventQueue(first, rmq(10), 'notifications', ['user.registered']);
      const second = await connection.createChannel();
      second.on('error', () => undefined);
      await expect(declareEventQueue(second, rmq(5), 'notifications', ['user.registered'])).rejects.toThrow(
        /another EVENT_MAX_DELIVERIES \(5 now\).*x-delivery-limit/s,
      );
    } finally {
      await connection.close().catch(() => undefined);
    }
  });

  it('dead-letters at once an event that is JSON but no object (null), and goes on consuming', async () => {
    const env = { ...t.env, RABBITMQ_PREFIX: t.rabbitPrefix('notobj'), EVENT_MAX_DELIVERIES: '5' };
    const seen: string[] = [];
    @Controller()
    class Listener {
      @OnEvent('user.registered')
      async on(event: UserRegisteredEvent): Promise<void> {
        seen.push(event.email);
      }
    }
    const consumer = await createContext({
      subscriptions: { payments: ['user.registered'] },
      service: 'payments',
      transport: 'rmq',
      env,
      controllers: [Listener],
    });
    contexts.push(consumer);
    const connection = await amqp.connect(t.env.RABBITMQ_URL);
    try {
      const channel = await connection.createChannel();
      const exchange = `${env.RABBITMQ_PREFIX}.events`;
      await consuming(connection, `${env.RABBITMQ_PREFIX}.events.payments`);
      // Anyone who can publish to the exchange could send this; before, it failed every handler outside
      // their error handling, was never settled, and its rejection was unhandled.
      channel.publish(exchange, 'user.registered', Buffer.from('null'), { contentType: 'application/json' });
      const dead = await eventually(
        async () => {
          const q = await channel.checkQueue(`${env.RABBITMQ_PREFIX}.dead.events.payments`);
          return q.messageCount === 1 ? q : undefined;
        },
        10000,
        'the event in the dead-letter queue',
      );
      expect(dead.messageCount).toBe(1);
      const event = {
        event_id: randomUUID(),
        occurred_at: new Date().toISOString(),
        user_id: randomUUID(),
        email: 'after@example.com',
      };
      channel.publish(exchange, 'user.registered', Buffer.from(JSON.stringify(event)), {
        contentType: 'application/json',
        messageId: event.event_id,
      });
      await eventually(async () => (seen.length ? seen : undefined), 10000, 'the next event handled');
      expect(seen).toEqual(['after@example.com']);
    } finally {
      await connection.close();
    }
  });

  it('dead-letters an event its consumer keeps failing on, after EVENT_MAX_DELIVERIES attempts, and handles it once moved back as the runbook does', async () => {
    const env = { ...t.env, RABBITMQ_PREFIX: t.rabbitPrefix('dlq'), EVENT_MAX_DELIVERIES: '2' };
    let attempts = 0;
    let fixed = false;
    const handled: string[] = [];
    @Controller()
    class Broken {
      @OnEvent('user.registered')
      async on(event: UserRegisteredEvent): Promise<void> {
        attempts++;
        if (!fixed) throw new Error('consumer bug');
        handled.push(event.email);
      }
    }
    // The cards outbox, which no other context of this suite relays.
    await toPayments(env, Broken, 'cards', 'd@example.com');
    const connection = await amqp.connect(t.env.RABBITMQ_URL);
    try {
      const channel = await connection.createChannel();
      const dead = await eventually(
        async () => {
          const q = await channel.checkQueue(`${env.RABBITMQ_PREFIX}.dead.events.payments`);
          return q.messageCount === 1 ? q : undefined;
        },
        30000, // retries pause 0.5 s, 1 s, 2 s before the limit
        'the event in the dead-letter queue',
      );
      expect(dead.messageCount).toBe(1);
      expect(attempts).toBe(3); // the first delivery and 2 redeliveries, then the limit
      // A bug, not an outage: each failure went back to the queue (toward the limit), none was kept.
      const metrics = contexts[contexts.length - 2].get(MetricsService);
      const failures = await metrics.registry.getSingleMetric('event_delivery_failures_total')!.get();
      expect(failures.values.map((v) => [v.labels.outcome, v.value])).toEqual([
        ['kept', 0],
        ['requeued', 3],
        ['redelivered', 0],
      ]);
      // The fix deployed, the runbook's shovel moves the event back: it publishes each message, properties
      // kept, to the consumer's queue by name (the default exchange), so its routing key is the queue's.
      fixed = true;
      const message = await channel.get(`${env.RABBITMQ_PREFIX}.dead.events.payments`);
      if (!message) throw new Error('no message in the dead-letter queue');
      expect(message.fields.routingKey).toBe('payments'); // what dead-lettering left of the event's name
      channel.sendToQueue(`${env.RABBITMQ_PREFIX}.events.payments`, message.content, message.properties);
      channel.ack(message);
      await eventually(async () => (handled.length ? handled : undefined), 10000, 'the event handled');
      expect(handled).toEqual(['d@example.com']);
      expect(attempts).toBe(4);
    } finally {
      await connection.close();
    }
  });

  it('puts an event no handler here takes back on its queue (a newer instance may take it), and dead-letters it after EVENT_MAX_DELIVERIES', async () => {
    const env = { ...t.env, RABBITMQ_PREFIX: t.rabbitPrefix('nohandler'), EVENT_MAX_DELIVERIES: '2' };
    @Controller()
    class OlderListener {
      @OnEvent('user.registered')
      async on(): Promise<void> {}
    }
    const consumer = await createContext({
      subscriptions: { payments: ['user.registered'] },
      service: 'payments',
      transport: 'rmq',
      env,
      controllers: [OlderListener],
    });
    contexts.push(consumer);
    const connection = await amqp.connect(t.env.RABBITMQ_URL);
    try {
      const channel = await connection.createChannel();
      await consuming(connection, `${env.RABBITMQ_PREFIX}.events.payments`);
      // What a newer publisher routes here once it binds this queue to an event this version lacks.
      const unhandled = { event_id: randomUUID(), occurred_at: new Date().toISOString() };
      channel.sendToQueue(`${env.RABBITMQ_PREFIX}.events.payments`, Buffer.from(JSON.stringify(unhandled)), {
        contentType: 'application/json',
        type: 'card.frozen',
        messageId: unhandled.event_id,
      });
      const dead = await eventually(
        async () => {
          const q = await channel.checkQueue(`${env.RABBITMQ_PREFIX}.dead.events.payments`);
          return q.messageCount === 1 ? q : undefined;
        },
        20000, // pauses of 0.5 s and 1 s before the limit
        'the event in the dead-letter queue',
      );
      expect(dead.messageCount).toBe(1);
      // Back on the queue twice, then the limit: counted as requeued, under a label of its own (a `type`
      // is any publisher's to choose, so it never names a series).
      const failures = await consumer
        .get(MetricsService)
        .registry.getSingleMetric('event_delivery_failures_total')!
        .get();
      expect(
        failures.values.filter((v) => v.value > 0).map((v) => [v.labels.event, v.labels.outcome, v.value]),
      ).toEqual([['unhandled', 'requeued', 3]]);
    } finally {
      await connection.close();
    }
  });

  it('unbinds a subscription dropped for good (RETIRED_EVENT_SUBSCRIPTIONS) from its queue, and keeps the others', async () => {
    const prefix = t.rabbitPrefix('retired');
    const rmq = {
      name: (...parts: string[]) => [prefix, ...parts].join('.'),
      eventsExchange: `${prefix}.events`,
      config: { eventMaxDeliveries: 10 },
    } as unknown as RmqConnection;
    const connection = await amqp.connect(t.env.RABBITMQ_URL);
    try {
      const channel = await connection.createChannel();
      const queue = await declareEventQueue(channel, rmq, 'payments', ['account.closed', 'card.frozen']);
      // The next version no longer takes card.frozen; one never bound is retired too (no error).
      await declareEventQueue(channel, rmq, 'payments', ['account.closed'], ['card.frozen', 'kyc.verified']);
      for (const event of ['card.frozen', 'account.closed'])
        channel.publish(rmq.eventsExchange, event, Buffer.from('{}'), { type: event });
      const arrived = await eventually(
        async () => {
          const q = await channel.checkQueue(queue);
          return q.messageCount >= 1 ? q : undefined;
        },
        5000,
        'the message in the queue',
      );
      await new Promise((r) => setTimeout(r, 300));
      expect((await channel.checkQueue(queue)).messageCount).toBe(arrived.messageCount);
      const got = await channel.get(queue, { noAck: true });
      expect(got && got.properties.type).toBe('account.closed');
      expect((await channel.checkQueue(queue)).messageCount).toBe(0);
    } finally {
      await connection.close();
    }
  });

  // Traced, every event is delivered on its own (EventServer.deliver): it must fail with the handler's 503.
  it.each([
    ['untraced', false],
    ['traced', true],
  ])(
    'keeps an event failed by an outage (503) past EVENT_MAX_DELIVERIES attempts, and handles it once the dependency is back (%s)',
    async (name, traced) => {
      enableTracingForTests(traced);
      const env = { ...t.env, RABBITMQ_PREFIX: t.rabbitPrefix(`outage-${name}`), EVENT_MAX_DELIVERIES: '2' };
      let attempts = 0;
      const handled: string[] = [];
      @Controller()
      class Flaky {
        @OnEvent('user.registered')
        async on(event: UserRegisteredEvent): Promise<void> {
          attempts++;
          // Down for the first four attempts, as Postgres or another app would answer during an outage.
          if (attempts <= 4) throw new AppError(503, 'dependency_unavailable', 'unavailable');
          handled.push(event.email);
        }
      }
      // The accounts outbox: the dead-letter test's producer, still running, relays the cards one.
      await toPayments(env, Flaky, 'accounts', 'outage@example.com');
      // Pauses of 0.5, 1, 2 and 4 s between the attempts.
      await eventually(async () => (handled.length ? handled : undefined), 30000, 'the event handled');
      expect(handled).toEqual(['outage@example.com']);
      expect(attempts).toBe(5);
      // Each failure counted as kept (what EventsKeptRetrying watches), none as requeued.
      const consumer = contexts[contexts.length - 2].get(MetricsService);
      const failures = await consumer.registry.getSingleMetric('event_delivery_failures_total')!.get();
      expect(failures.values.map((v) => [v.labels.event, v.labels.outcome, v.value])).toEqual([
        ['user.registered', 'kept', 4],
        ['user.registered', 'requeued', 0],
        ['user.registered', 'redelivered', 0],
      ]);
      const connection = await amqp.connect(t.env.RABBITMQ_URL);
      try {
        const channel = await connection.createChannel();
        const dead = await channel.checkQueue(`${env.RABBITMQ_PREFIX}.dead.events.payments`);
        expect(dead.messageCount).toBe(0);
      } finally {
        await connection.close();
      }
      // Its relay would otherwise take the next run's event from the same outbox, to its own prefix.
      for (const ctx of contexts.splice(-2)) await ctx.close();
    },
  );

  it('serves again after the broker cancels its consumer (the RPC queue deleted under it), not ready meanwhile', async () => {
    expect(await echo.double(2n)).toBe(4n);
    const server = contexts[0].get(RmqConnection);
    const seen: string[][] = [];
    const watch = setInterval(() => seen.push(server.problems()), 20);
    let connects = 0;
    const counted = () => connects++;
    server.manager.on('connect', counted);
    const connection = await amqp.connect(t.env.RABBITMQ_URL);
    try {
      const channel = await connection.createChannel();
      await channel.deleteQueue(`${t.env.RABBITMQ_PREFIX}.rpc.cards`);
      // The server declares its queue again and consumes from it: calls are answered again.
      const answered = await eventually(
        async () => ((await echo.double(3n).catch(() => undefined)) === 6n ? true : undefined),
        20000,
        'a call answered after the queue was deleted',
      );
      expect(answered).toBe(true);
      const queue = await channel.checkQueue(`${t.env.RABBITMQ_PREFIX}.rpc.cards`);
      expect(queue.consumerCount).toBe(1);
      // One reconnect, not one per channel the reconnect itself closes (that looped, 5 a second).
      await new Promise((r) => setTimeout(r, 2000));
      expect(connects).toBe(1);
    } finally {
      clearInterval(watch);
      server.manager.off('connect', counted);
      await connection.close();
    }
    // Readiness said so in between, and is well again.
    expect(seen.some((p) => p.some((why) => why.includes('cancelled')))).toBe(true);
    expect(server.problems()).toEqual([]);
  });
});
