import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { TRANSACTIONS_API, type EntryPosition, type TransactionsApi } from '@protobank/contracts';
import { LOGGER } from '@protobank/platform';
import type { Logger } from 'pino';
import { DataSource, type EntityManager } from 'typeorm';
import { MOVEMENT_COLUMNS, stageMovements } from '../events/movement-writes';
import { movementsOf } from '../events/movements';
import { CURRENT_GENERATION } from '../summaries/rollup-reads';
import { SummaryCache } from '../summaries/summary-cache';

export const REBUILD_PAGE = 500;

/**
 * One rebuild of the read model from the ledger, in two steps.
 *
 * 1. Page through TRANSACTIONS_API.entries into movements_rebuild (staging), while events keep being
 *    consumed into movements and the rollups as usual: readers see the old figures throughout, and a
 *    failure leaves them as they were.
 * 2. In one transaction, under `LOCK TABLE user_versions IN EXCLUSIVE MODE` (every consumer takes its
 *    user rows first, so none is half-way through and none starts): add to staging the movements
 *    consumers recorded since the rebuild began (an entry that committed behind the paging's position
 *    is one of them), swap staging in, recompute every rollup from the movements, and complete with the
 *    next generation. A consumer either committed before the lock (its movement is in the swap, so in
 *    the recompute) or runs after the commit (its movement is new to the table, or already there from
 *    the paging and then adds nothing). So every movement is counted exactly once.
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
  ) {}

  async run(id: string, startedAt: Date, stopping: () => boolean): Promise<void> {
    try {
      const entries = await this.stage(id, stopping);
      await this.swap(id, startedAt, entries);
    } catch (err) {
      this.logger.error({ err, rebuild_id: id }, 'analytics rebuild failed');
      // If even this fails, the heartbeat goes stale and the next request gives the rebuild up.
      await this.dataSource
        .query(
          `UPDATE analytics.rebuilds SET status = 'failed', finished_at = now(), error = $2
            WHERE id = $1 AND status = 'running'`,
          [id, String((err as Error)?.message ?? err).slice(0, 500)],
        )
        .catch((again: unknown) =>
          this.logger.error({ err: again, rebuild_id: id }, 'rebuild not marked failed'),
        );
      return;
    }
    this.logger.info({ rebuild_id: id }, 'analytics rebuild completed');
    try {
      await this.cache.deleteAll();
    } catch (err) {
      // Harmless: below the generation floor, those copies are ignored; their TTL removes them.
      this.logger.warn({ err, rebuild_id: id }, 'old analytics cache entries not deleted');
    }
  }

  private async stage(id: string, stopping: () => boolean): Promise<number> {
    await this.dataSource.query(`TRUNCATE analytics.movements_rebuild`);
    let after: EntryPosition | null = null;
    let count = 0;
    for (;;) {
      if (stopping()) throw new Error('interrupted: the process stopped');
      const page = await this.ledger.entries(after, REBUILD_PAGE);
      await stageMovements(this.dataSource, page.flatMap(movementsOf));
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
        const [{ generation }] = (await m.query(`SELECT ${CURRENT_GENERATION}::int AS generation`)) as {
          generation: number;
        }[];
        // A minute's margin: timestamps are taken at different moments of different transactions, and
        // a movement recorded just before the rebuild began is as good as one recorded after.
        await m.query(
          `INSERT INTO analytics.movements_rebuild (${MOVEMENT_COLUMNS})
           SELECT ${MOVEMENT_COLUMNS} FROM analytics.movements WHERE recorded_at >= $1::timestamptz - interval '1 minute'
           ON CONFLICT DO NOTHING`,
          [startedAt.toISOString()],
        );
        // DELETE rather than TRUNCATE: readers keep seeing the old rows until the commit instead of waiting.
        await m.query(`DELETE FROM analytics.movements`);
        await m.query(
          `INSERT INTO analytics.movements (${MOVEMENT_COLUMNS}) SELECT ${MOVEMENT_COLUMNS} FROM analytics.movements_rebuild`,
        );
        await m.query(`TRUNCATE analytics.movements_rebuild`);
        await m.query(`DELETE FROM analytics.daily_rollups`);
        await m.query(
          `INSERT INTO analytics.daily_rollups (user_id, day, currency, direction, category, merchant, amount, count)
           SELECT user_id, day, currency, direction, category, coalesce(merchant, ''), sum(amount), count(*)
             FROM analytics.movements GROUP BY 1, 2, 3, 4, 5, 6`,
        );
        raised = { generation: generation + 1, previous: generation };
        await this.cache.raiseFloor(raised.generation);
        await m.query(
          `UPDATE analytics.rebuilds SET status = 'completed', generation = $2, finished_at = now() WHERE id = $1`,
          [id, raised.generation],
        );
      });
    } catch (err) {
      if (raised) {
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

  /** Records progress; throws when the rebuild is no longer running (given up as abandoned). */
  private async heartbeat(db: Pick<EntityManager, 'query'>, id: string, entries: number): Promise<void> {
    const [, updated] = (await db.query(
      `UPDATE analytics.rebuilds SET heartbeat_at = now(), entries = $2 WHERE id = $1 AND status = 'running'`,
      [id, entries],
    )) as [unknown[], number];
    if (updated !== 1) throw new Error('abandoned: another rebuild took over');
  }
}
