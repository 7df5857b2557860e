import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { LOGGER } from '@protobank/platform';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { SummaryCache } from './summary-cache';

/**
 * Raises Redis's generation floor to the database's cache generation when the app starts. A rebuild
 * raises it itself; a migration that rewrites the rollups (1763700000025, analytics days as bank days)
 * can only move the database's generation, and this makes every copy of the days from before it
 * invisible. Raising is idempotent and only ever goes up. A failure is logged: the copies then last
 * until their TTL or the next write of their day.
 */
@Injectable()
export class CacheFloorAtBoot implements OnApplicationBootstrap {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly cache: SummaryCache,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    try {
      const [{ generation }] = (await this.dataSource.query(
        `SELECT generation::text AS generation FROM analytics.cache_generation`,
      )) as [{ generation: string }];
      await this.cache.raiseFloor(Number(generation));
    } catch (err) {
      this.logger.warn({ err }, 'analytics cache floor not raised at start');
    }
  }
}
