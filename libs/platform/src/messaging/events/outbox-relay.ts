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
import { EventTransport } from './event-transport';
import { OutboxRegistration } from './outbox-registration';
import { OUTBOX_CHANNEL } from './outbox.service';

const BATCH = 100;

interface OutboxRow {
  id: string;
  name: string;
  payload: { event_id: string; occurred_at: string };
  headers: { request_id?: string; caller?: { user_id: string; role: string } };
}

/**
 * Moves committed events from this process's outboxes to the transport, then marks them sent.
 * Rows are claimed with FOR UPDATE SKIP LOCKED, so several instances can relay the same outbox without
 * sending a row twice at once; a crash between publish and mark means one more delivery (consumers are
 * idempotent), never a lost event. A failed row is retried with exponential backoff up to a minute.
 * Woken by NOTIFY on commit, and by a poll as the fallback (e.g. behind PgBouncer, where LISTEN cannot work).
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private schemas: string[] = [];
  private timer?: NodeJS.Timeout;
  private listener?: Client;
  private running?: Promise<void>;
  private again = false;
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
    this.timer = setInterval(() => this.kick(), this.config.outboxPollMs);
    void this.listen();
    this.kick();
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
    for (const schema of this.schemas) {
      while (!this.stopped && (await this.relayBatch(schema)) === BATCH) {
        /* a full batch: there may be more */
      }
    }
  }

  private relayBatch(schema: string): Promise<number> {
    return this.dataSource.transaction(async (m) => {
      const rows = (await m.query(
        `SELECT id, name, payload, headers FROM "${schema}".outbox
          WHERE published_at IS NULL AND next_attempt_at <= now()
          ORDER BY created_at, id LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`,
      )) as OutboxRow[];
      const sent: string[] = [];
      for (const row of rows) {
        try {
          await this.transport.publish({ name: row.name, payload: row.payload, headers: row.headers ?? {} });
          sent.push(row.id);
        } catch (err) {
          this.logger.warn({ err, event: row.name, event_id: row.id }, 'event not delivered; will retry');
          await m.query(
            `UPDATE "${schema}".outbox SET attempts = attempts + 1, last_error = $2,
               next_attempt_at = now() + make_interval(secs => least(power(2, attempts), 60))
             WHERE id = $1`,
            [row.id, String((err as Error)?.message ?? err).slice(0, 500)],
          );
        }
      }
      if (sent.length) {
        await m.query(
          `UPDATE "${schema}".outbox SET published_at = now(), attempts = attempts + 1 WHERE id = ANY($1::uuid[])`,
          [sent],
        );
      }
      return rows.length;
    });
  }

  private async listen(): Promise<void> {
    if (this.stopped) return;
    const client = new Client({ connectionString: this.config.databaseListenUrl });
    client.on('error', (err) => {
      this.logger.warn({ err: err.message }, 'outbox listener lost; polling until it reconnects');
      this.listener = undefined;
      setTimeout(() => void this.listen(), 2000).unref();
    });
    client.on('notification', (n) => {
      if (n.payload && this.schemas.includes(n.payload)) this.kick();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
      this.listener = client;
    } catch (err) {
      this.logger.warn(
        { err: (err as Error).message },
        'outbox listener unavailable; polling until it connects',
      );
      client.removeAllListeners('error');
      await client.end().catch(() => undefined);
      if (!this.stopped) setTimeout(() => void this.listen(), 5000).unref();
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
    await this.listener?.end().catch(() => undefined);
  }
}
