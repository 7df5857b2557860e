/**
 * What moving onto @nestjs/microservices put at risk, in both topologies: several @OnEvent handlers of
 * one event in one app (Nest would chain and forkJoin them), the request context handlers run under, and
 * the drain of a contract call in flight when the app closes.
 */
import { Controller, Inject, type INestApplicationContext } from '@nestjs/common';
import { defineContract, type UserRegisteredEvent } from '@protobank/contracts';
import {
  InboxService,
  inboxFor,
  OnEvent,
  outboxFor,
  OutboxService,
  requestContext,
  decode,
  encode,
} from '@protobank/platform';
import amqp from 'amqplib';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { createContext } from '../support/contexts';
import { processes } from '../support/processes';
import { createTestEnv, eventually, type TestEnv } from '../support/test-env';

/** Per event id: how often each handler ran, what it committed, under which request id. */
const calls = { steady: new Map<string, number>(), flaky: new Map<string, number>() };
const effects = { steady: [] as string[], flaky: [] as string[] };
const requestIds = new Map<string, string | undefined>();
const bump = (m: Map<string, number>, id: string) => m.set(id, (m.get(id) ?? 0) + 1).get(id)!;

@Controller()
class SteadyHandler {
  constructor(@Inject(InboxService) private readonly inbox: InboxService) {}
  @OnEvent('user.registered')
  async on(event: UserRegisteredEvent): Promise<void> {
    bump(calls.steady, event.event_id);
    requestIds.set(event.event_id, requestContext.requestId());
    await this.inbox.once('notifications', 'Test.steady', event.event_id, async () => {
      effects.steady.push(event.event_id);
    });
  }
}

@Controller()
class FlakyHandler {
  constructor(@Inject(InboxService) private readonly inbox: InboxService) {}
  /** Fails the first delivery of each event, as a handler would on a passing database error. */
  @OnEvent('user.registered')
  async on(event: UserRegisteredEvent): Promise<void> {
    if (bump(calls.flaky, event.event_id) === 1) throw new Error('transient failure');
    await this.inbox.once('analytics', 'Test.flaky', event.event_id, async () => {
      effects.flaky.push(event.event_id);
    });
  }
}

interface SlowApi {
  sleep(ms: number): Promise<string>;
  mark(id: string): Promise<string>;
}
const SLOW_API = Symbol('SLOW_API');
const SlowContract = defineContract<SlowApi>({
  service: 'cards',
  token: SLOW_API,
  patterns: { sleep: 'slow.sleep', mark: 'slow.mark' },
});
let started: () => void = () => undefined;
class Slow implements SlowApi {
  async sleep(ms: number) {
    started();
    await new Promise((r) => setTimeout(r, ms));
    return 'done';
  }
  async mark(id: string) {
    marked.push(id);
    return id;
  }
}
/** The ids the server acted on (Slow.mark). */
const marked: string[] = [];

