import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AppError, LOGGER, OutboxService, staffActor, StaffGate, type Caller } from '@protobank/platform';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { CURRENT_GENERATION } from '../summaries/rollup-reads';
import { SummaryCache } from '../summaries/summary-cache';
import type { RebuildDto } from './rebuild.dto';
import { RebuildRun } from './rebuild-run';

/** A running rebuild whose heartbeat is older than this was lost with its process; another may start. */
export const REBUILD_STALE_SECONDS = 120;

const SELECT = `SELECT id, status, requested_by, started_at, finished_at, entries::int AS entries, error
  FROM analytics.rebuilds`;

interface RebuildRow extends Omit<RebuildDto, 'started_at' | 'finished_at'> {
  started_at: Date;
  finished_at: Date | null;
}

const view = (r: RebuildRow): RebuildDto => ({
  ...r,
  started_at: r.started_at.toISOString(),
  finished_at: r.finished_at?.toISOString() ?? null,
});

/**
 * Staff rebuilds of the analytics read model from the ledger: one at a time (a unique index on the
 * running row), in the background of the process that was asked (see RebuildRun for how it stays
 * consistent with events consumed meanwhile).
 */
@Injectable()
export class RebuildService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private running?: Promise<void>;
  private stopping = false;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly runner: RebuildRun,
    private readonly cache: SummaryCache,
    private readonly outbox: OutboxService,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly gate: StaffGate,
  ) {}

  /**
   * A schema installed again (a migration reverted and re-applied) starts at a newer generation than
   * any copy an earlier one left in Redis: raising the floor to it at start makes those copies invisible.
   * (After restoring Postgres from a backup, run a rebuild: it moves to a generation above any before.)
   */
  async onApplicationBootstrap(): Promise<void> {
    try {
      const [{ generation }] = (await this.dataSource.query(
        `SELECT ${CURRENT_GENERATION}::text AS generation`,
      )) as [{ generation: string }];
      await this.cache.raiseFloor(Number(generation));
    } catch (err) {
      this.logger.warn({ err }, 'analytics cache floor not checked at start');
    }
  }

  /** Holding the actor's gate: no change of their role or access lands while this runs (StaffGate). */
  async start(caller: Caller, reason: string | null = null): Promise<RebuildDto> {
    staffActor(caller);
    return this.gate.act(caller, () => this.started(caller, reason));
  }

  /**
   * The restore's rebuild (apps/restore): run by the operator at the command line, with no staff member
   * and no session whose role could change meanwhile, so nothing to gate.
   */
  startForRestore(caller: Caller): Promise<RebuildDto> {
    return this.started(caller, null);
  }

  private async started(caller: Caller, reason: string | null): Promise<RebuildDto> {
    await this.dataSource.query(
      `UPDATE analytics.rebuilds SET status = 'failed', finished_at = now(),
              error = 'abandoned: no progress for ${REBUILD_STALE_SECONDS} s (its process stopped)'
        WHERE status = 'running' AND heartbeat_at < now() - interval '${REBUILD_STALE_SECONDS} seconds'`,
    );
    const id = randomUUID();
    const actor = staffActor(caller);
    // Audited with the rebuild it starts (analytics_rebuild_started), in the same transaction.
    const row = await this.dataSource.transaction(async (m) => {
      const [inserted] = (await m.query(
        `INSERT INTO analytics.rebuilds (id, status, requested_by) VALUES ($1, 'running', $2)
         ON CONFLICT DO NOTHING RETURNING id`,
        [id, actor.user_id],
      )) as { id: string }[];
      if (inserted) {
        await this.outbox.add(m, 'analytics', 'staff_action.recorded', {
          action: 'analytics_rebuild_started',
          actor_id: actor.user_id,
          actor_role: actor.role,
          target_user_id: null,
          resource_type: 'analytics_rebuild',
          resource_id: id,
          before: null,
          after: { status: 'running' },
          reason,
        });
      }
      return inserted;
    });
    if (!row) {
      const [current] = (await this.dataSource.query(`${SELECT} WHERE status = 'running'`)) as RebuildRow[];
      throw AppError.conflict(
        'rebuild_running',
        `A rebuild is already running (${current?.id ?? 'just finishing'}); follow it with GET /admin/analytics/rebuilds/{id}`,
      );
    }
    const started = await this.get(id);
    const done: Promise<void> = this.runner
      .run(id, new Date(started.started_at), () => this.stopping)
      .finally(() => {
        if (this.running === done) this.running = undefined;
      });
    this.running = done;
    return started;
  }

  async get(id: string): Promise<RebuildDto> {
    const [row] = (await this.dataSource.query(`${SELECT} WHERE id = $1`, [id])) as RebuildRow[];
    if (!row) throw AppError.notFound('rebuild', 'id');
    return view(row);
  }

  /** A rebuild stops at its next page and is marked failed, rather than left running for others to wait on. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await this.running;
  }
}
