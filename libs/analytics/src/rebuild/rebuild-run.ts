import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { TRANSACTIONS_API, type EntryPosition, type TransactionsApi } from '@protobank/contracts';
import { AppConfig, AppError, LOGGER } from '@protobank/platform';
import type { Logger } from 'pino';
import { DataSource, type EntityManager } from 'typeorm';
import {
  catchUpStaging,
  clearStaging,
  rollUpStaging,
  stageMovements,
  swapStaging,
} from '../events/movement-writes';
import { movementsOf } from '../events/movements';
import { SummaryCache } from '../summaries/summary-cache';

export const REBUILD_PAGE = 500;

/** A rebuild ended for a reason of its own (the process stopping, another rebuild taking over): told as is. */
export class RebuildStopped extends Error {}

/**
 * What a failed rebuild records for staff to read. Its own reasons, and an AppError (a contract call's
 * timeout, say: written for clients), are told as they are; anything else only by its SQLSTATE when it
 * has one, since a database or driver message can quote tables, values or hosts: the whole error is in
 * the app's log under the rebuild's id.
 */
export function failureText(err: unknown, id: string): string {
  if (err instanceof RebuildStopped) return err.message;
  if (err instanceof AppError) return `${err.code}: ${err.message}`;
  const code = (err as { code?: unknown } | null)?.code;
  // No SQLSTATE class starts with E, where Node's own codes (EPIPE, EBUSY) do (helper-135).
  const sqlState =
    typeof code === 'string' && /^[0-9A-DF-Z][0-9A-Z]{4}$/.test(code) ? ` (SQLSTATE ${code})` : '';
  return `unexpected error${sqlState}: the app's log has it under rebuild_id ${id}`;
}

/**
 * One rebuild of the read model from the ledger. The live tables (movements, daily_rollups) each have a
 * staging twin; events keep being consumed into the live ones throughout, and readers see the old
 * figures until the end.
 *
 * 1. Page through TRANSACTIONS_API.entries into the staging movements; compute the staging rollups from
 *    them; catch the staging twins up with the movements consumers recorded since the rebuild began.
 *    All of it without a lock, however large the ledger.
 * 2. In one short transaction, under `LOCK TABLE user_versions IN EXCLUSIVE MODE` (every consumer takes
 *    its user rows first, so none is half-way through and none starts): catch up once more (only what
 *    the last moments added), swap the twins' names, and move to the next generation. A consumer either
 *    committed before the lock (its movement is caught up) or runs after the commit (into the swapped-in
 *    tables, where a movement the ledger paging already wrote adds nothing). So every movement is
 *    counted exactly once, and a failure anywhere leaves the live tables as they were.
 *
 * Redis: the generation floor is raised before the commit, so summaries cached from the old rollups
 * (by a reader whose snapshot predates the commit, or left behind) are neither read nor written again;
 * after the commit the old hashes are deleted.
 */
@Injectable()
export class RebuildRun {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(TRANSACTIONS_API) private readonly ledger: TransactionsApi,
    private readonly cache: SummaryCache,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly config: AppConfig,
  ) {}

  async run(id: string, startedAt: Date, stopping: () => boolean): Promise<void> {
    try {
      const entries = await this.stage(id, stopping);
      await rollUpStaging(this.dataSource);
      await catchUpStaging(this.dataSource, startedAt);
      await this.swap(id, startedAt, entries);
    } catch (err) {
      this.logger.error({ err, rebuild_id: id }, 'analytics rebuild failed');
      // If even this fails, the heartbeat goes stale and the next request gives the rebuild up.
      await this.dataSource
        .query(
          `UPDATE analytics.rebuilds SET status = 'failed', finished_at = now(), error = $2
            WHERE id = $1 AND status = 'running'`,
          [id, failureText(err, id)],
        )
        .catch((again: unknown) =>
          this.logger.error({ err: again, rebuild_id: id }, 'rebuild not marked failed'),
        );
      return;
    }
    this.logger.info({ rebuild_id: id }, 'analytics rebuild completed');
    try {
      await clearStaging(this.dataSource); // the old figures, now in the twins
      await this.cache.deleteAll();
    } catch (err) {
      // Harmless: below the generation floor, those copies are ignored; their TTL removes them.
      this.logger.warn({ err, rebuild_id: id }, 'old analytics figures not cleared');
    }
  }

  private async stage(id: string, stopping: () => boolean): Promise<number> {
    await clearStaging(this.dataSource);
    let after: EntryPosition | null = null;
    let count = 0;
    for (;;) {
      if (stopping()) throw new RebuildStopped('interrupted: the process stopped');
      const page = await this.ledger.entries(after, REBUILD_PAGE);
      const zone = this.config.bankTimeZone;
      await stageMovements(
        this.dataSource,
        page.flatMap((e) => movementsOf(e, zone)),
      );
      count += page.length;
      await this.heartbeat(this.dataSource, id, count);
      if (page.length < REBUILD_PAGE) return count;
      const last = page[page.length - 1];
      after = { created_at: last.created_at, id: last.transaction_id };
    }
  }

  private async swap(id: string, startedAt: Date, entries: number): Promise<void> {
    let raised: { generation: number; previous: number } | undefined;
    try {
      await this.dataSource.transaction(async (m) => {
        await m.query(`LOCK TABLE analytics.user_versions IN EXCLUSIVE MODE`);
        await this.heartbeat(m, id, entries);
        await catchUpStaging(m, startedAt);
        await swapStaging(m);
        // An UPDATE ... RETURNING comes back from TypeORM as [rows, count].
        const [[{ previous, generation }]] = (await m.query(
          `UPDATE analytics.cache_generation c
              SET generation = greatest(c.generation + 1, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)
             FROM (SELECT generation FROM analytics.cache_generation) old
           RETURNING old.generation::text AS previous, c.generation::text AS generation`,
        )) as [[{ previous: string; generation: string }], number];
        raised = { generation: Number(generation), previous: Number(previous) };
        await this.cache.raiseFloor(raised.generation);
        await m.query(
          `UPDATE analytics.rebuilds SET status = 'completed', generation = $2, finished_at = now() WHERE id = $1`,
          [id, raised.generation],
        );
      });
    } catch (err) {
      if (raised && !(await this.completed(id))) {
        const { generation, previous } = raised;
        await this.cache
          .lowerFloor(generation, previous)
          .catch((again: unknown) =>
            this.logger.error(
              { err: again, generation },
              'analytics cache floor left above the last rebuild: cached summaries are bypassed until the next one',
            ),
          );
      }
      throw err;
    }
  }

  /** Whether the rebuild committed after all (the commit's answer can be lost): then the floor stays. */
  private async completed(id: string): Promise<boolean> {
    try {
      const rows = (await this.dataSource.query(
        `SELECT 1 FROM analytics.rebuilds WHERE id = $1 AND status = 'completed'`,
        [id],
      )) as unknown[];
      return rows.length > 0;
    } catch {
      return true; // unknown: a floor too high only bypasses the cache; one too low could serve stale copies
    }
  }

  /** Records progress; throws when the rebuild is no longer running (given up as abandoned). */
  private async heartbeat(db: Pick<EntityManager, 'query'>, id: string, entries: number): Promise<void> {
    const [, updated] = (await db.query(
      `UPDATE analytics.rebuilds SET heartbeat_at = now(), entries = $2 WHERE id = $1 AND status = 'running'`,
      [id, entries],
    )) as [unknown[], number];
    if (updated !== 1) throw new RebuildStopped('abandoned: another rebuild took over');
  }
}
