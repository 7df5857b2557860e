import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/app-config';
import { LOGGER } from '../../logging/logging.tokens';
import { InboxService } from './inbox.service';
import { OutboxRelay } from './outbox-relay';

const HOUR_MS = 60 * 60 * 1000;
const BATCH = 5000;

/**
 * Keeps outbox and inbox tables from growing forever: published outbox rows and inbox records older than
 * EVENT_RETENTION_DAYS are deleted, hourly, in small batches (short locks). Unpublished rows are never
 * touched. Each app prunes the outboxes it relays and the inboxes its modules register (inboxFor), so a
 * module that only consumes events has its inbox pruned too.
 */
@Injectable()
export class EventRetention implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly dataSource: DataSource,
    private readonly relay: OutboxRelay,
    private readonly inbox: InboxService,
    private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(
      () => void this.prune().catch((err: unknown) => this.logger.warn({ err }, 'event pruning failed')),
      HOUR_MS,
    );
    this.timer.unref();
  }

  /** Deletes what is past retention; returns how many rows went, per table. */
  async prune(): Promise<Record<string, number>> {
    const days = this.config.eventRetentionDays;
    const removed: Record<string, number> = {};
    const tables = [
      ...this.relay.ownedSchemas().map((schema) => [schema, 'outbox'] as const),
      ...this.inbox.schemas().map((schema) => [schema, 'inbox'] as const),
    ];
    for (const [schema, table] of tables) {
      const [key, condition] =
        table === 'outbox'
          ? ['id', 'published_at IS NOT NULL AND published_at']
          : ['event_id, consumer', 'processed_at'];
      let total = 0;
      for (;;) {
        const [, count] = (await this.dataSource.query(
          `DELETE FROM "${schema}".${table} WHERE (${key}) IN (
             SELECT ${key} FROM "${schema}".${table} WHERE ${condition} < now() - make_interval(days => $1) LIMIT ${BATCH})`,
          [days],
        )) as [unknown, number];
        total += count;
        if (count < BATCH) break;
      }
      removed[`${schema}.${table}`] = total;
    }
    return removed;
  }

  beforeApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