describe('transport on @nestjs/microservices', () => {
  let t: TestEnv;
  const contexts: INestApplicationContext[] = [];

  beforeAll(async () => {
    t = await createTestEnv('transport');
    await processes.runOnce('migrate', t.env, { logFile: join(t.logDir, 'migrate.log') });
  });

  afterAll(async () => {
    for (const ctx of contexts.reverse()) await ctx.close().catch(() => undefined);
    await t?.cleanup();
  });

  /**
   * Returns the producer; the handlers sit in the consumer (the same app in-process). Each topology
   * relays its own outbox, so neither delivers the other's event.
   */
  async function topology(kind: 'local' | 'rmq'): Promise<INestApplicationContext> {
    const only = { subscriptions: { payments: ['user.registered'] } } as const;
    if (kind === 'local') {
      const app = await createContext({
        service: 'monolith',
        transport: 'local',
        env: t.env,
        providers: [outboxFor('cards'), inboxFor('notifications'), inboxFor('analytics')],
        controllers: [SteadyHandler, FlakyHandler],
      });
      contexts.push(app);
      return app;
    }
    const env = { ...t.env, RABBITMQ_PREFIX: t.rabbitPrefix('fanout') };
    const consumer = await createContext({
      ...only,
      service: 'payments',
      transport: 'rmq',
      env,
      providers: [inboxFor('notifications'), inboxFor('analytics')],
      controllers: [SteadyHandler, FlakyHandler],
    });
    const producer = await createContext({
      ...only,
      service: 'cards',
      transport: 'rmq',
      env,
      providers: [outboxFor('users')],
    });
    contexts.push(consumer, producer);
    return producer;
  }

  describe.each(['local', 'rmq'] as const)('%s', (kind) => {
    it('tries every handler of an event, retries the delivery if one failed, and applies each effect once', async () => {
      const producer = await topology(kind);
      const event = await requestContext.run({ requestId: `req-${kind}` }, () =>
        producer.get(DataSource).transaction((m) =>
          producer.get(OutboxService).add(m, kind === 'local' ? 'cards' : 'users', 'user.registered', {
            user_id: randomUUID(),
            email: 'f@example.com',
          }),
        ),
      );
      await eventually(
        async () => (effects.flaky.includes(event.event_id) ? true : undefined),
        20000,
        'the failing handler to succeed on a redelivery',
      );
      expect(calls.flaky.get(event.event_id)).toBe(2);
      // The other handler ran on both deliveries (the whole delivery was retried), committed once.
      expect(calls.steady.get(event.event_id)).toBe(2);
      expect(effects.steady.filter((id) => id === event.event_id)).toHaveLength(1);
      // Handlers run under the request id of the request that produced the event.
      expect(requestIds.get(event.event_id)).toBe(`req-${kind}`);
    });
  });

  /** An app serving SlowContract over RabbitMQ (closed by the test that starts it). */
  const slowServer = (env: Record<string, string>) =>
    createContext({
      service: 'cards',
      transport: 'rmq',
      env,
      providers: [{ provide: SLOW_API, useClass: Slow }],
      serves: [SlowContract],
    });

  /** An app calling SlowContract over RabbitMQ, closed after the suite. */
  async function slowCaller(env: Record<string, string>): Promise<INestApplicationContext> {
    const caller = await createContext({ service: 'payments', transport: 'rmq', env, calls: [SlowContract] });
    contexts.push(caller);
    return caller;
  }

  it('answers a contract call in flight when the serving app closes, and takes no more', async () => {
    const env = { ...t.env, RABBITMQ_PREFIX: t.rabbitPrefix('drain'), RPC_TIMEOUT_MS: '1500' };
    const server = await slowServer(env);
    const slow = (await slowCaller(env)).get<SlowApi>(SLOW_API);
    const running = new Promise<void>((r) => (started = r));
    const call = slow.sleep(500);
    await running;
    const closed = server.close();
    await expect(call).resolves.toBe('done');
    await closed;
    // Consuming stopped: a new request waits in the queue (declared by the caller) until its deadline.
    await expect(slow.sleep(0)).rejects.toMatchObject({ status: 504, code: 'dependency_timeout' });
  });

  it('drops a contract call read past its deadline (a paused app), answering nothing, and acts on one in time', async () => {
    const prefix = t.rabbitPrefix('deadline');
    const env = { ...t.env, RABBITMQ_PREFIX: prefix, RPC_TIMEOUT_MS: '500' };
    const server = await slowServer(env);
    contexts.push(server);
    // What a caller sends (RmqClient.publish), written here so that one request can reach the server
    // after its deadline as it would after a pause: SIGSTOP, swapping, a starved CPU.
    const connection = await amqp.connect(t.env.RABBITMQ_URL);
    try {
      const ch = await connection.createChannel();
      const replies = new Map<string, unknown>();
      await ch.consume(
        'amq.rabbitmq.reply-to',
        (msg) => msg && replies.set(String(msg.properties.correlationId), decode(msg.content)),
        { noAck: true },
      );
      const request = (id: string, deadline: number) =>
        ch.sendToQueue(`${prefix}.rpc.cards`, encode({ args: [id] }), {
          correlationId: id,
          replyTo: 'amq.rabbitmq.reply-to',
          type: 'slow.mark',
          headers: { 'x-deadline': String(deadline) },
          contentType: 'application/json',
        });
      request('late', Date.now() - 1);
      request('in-time', Date.now() + 5000);
      await eventually(async () => (replies.has('in-time') ? true : undefined), 5000, 'the reply in time');
      expect(replies.get('in-time')).toEqual({ ok: true, result: 'in-time' });
      // One queue, in order: the late request was read first, and neither acted on nor answered.
      expect(marked).not.toContain('late');
      expect(replies.has('late')).toBe(false);
      // And acked, not left to come back: with the server gone, nothing is ready in its queue.
      await server.close();
      expect((await ch.checkQueue(`${prefix}.rpc.cards`)).messageCount).toBe(0);

      // And a caller sends its deadline: read from the queue of a service nobody serves.
      const unserved = t.rabbitPrefix('deadline-sent');
      const caller = await slowCaller({ ...env, RABBITMQ_PREFIX: unserved });
      const sentAt = Date.now();
      const unanswered = caller.get<SlowApi>(SLOW_API).mark('unserved');
      const waiting = await eventually(
        async () => (await ch.get(`${unserved}.rpc.cards`, { noAck: true })) || undefined,
        5000,
        'the request in its queue',
      );
      const deadline = Number(waiting.properties.headers?.['x-deadline']);
      expect(deadline).toBeGreaterThanOrEqual(sentAt + 500);
      expect(deadline).toBeLessThanOrEqual(Date.now() + 500);
      await expect(unanswered).rejects.toMatchObject({ status: 504 });
    } finally {
      await connection.close();
    }
  });
});
