import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AppConfig, LOGGER } from '@protobank/platform';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';

const EVERY_MS = 60 * 60 * 1000;

/**
 * Forgets Idempotency-Keys older than IDEMPOTENCY_RETENTION_HOURS (at least 24), hourly and in batches.
 * Payments' keys ('payment ' and the payment's key, see migration LedgerPayments) are kept: a posted
 * payment replays however late the payments module asks again. The condition is the one of the
 * partial index the scan uses, word for word.
 */
@Injectable()
export class IdempotencyRetention implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(
      () => void this.prune().catch((err: unknown) => this.logger.warn({ err }, 'idempotency prune failed')),
      EVERY_MS,
    );
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Deletes expired keys; returns how many. */
  async prune(): Promise<number> {
    let total = 0;
    for (;;) {
      const [, count] = (await this.dataSource.query(
        `DELETE FROM transactions.idempotency_keys WHERE ctid IN (
           SELECT ctid FROM transactions.idempotency_keys
            WHERE created_at < now() - make_interval(hours => $1) AND key NOT LIKE 'payment %' LIMIT 5000)`,
        [this.config.idempotencyRetentionHours],
      )) as [unknown, number];
      total += count;
      if (count < 5000) return total;
    }
  }
}
