import type { DataSource } from 'typeorm';
import type { OutboxRelay } from '../messaging/events/outbox-relay';
import { MetricsService, outboxBacklogSql } from './metrics.service';

const relayOf = (schemas: string[]) => ({ ownedSchemas: () => schemas }) as unknown as OutboxRelay;

describe('MetricsService outbox gauges', () => {
  it('reads backlog and oldest age of every schema in one statement per scrape', async () => {
    const statements: string[] = [];
    const dataSource = {
      query: async (sql: string) => {
        statements.push(sql);
        return [
          { schema: 'users', pending: 0, age_seconds: 0 },
          { schema: 'auth', pending: 3, age_seconds: 42.5 },
        ];
      },
    } as unknown as DataSource;
    const metrics = new MetricsService('users', dataSource, relayOf(['users', 'auth']));
    const text = await metrics.registry.metrics();
    expect(statements).toHaveLength(1);
    expect(statements[0]).toBe(outboxBacklogSql(['users', 'auth']));
    expect(text).toContain('outbox_backlog{schema="auth",service="users"} 3');
    expect(text).toContain('outbox_oldest_unpublished_age_seconds{schema="auth",service="users"} 42.5');
    expect(text).toContain('outbox_oldest_unpublished_age_seconds{schema="users",service="users"} 0');
  });

  it('answers a scrape with Postgres down or hanging, keeping the last values read', async () => {
    let answer: () => Promise<unknown> = async () => [{ schema: 'users', pending: 7, age_seconds: 3 }];
    const dataSource = { query: () => answer() } as unknown as DataSource;
    const metrics = new MetricsService('users', dataSource, relayOf(['users']));
    expect(await metrics.registry.metrics()).toContain('outbox_backlog{schema="users",service="users"} 7');
    answer = async () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
    };
    expect(await metrics.registry.metrics()).toContain('outbox_backlog{schema="users",service="users"} 7');
    // Never answers: the scrape still does (within the read's 1 s; a hang would outlast the test's time).
    answer = () => new Promise(() => undefined);
    const text = await metrics.registry.metrics();
    expect(text).toContain('outbox_backlog{schema="users",service="users"} 7');
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('asks nothing of the database when the app relays no outbox', async () => {
    const dataSource = { query: jest.fn() } as unknown as DataSource;
    await new MetricsService('auth', dataSource, relayOf([])).registry.metrics();
    expect(dataSource.query).not.toHaveBeenCalled();
  });

  it('reads only unpublished rows (the partial index outbox_pending_idx), and plain schema names only', () => {
    const sql = outboxBacklogSql(['users', 'cards']);
    expect(sql.match(/WHERE published_at IS NULL/g)).toHaveLength(2);
    expect(sql).toContain('FROM "cards".outbox');
    expect(sql).toContain('UNION ALL');
    expect(() => outboxBacklogSql(['users"; DROP TABLE x; --'])).toThrow(/invalid schema name/);
  });
});

describe('MetricsService.labelledGauge', () => {
  it('registers a name once and sets it at scrape time', async () => {
    const metrics = new MetricsService('x', {} as DataSource, relayOf([]));
    let reads = 0;
    const gauge = metrics.labelledGauge('unit_gauge', 'a unit gauge', ['queue'], (g) => {
      reads++;
      g.set({ queue: 'q' }, reads);
    });
    expect(metrics.labelledGauge('unit_gauge', 'again', ['queue'], () => undefined)).toBe(gauge);
    expect(await metrics.registry.metrics()).toContain('unit_gauge{queue="q",service="x"} 1');
  });
});

describe('MetricsService money counters', () => {
  it('adds the ledger’s integer minor units (bigint, string or number) exactly, per label set', async () => {
    const metrics = new MetricsService('transactions', {} as DataSource, relayOf([]));
    const moved = metrics.moneyCounter('unit_amount_minor_total', 'test', ['kind', 'currency']);
    moved.add({ kind: 'transfer', currency: 'GBP' }, 2550n);
    moved.add({ kind: 'transfer', currency: 'GBP' }, '1000000000001');
    moved.add({ kind: 'deposit', currency: 'EUR' }, 7);
    const text = await metrics.registry.metrics();
    expect(text).toContain(
      'unit_amount_minor_total{kind="transfer",currency="GBP",service="transactions"} 1000000002551',
    );
    expect(text).toContain('unit_amount_minor_total{kind="deposit",currency="EUR",service="transactions"} 7');
  });
});
