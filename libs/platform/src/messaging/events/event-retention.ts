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
import { OutboxRelay } from './outbox-relay';

const HOUR_MS = 60 * 60 * 1000;
const BATCH = 5000;

/**
 * Keeps outbox and inbox tables from growing forever: published outbox rows and inbox records older than
 * EVENT_RETENTION_DAYS are deleted, hourly, in small batches (short locks). Unpublished rows are never
 * touched. Each app prunes the schemas whose outbox it relays; inboxes are pruned in those same schemas.
 */
@Injectable()
export class EventRetention implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly dataSource: DataSource,
    private readonly relay: OutboxRelay,
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
    for (const schema of this.relay.ownedSchemas()) {
      for (const [table, condition] of [
        ['outbox', 'published_at IS NOT NULL AND published_at'],
        ['inbox', 'processed_at'],
      ] as const) {
        const key = table === 'outbox' ? 'id' : 'event_id, consumer';
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
    }
    return removed;
  }

  beforeApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
