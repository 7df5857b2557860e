import { Inject, Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { SERVICE_NAME } from '../app/service.tokens';
import { OutboxRelay } from '../messaging/events/outbox-relay';

/** One registry per app (not prom-client's global one), labelled with the service name. */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly inboxEvents: Counter<'consumer' | 'outcome'>;

  private readonly counters = new Map<string, Counter<string>>();

  /** A domain module's own counter, on this app's registry (one per name, however often asked for). */
  counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    let counter = this.counters.get(name);
    if (!counter) {
      counter = new Counter({ name, help, labelNames, registers: [this.registry] });
      this.counters.set(name, counter);
    }
    return counter as Counter<L>;
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
    new Gauge({
      name: 'outbox_backlog',
      help: 'Events written to an outbox and not yet relayed, by module schema',
      labelNames: ['schema'],
      registers: [this.registry],
      async collect() {
        for (const schema of relay.ownedSchemas()) {
          const [row] = (await dataSource.query(
            `SELECT count(*)::int AS n FROM "${schema}".outbox WHERE published_at IS NULL`,
          )) as { n: number }[];
          this.set({ schema }, row.n);
        }
      },
    });
  }
}
