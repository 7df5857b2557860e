import type { DataSource } from 'typeorm';
import type { AppConfig } from '../../config/app-config';
import { MetricsService } from '../../metrics/metrics.service';
import type { RmqConnection } from '../rmq-connection';
import { InProcessDeadLetters, RmqDeadLetters } from './dead-letter-metrics';
import type { OutboxRelay } from './outbox-relay';
import type { Subscriptions } from './subscriptions';

const relayOf = (schemas: string[]) => ({ ownedSchemas: () => schemas }) as unknown as OutboxRelay;
const subscriptions = { analytics: ['transaction.created'] } as unknown as Subscriptions;

/** A broker stand-in: `depth` answers the passive declare (a promise that may never settle). */
function broker() {
  const state = {
    connected: true,
    depth: (): Promise<{ messageCount: number }> => Promise.resolve({ messageCount: 0 }),
    checks: 0,
  };
  const rmq = {
    name: (...parts: string[]) => ['pb', ...parts].join('.'),
    isConnected: () => state.connected,
    channel: () => ({
      checkQueue: () => {
        state.checks++;
        return state.depth();
      },
    }),
  } as unknown as RmqConnection;
  return { rmq, state };
}

const depthIn = (text: string) =>
  /events_dead_letter_messages\{queue="pb\.dead\.events\.analytics"[^}]*\} (\d+)/.exec(text)?.[1];

describe('RmqDeadLetters (split mode)', () => {
  const start = (service: string) => {
    const { rmq, state } = broker();
    const metrics = new MetricsService(service, {} as DataSource, relayOf([]));
    new RmqDeadLetters(rmq, subscriptions, service, metrics).onApplicationBootstrap();
    return { metrics, state };
  };

  it("reports the depth of the app's own dead-letter queue at each scrape", async () => {
    const { metrics, state } = start('analytics');
    state.depth = () => Promise.resolve({ messageCount: 3 });
    expect(depthIn(await metrics.registry.metrics())).toBe('3');
    state.depth = () => Promise.resolve({ messageCount: 0 });
    expect(depthIn(await metrics.registry.metrics())).toBe('0');
  });

  it('keeps the last depth, without waiting, while RabbitMQ is away or silent', async () => {
    const { metrics, state } = start('analytics');
    state.depth = () => Promise.resolve({ messageCount: 2 });
    await metrics.registry.metrics();
    state.connected = false;
    const checks = state.checks;
    expect(depthIn(await metrics.registry.metrics())).toBe('2');
    expect(state.checks).toBe(checks); // not even asked
    state.connected = true;
    state.depth = () => new Promise(() => undefined); // never answers
    // The scrape answers (after DEAD_LETTER_READ_TIMEOUT_MS) instead of hanging, with the last depth.
    expect(depthIn(await metrics.registry.metrics())).toBe('2');
    // A second scrape does not pile another check on the silent broker.
    await metrics.registry.metrics();
    expect(state.checks).toBe(checks + 1);
  });

  it('records a depth the broker gave too late for one scrape, for the next', async () => {
    const { metrics, state } = start('analytics');
    let answer: (q: { messageCount: number }) => void = () => undefined;
    state.depth = () => new Promise((resolve) => (answer = resolve));
    expect(depthIn(await metrics.registry.metrics())).toBeUndefined(); // no answer yet: no series
    answer({ messageCount: 5 });
    await new Promise((resolve) => setImmediate(resolve));
    state.connected = false; // the next scrape asks nothing: it shows what came late
    const checks = state.checks;
    expect(depthIn(await metrics.registry.metrics())).toBe('5');
    expect(state.checks).toBe(checks);
  });

  it('has no series in an app that consumes no events (it has no dead-letter queue)', async () => {
    const { metrics, state } = start('accounts');
    expect(await metrics.registry.metrics()).not.toContain('events_dead_letter_messages');
    expect(state.checks).toBe(0);
  });
});

describe('InProcessDeadLetters (monolith)', () => {
  it('counts unpublished events failed EVENT_MAX_DELIVERIES times or more, as queue="in-process"', async () => {
    const asked: { sql: string; params: unknown[] }[] = [];
    const dataSource = {
      query: async (sql: string, params: unknown[]) => {
        asked.push({ sql, params });
        return [{ n: 4 }];
      },
    } as unknown as DataSource;
    const relay = relayOf(['users', 'cards']);
    const metrics = new MetricsService('monolith', { query: async () => [] } as unknown as DataSource, relay);
    const config = { eventMaxDeliveries: 5 } as AppConfig;
    new InProcessDeadLetters(dataSource, relay, config, metrics).onApplicationBootstrap();
    expect(await metrics.registry.metrics()).toContain(
      'events_dead_letter_messages{queue="in-process",service="monolith"} 4',
    );
    expect(asked).toHaveLength(1);
    expect(asked[0].params).toEqual([5]);
    expect(asked[0].sql.match(/WHERE published_at IS NULL AND attempts >= \$1/g)).toHaveLength(2);
  });
});
