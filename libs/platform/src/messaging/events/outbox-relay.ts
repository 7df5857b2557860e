import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { Client } from 'pg';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/app-config';
import { LOGGER } from '../../logging/logging.tokens';
import {
  ATTR,
  contextFrom,
  failSpan,
  runInSpan,
  SpanKind,
  startSpan,
  traceHeaders,
  tracingEnabled,
  type Span,
} from '../../tracing/tracing';
import { chunksOf } from '../chunks';
import { EventTransport, type EventHeaders } from './event-transport';
import { OutboxRegistration } from './outbox-registration';
import { OUTBOX_CHANNEL } from './outbox.service';

const BATCH = 100;
/** How long a claimed row is ours: a relay that dies mid-batch releases its rows when this runs out. */
const LEASE_SECONDS = 30;

interface OutboxRow {
  id: string;
  name: string;
  payload: { event_id: string; occurred_at: string };
  headers: EventHeaders | null;
  attempts: number;
  created_at: Date;
}

/**
 * Moves committed events from this process's outboxes to the transport, then marks them sent.
 *
 * Rows are claimed with a lease (next_attempt_at pushed LEASE_SECONDS ahead) in one short transaction,
 * delivered a window at a time with no transaction or connection held, then marked sent. So several
 * relays never send a row at the same time, delivery (local handlers, or a broker that is slow or down)
 * never pins a pool connection, and a crash between delivery and marking means one more delivery
 * (consumers are idempotent), never a lost event. A failure stops the batch after its window, backs the
 * failed rows off exponentially (up to a minute) and releases the rest. Woken by NOTIFY on commit, and
 * by a poll as the fallback (e.g. behind PgBouncer, where LISTEN cannot work).
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private schemas: string[] = [];
  private timer?: NodeJS.Timeout;
  private listener?: Client;
  private running?: Promise<void>;
  private again = false;
  private soon?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly transport: EventTransport,
    private readonly discovery: DiscoveryService,
    private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  ownedSchemas(): string[] {
    return this.schemas;
  }

  onApplicationBootstrap(): void {
    this.schemas = [
      ...new Set(
        this.discovery
          .getProviders()
          .map((w) => w.instance as unknown)
          .filter((i): i is OutboxRegistration => i instanceof OutboxRegistration)
          .map((r) => r.schema),
      ),
    ];
    if (this.schemas.length === 0) return;
    this.transport.onAvailable(() => this.kick());
    this.timer = setInterval(() => this.kick(), this.config.outboxPollMs);
    void this.listen();
    this.kick();
  }

  /**
   * Drain within `withinMs`: kicks in that window share one drain, so a busy producer (hundreds of
   * transfers a second) costs the relay a few claims a second instead of one per event.
   */
  kickSoon(withinMs = 25): void {
    if (this.soon || this.stopped) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      this.kick();
    }, withinMs);
  }

  /** Drain now; if a drain is running, run once more after it. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((err: unknown) => this.logger.error({ err }, 'outbox relay failed'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  private async drain(): Promise<void> {
    if (!this.transport.isAvailable()) return; // the poll tries again; no point claiming rows now
    for (const schema of this.schemas) {
      while (!this.stopped && (await this.relayBatch(schema))) {
        /* a full batch went through: there may be more */
      }
    }
  }

  /** Relays one batch; true when it was full and fully delivered (so another may follow). */
  private async relayBatch(schema: string): Promise<boolean> {
    // The oldest due rows, leased (migrations/1763700000023-OutboxClaimInOrder.ts: the claim walks the
    // pending index in order whatever the statistics say; 1763700000024-OutboxClaimOnOnePage.ts: claims
    // of one outbox take turns, and lease and publish update the row on its own page). RETURNING has no
    // order.
    const rows = (await this.dataSource.query(
      `SELECT id, name, payload, headers, attempts, created_at FROM "${schema}".claim_outbox($1, $2)`,
      [BATCH, LEASE_SECONDS],
    )) as OutboxRow[];
    const claimed = rows.sort(
      (a, b) => a.created_at.getTime() - b.created_at.getTime() || a.id.localeCompare(b.id),
    );
    if (claimed.length === 0) return false;
    const sent: string[] = [];
    const failed: { row: OutboxRow; err: unknown }[] = [];
    // A window of events handed over at once (transport.inFlight(), publishMany): over RabbitMQ their
    // confirms overlap instead of costing a broker round trip (and fsync) each; in-process, the window goes
    // to the handlers as batches (@OnEventBatch: one transaction per consumer). Order between events is
    // not promised (consumers are idempotent and order-free); at a failure no window follows.
    const size = this.transport.inFlight();
    for (const window of chunksOf(claimed, size)) {
      if (failed.length > 0 || this.stopped) break;
      const spans = window.map((row) => this.publishSpan(row));
      const outcomes = await this.transport.publishMany(
        window.map((row, j) => ({
          name: row.name,
          payload: row.payload,
          // Traced, the event carries its publish span's context on to the consumers.
          headers: { ...(row.headers ?? {}), ...spans[j]?.headers },
        })),
      );
      outcomes.forEach((err, j) => {
        if (err === undefined) sent.push(window[j].id);
        else {
          failed.push({ row: window[j], err });
          failSpan(spans[j]?.span, err);
        }
        spans[j]?.span?.end();
      });
    }
    if (sent.length) {
      await this.dataSource.query(
        `UPDATE "${schema}".outbox SET published_at = clock_timestamp(), attempts = attempts + 1 WHERE id = ANY($1::uuid[])`,
        [sent],
      );
    }
    if (failed.length) {
      this.logger.warn(
        { err: failed[0].err, event: failed[0].row.name, event_id: failed[0].row.id, failed: failed.length },
        'event not delivered; will retry',
      );
      await this.dataSource.query(
        `UPDATE "${schema}".outbox o SET attempts = o.attempts + 1, last_error = f.error,
           next_attempt_at = clock_timestamp() + make_interval(secs => least(power(2, o.attempts), 60))
          FROM unnest($1::uuid[], $2::text[]) AS f(id, error) WHERE o.id = f.id`,
        [
          failed.map((f) => f.row.id),
          failed.map((f) => String((f.err as Error)?.message ?? f.err).slice(0, 500)),
        ],
      );
    }
    const done = new Set([...sent, ...failed.map((f) => f.row.id)]);
    const unsent = claimed.filter((r) => !done.has(r.id)).map((r) => r.id);
    if (unsent.length) {
      // Not attempted (stopping, or stopped at a failure): give them back, a moment later.
      await this.dataSource.query(
        `UPDATE "${schema}".outbox SET next_attempt_at = clock_timestamp() + interval '1 second' WHERE id = ANY($1::uuid[])`,
        [unsent],
      );
    }
    return failed.length === 0 && !this.stopped && claimed.length === BATCH;
  }

  /**
   * The publish span of a row (tracing on): it continues the trace of the request that wrote the row
   * (its context is in the row's headers); its own context goes with the event to the consumers.
   */
  private publishSpan(row: OutboxRow): { span: Span | undefined; headers: EventHeaders } | undefined {
    if (!tracingEnabled()) return undefined;
    const { system, destination } = this.transport.describe();
    const parent = contextFrom(row.headers ?? {});
    const span = startSpan(`publish ${row.name}`, {
      kind: SpanKind.PRODUCER,
      parent,
      attributes: {
        [ATTR.MESSAGING_SYSTEM]: system,
        [ATTR.MESSAGING_OPERATION_TYPE]: 'send',
        [ATTR.MESSAGING_OPERATION_NAME]: 'publish',
        [ATTR.MESSAGING_DESTINATION_NAME]: destination,
        ...(system === 'rabbitmq' && { [ATTR.MESSAGING_RABBITMQ_ROUTING_KEY]: row.name }),
        [ATTR.MESSAGING_MESSAGE_ID]: row.payload.event_id,
        'protobank.outbox.attempt': row.attempts + 1,
      },
    });
    return { span, headers: runInSpan(span, parent, () => traceHeaders()) ?? {} };
  }

  private async listen(): Promise<void> {
    if (this.stopped) return;
    const client = new Client({
      connectionString: this.config.databaseListenUrl,
      // Which process a listener in pg_stat_activity belongs to.
      application_name: `protobank outbox listener ${process.pid}`,
    });
    // pg may emit several errors for one loss (the error, then the unexpected end), and a failed LISTEN
    // also lands in the catch below: one retry per client, or each loss would double the listeners.
    let retried = false;
    const retry = (ms: number) => {
      if (retried || this.stopped) return;
      retried = true;
      setTimeout(() => void this.listen(), ms).unref();
    };
    client.on('error', (err) => {
      if (retried) return;
      this.logger.warn({ err: err.message }, 'outbox listener lost; polling until it reconnects');
      if (this.listener === client) this.listener = undefined;
      void client.end().catch(() => undefined);
      retry(2000);
    });
    client.on('notification', (n) => {
      if (n.payload && this.schemas.includes(n.payload)) this.kick();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
      // Stopped while connecting: shutdown's end() saw no listener, so this one is ended here, or its
      // socket would keep the process alive.
      if (this.stopped) {
        await client.end().catch(() => undefined);
        return;
      }
      this.listener = client;
    } catch (err) {
      this.logger.warn(
        { err: (err as Error).message },
        'outbox listener unavailable; polling until it connects',
      );
      retry(5000);
      await client.end().catch(() => undefined);
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.soon) clearTimeout(this.soon);
    await this.running;
    await this.listener?.end().catch(() => undefined);
  }
}
