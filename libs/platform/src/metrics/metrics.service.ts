import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { SERVICE_NAME } from '../app/service.tokens';
import { assertSchemaName } from '../database/schema-name';
import { onSecurityEvent, WATCHED_SECURITY_EVENTS } from '../logging/security-events';
import { OutboxRelay } from '../messaging/events/outbox-relay';
import { withTimeout } from './bounded';

/** Longest a scrape waits for the outbox gauges' read (a busy Postgres still answers within it). */
const OUTBOX_READ_TIMEOUT_MS = 1000;

/** A counter of money, fed the integer minor units the ledger holds (see MetricsService.moneyCounter). */
export interface MoneyCounter<L extends string> {
  add(labels: Partial<Record<L, string>>, minorUnits: bigint | number | string): void;
}

/** One registry per app (not prom-client's global one), labelled with the service name. */
@Injectable()
export class MetricsService implements OnModuleDestroy {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly inboxEvents: Counter<'consumer' | 'outcome'>;

  private readonly counters = new Map<string, Counter<string>>();
  private readonly stopCountingSecurityEvents: () => void;

  /** A domain module's own counter, on this app's registry (one per name, however often asked for). */
  counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    let counter = this.counters.get(name);
    if (!counter) {
      counter = new Counter({ name, help, labelNames, registers: [this.registry] });
      this.counters.set(name, counter);
    }
    return counter as Counter<L>;
  }

  /**
   * A domain module's counter of money in minor units (its labels include the currency). The one place an
   * amount becomes a Prometheus sample, which is a float64: a series' running total stays exact below 2^53
   * minor units (90 trillion pounds), and each amount enters as the integer the ledger holds.
   */
  moneyCounter<L extends string>(name: string, help: string, labelNames: readonly L[]): MoneyCounter<L> {
    const counter = this.counter(name, help, labelNames);
    return { add: (labels, minorUnits) => counter.inc(labels, Number(minorUnits)) };
  }

  /**
   * A gauge with labels, set by `collect` when /metrics is scraped (one per name). `collect` must not
   * hang a scrape on an outage: bound it, and leave the last values when the source does not answer.
   */
  labelledGauge<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    collect: (gauge: Gauge<L>) => Promise<void> | void,
  ): Gauge<L> {
    const existing = this.registry.getSingleMetric(name);
    if (existing) return existing as Gauge<L>;
    return new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        return collect(this);
      },
    });
  }

  /** A domain module's gauge, read when /metrics is scraped. */
  gauge(name: string, help: string, read: () => number): void {
    if (this.registry.getSingleMetric(name)) return;
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }

  constructor(@Inject(SERVICE_NAME) service: string, dataSource: DataSource, relay: OutboxRelay) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
    this.httpDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by method, route pattern and status',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
    this.inboxEvents = new Counter({
      name: 'inbox_events_total',
      help: 'Events taken by consumers: applied, or duplicate (a redelivery with no second effect)',
      labelNames: ['consumer', 'outcome'],
      registers: [this.registry],
    });
    const securityEvents = new Counter({
      name: 'security_events_total',
      help: "Security events logged (security_event: refusals on colleagues' or own resources, lockouts, reused tokens, ...)",
      labelNames: ['event'],
      registers: [this.registry],
    });
    for (const event of WATCHED_SECURITY_EVENTS) securityEvents.inc({ event }, 0);
    this.stopCountingSecurityEvents = onSecurityEvent((event) => securityEvents.inc({ event }));
    // One statement for both outbox gauges, shared by their collects (prom-client collects every metric
    // of a scrape at once): each schema's count and oldest age, through its partial index on unpublished
    // rows (outbox_pending_idx), so a scrape never reads the published history.
    let reading: Promise<void> | undefined;
    const readOutboxes = () =>
      (reading ??= (async () => {
        const schemas = relay.ownedSchemas();
        if (schemas.length === 0) return;
        const rows = (await dataSource.query(outboxBacklogSql(schemas))) as OutboxBacklogRow[];
        for (const r of rows) {
          backlog.set({ schema: r.schema }, r.pending);
          age.set({ schema: r.schema }, r.age_seconds);
        }
      })().finally(() => (reading = undefined)));
    // Within OUTBOX_READ_TIMEOUT_MS, or the values of the last read that answered: one collect that fails
    // or hangs fails the whole scrape in prom-client, so with Postgres down every app relaying an outbox
    // answered /metrics with a 500, `up` went 0 for all of them (ServiceDown everywhere) and their HTTP
    // metrics were lost just when they mattered.
    const collectOutboxes = () => withTimeout(readOutboxes(), OUTBOX_READ_TIMEOUT_MS).catch(() => undefined);
    const backlog = new Gauge({
      name: 'outbox_backlog',
      help: 'Events written to an outbox and not yet relayed, by module schema',
      labelNames: ['schema'],
      registers: [this.registry],
      collect: collectOutboxes,
    });
    const age = new Gauge({
      name: 'outbox_oldest_unpublished_age_seconds',
      help: 'Age of the oldest event not yet relayed, by module schema (0 when none is pending)',
      labelNames: ['schema'],
      registers: [this.registry],
      collect: collectOutboxes,
    });
  }

  onModuleDestroy(): void {
    this.stopCountingSecurityEvents();
  }
}

interface OutboxBacklogRow {
  schema: string;
  pending: number;
  age_seconds: number;
}

/** Pending events and the oldest one's age in seconds, one row per outbox schema, in one statement. */
export function outboxBacklogSql(schemas: readonly string[]): string {
  return schemas
    .map((schema) => {
      assertSchemaName(schema);
      return `SELECT '${schema}' AS schema, count(*)::int AS pending,
       greatest(extract(epoch FROM clock_timestamp() - min(created_at)), 0)::float8 AS age_seconds
  FROM "${schema}".outbox WHERE published_at IS NULL`;
    })
    .join('\nUNION ALL\n');
}
