/**
 * The RabbitMQ mechanisms themselves, with a test contract and test consumers: what crosses the wire
 * (request id, caller, bigint), what happens when a server is slow or breaks, and how events fan out.
 */
import { Inject, Injectable, type INestApplicationContext } from '@nestjs/common';
import { defineContract, type UserRegisteredEvent } from '@protobank/contracts';
import {
  AppError,
  InboxService,
  OnEvent,
  outboxFor,
  OutboxService,
  requestContext,
} from '@protobank/platform';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { createContext } from '../support/contexts';
import { processes } from '../support/processes';
import { createTestEnv, eventually, type TestEnv } from '../support/test-env';

interface EchoApi {
  whoami(): Promise<{ request_id?: string; caller?: unknown }>;
  double(amount: bigint): Promise<bigint>;
  sleep(ms: number): Promise<string>;
  explode(): Promise<void>;
  refuse(): Promise<void>;
}
const ECHO_API = Symbol('ECHO_API');
// Served under the "cards" service name: any name works for the mechanism.
const EchoContract = defineContract<EchoApi>({
  service: 'cards',
  token: ECHO_API,
  patterns: {
    whoami: 'echo.whoami',
    double: 'echo.double',
    sleep: 'echo.sleep',
    explode: 'echo.explode',
    refuse: 'echo.refuse',
  },
});

class Echo implements EchoApi {
  async whoami() {
    const ctx = requestContext.current();
    return { request_id: ctx?.requestId, caller: ctx?.caller };
  }
  async double(amount: bigint) {
    return amount * 2n;
  }
  async sleep(ms: number) {
    await new Promise((r) => setTimeout(r, ms));
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
}

const received: Record<string, string[]> = { notifications: [], analytics: [] };

function consumerFor(service: 'notifications' | 'analytics') {
  @Injectable()
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

  afterAll(async () => {
    for (const ctx of contexts.reverse()) await ctx.close();
    await t?.cleanup();
  });

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
      message: 'internal error',
      details: [],
    });
  });

  it('gives up on a slow server after RPC_TIMEOUT_MS with 504', async () => {
    const started = Date.now();
    const err = await echo.sleep(1500).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 504, code: 'dependency_timeout' });
    expect(Date.now() - started).toBeLessThan(1400);
  });

  it('fans every event out to each consuming service once, and survives a redelivery', async () => {
    contexts.push(
      await createContext({
        service: 'notifications',
        transport: 'rmq',
        env: t.env,
        providers: [consumerFor('notifications')],
      }),
      await createContext({
        service: 'analytics',
        transport: 'rmq',
        env: t.env,
        providers: [consumerFor('analytics')],
      }),
    );
    // The producer: a context owning the users outbox, writing the event in a transaction.
    const producer = await createContext({
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
      async () =>
        received.notifications.includes(userId) && received.analytics.includes(userId) ? true : undefined,
      10000,
      'both consumers',
    );
    await dataSource.query('UPDATE users.outbox SET published_at = NULL WHERE id = $1', [event.event_id]);
    await eventually(
      async () => {
        const [row] = (await dataSource.query(
          'SELECT attempts FROM users.outbox WHERE id = $1 AND published_at IS NOT NULL',
          [event.event_id],
        )) as { attempts: number }[];
        return row?.attempts === 2 ? true : undefined;
      },
      10000,
      'the second relay',
    );
    await new Promise((r) => setTimeout(r, 1000));
    expect(received.notifications.filter((id) => id === userId)).toHaveLength(1);
    expect(received.analytics.filter((id) => id === userId)).toHaveLength(1);
    expect([...received.notifications, ...received.analytics]).not.toContain(ghost);
  });
});
