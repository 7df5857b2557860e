import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type Provider,
} from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { LOGGER } from '../logging/logging.tokens';
import { assertSchemaName } from './schema-name';

const EVERY_MS = 60 * 60 * 1000;
const BATCH = 5000;

/**
 * Marks that a module keeps Idempotency-Keys in `<schema>.idempotency_keys` (a `created_at` column):
 * retention prunes exactly the tables registered here. `prunable`: an SQL condition the keys that may
 * expire meet (the ledger keeps the payments' keys), written word for word as the predicate of the
 * table's partial index on created_at, so the scan uses it.
 */
export class IdempotencyKeysRegistration {
  constructor(
    readonly schema: string,
    readonly prunable?: string,
  ) {
    assertSchemaName(schema); // interpolated into the pruning SQL
  }
}

/** Put in a module's providers: `providers: [idempotencyKeysIn('payments'), ...]`. */
export function idempotencyKeysIn(schema: string, options: { prunable?: string } = {}): Provider {
  return {
    provide: `IDEMPOTENCY_KEYS_REGISTRATION:${schema}`,
    useValue: new IdempotencyKeysRegistration(schema, options.prunable),
  };
}

/**
 * Forgets Idempotency-Keys older than IDEMPOTENCY_RETENTION_HOURS (at least 24), hourly and in batches
 * (short locks), in every table this process's modules register (idempotencyKeysIn).
 */
@Injectable()
export class IdempotencyRetention implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly discovery: DiscoveryService,
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

  /** Deletes expired keys; returns how many, per table. */
  async prune(): Promise<Record<string, number>> {
    const removed: Record<string, number> = {};
    for (const { schema, prunable } of this.registrations()) {
      let total = 0;
      for (;;) {
        const [, count] = (await this.dataSource.query(
          `DELETE FROM "${schema}".idempotency_keys WHERE ctid IN (
             SELECT ctid FROM "${schema}".idempotency_keys
              WHERE created_at < now() - make_interval(hours => $1)${prunable ? ` AND ${prunable}` : ''}
              LIMIT ${BATCH})`,
          [this.config.idempotencyRetentionHours],
        )) as [unknown, number];
        total += count;
        if (count < BATCH) break;
      }
      removed[`${schema}.idempotency_keys`] = total;
    }
    return removed;
  }

  private registrations(): IdempotencyKeysRegistration[] {
    return this.discovery
      .getProviders()
      .map((w) => w.instance as unknown)
      .filter((i): i is IdempotencyKeysRegistration => i instanceof IdempotencyKeysRegistration);
  }
}
