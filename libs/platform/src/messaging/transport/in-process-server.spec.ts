import { Controller, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { EventBase, UserRegisteredEvent } from '@protobank/contracts';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { AppConfig } from '../../config/app-config';
import { AppError } from '../../errors/app-error';
import { toErrorBody } from '../../http/error-body';
import { enableTracingForTests } from '../../tracing/tracing';
import { requestContext } from '../../context/request-context';
import { LOGGER } from '../../logging/logging.tokens';
import { OnEvent, OnEventBatch } from '../events/on-event.decorator';
import { TRANSPORT_STRATEGY, connectTransport } from './connect-transport';
import { InProcessServer } from './in-process-server';

const seen: { handler: string; event_id: string; request_id?: string }[] = [];
let failFirst = true;
let firstError: Error = new Error('first fails');

@Controller()
class First {
  @OnEvent('user.registered')
  async on(event: UserRegisteredEvent): Promise<void> {
    seen.push({ handler: 'first', event_id: event.event_id, request_id: requestContext.requestId() });
    if (failFirst) throw firstError;
  }
}

@Controller()
class Second {
  @OnEvent('user.registered')
  async on(event: UserRegisteredEvent): Promise<void> {
    await new Promise((r) => setTimeout(r, 20)); // still running when the first has failed
    seen.push({ handler: 'second', event_id: event.event_id, request_id: requestContext.requestId() });
  }
}

/** A batch handler: records each call's event ids, and fails any call holding a poison event. */
const batches: string[][] = [];
const POISON = 'poison@example.com';
@Controller()
class Batched {
  @OnEventBatch('user.registered')
  async on(events: UserRegisteredEvent[]): Promise<void> {
    batches.push(events.map((e) => e.event_id));
    if (events.some((e) => e.email === POISON)) throw new Error('poison event');
  }
}

const errors: unknown[] = [];
@Module({
  controllers: [First, Second, Batched],
  providers: [
    { provide: AppConfig, useValue: { databasePoolSize: 10 } },
    {
      provide: LOGGER,
      useValue: { error: (o: unknown) => errors.push(o), warn: () => undefined } as unknown as pino.Logger,
    },
    InProcessServer,
    { provide: TRANSPORT_STRATEGY, useExisting: InProcessServer },
  ],
})
class TestModule {}

const event = (): EventBase & UserRegisteredEvent => ({
  event_id: randomUUID(),
  occurred_at: new Date().toISOString(),
  user_id: randomUUID(),
  email: 'a@example.com',
});

describe('the in-process transport strategy, as Nest registers @OnEvent handlers on it', () => {
  let app: INestApplication;
  let server: InProcessServer;

  let availableCalls = 0;

  beforeAll(async () => {
    app = await NestFactory.create(TestModule, new FastifyAdapter(), { logger: false });
    connectTransport(app);
    server = app.get(InProcessServer);
    expect(server.isAvailable()).toBe(false); // the relay waits until the app started it
    server.onAvailable(() => (availableCalls += server.isAvailable() ? 1 : 0));
    await app.init();
    expect(availableCalls).toBe(0);
    await app.startAllMicroservices();
  });

  afterAll(() => app.close());

  beforeEach(() => {
    seen.length = 0;
    errors.length = 0;
    batches.length = 0;
  });

  it('is available to the relay once started, and tells it so (events left in the outbox go at once)', () => {
    expect(availableCalls).toBe(1);
    expect(server.isAvailable()).toBe(true);
    expect(server.eventNames()).toEqual(['user.registered']);
  });

  it('runs every handler of the event under its request id, and succeeds when all did', async () => {
    failFirst = false;
    const e = event();
    await server.publish({ name: 'user.registered', payload: e, headers: { request_id: 'req-1' } });
    expect(seen).toEqual([
      { handler: 'first', event_id: e.event_id, request_id: 'req-1' },
      { handler: 'second', event_id: e.event_id, request_id: 'req-1' },
    ]);
  });

  it('still runs the others when one fails, then fails the delivery naming the consumer in the log', async () => {
    failFirst = true;
    const e = event();
    await expect(server.publish({ name: 'user.registered', payload: e, headers: {} })).rejects.toThrow(
      'first fails',
    );
    expect(seen.map((s) => s.handler)).toEqual(['first', 'second']);
    // Without a request id, the event id stands in for it.
    expect(seen[1].request_id).toBe(e.event_id);
    // The handler's own error, passed through Nest's exception filters, with the consumer's name.
    expect(errors).toEqual([
      expect.objectContaining({ consumer: 'First.on', event_id: e.event_id, err: new Error('first fails') }),
    ]);
  });

  it("fails a delivery with the failing handler's own error, traced or not, so an outage (503) is told from a bug", async () => {
    failFirst = true;
    firstError = new AppError(503, 'dependency_unavailable', 'the database is unavailable');
    try {
      for (const traced of [false, true]) {
        enableTracingForTests(traced);
        const outcomes = await server.publishMany([
          { name: 'user.registered', payload: event(), headers: {} },
        ]);
        expect({ traced, status: toErrorBody(outcomes[0]).status }).toEqual({ traced, status: 503 });
        await expect(server.publish({ name: 'user.registered', payload: event(), headers: {} })).rejects.toBe(
          firstError,
        );
      }
    } finally {
      enableTracingForTests(false);
      firstError = new Error('first fails');
    }
  });

  it('hands a window to a batch handler in one call, runs one-event handlers per event, and gives one outcome per event', async () => {
    failFirst = false;
    const [a, b] = [event(), event()];
    const other = event(); // an event nobody here handles, in the same window
    const outcomes = await server.publishMany([
      { name: 'user.registered', payload: a, headers: {} },
      { name: 'card.authorised', payload: other, headers: {} },
      { name: 'user.registered', payload: b, headers: {} },
    ]);
    expect(outcomes).toEqual([undefined, undefined, undefined]);
    expect(batches).toEqual([[a.event_id, b.event_id]]);
    expect(seen.map((s) => `${s.handler}:${s.event_id}`).sort()).toEqual(
      [`first:${a.event_id}`, `second:${a.event_id}`, `first:${b.event_id}`, `second:${b.event_id}`].sort(),
    );
  });

  it('hands a failed batch over again one event at a time: only the poison event fails', async () => {
    failFirst = false;
    const [a, b] = [event(), event()];
    const poison = { ...event(), email: POISON };
    const outcomes = await server.publishMany(
      [a, poison, b].map((payload) => ({ name: 'user.registered', payload, headers: {} })),
    );
    expect(outcomes[0]).toBeUndefined();
    expect(outcomes[1]).toEqual(new Error('poison event'));
    expect(outcomes[2]).toBeUndefined();
    expect(batches).toEqual([
      [a.event_id, poison.event_id, b.event_id],
      [a.event_id],
      [poison.event_id],
      [b.event_id],
    ]);
    expect(errors).toEqual([
      expect.objectContaining({
        consumer: 'Batched.on',
        event_id: poison.event_id,
        err: new Error('poison event'),
      }),
    ]);
  });

  it('with a single publish, hands a batch handler a batch of one', async () => {
    failFirst = false;
    const e = event();
    await server.publish({ name: 'user.registered', payload: e, headers: {} });
    expect(batches).toEqual([[e.event_id]]);
  });

  it('leaves a window that fails outright to its caller alone: no unhandled rejection besides', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      // A corrupt outbox row: no payload object at all.
      const corrupt = { name: 'user.registered', payload: null as unknown as EventBase, headers: {} };
      await expect(server.publishMany([corrupt])).rejects.toThrow(TypeError);
      await new Promise((r) => setImmediate(r));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('treats an event nobody here handles as done', async () => {
    await expect(
      server.publish({ name: 'card.authorised', payload: event(), headers: {} }),
    ).resolves.toBeUndefined();
  });
});
