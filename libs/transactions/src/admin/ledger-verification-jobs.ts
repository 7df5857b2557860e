import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AppError, LOGGER, type Caller } from '@protobank/platform';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { LedgerVerifyService, type LedgerVerification, type LedgerVerifyMode } from './ledger-verify.service';

/** A running verification beats this often while its process lives. */
const HEARTBEAT_MS = 10_000;
/** A running verification whose heartbeat is older than this was lost with its process. */
export const VERIFICATION_STALE_SECONDS = 60;

export interface LedgerVerificationJob {
  id: string;
  mode: LedgerVerifyMode;
  status: 'running' | 'completed' | 'failed';
  requested_by: string;
  started_at: string;
  finished_at: string | null;
  result: LedgerVerification | null;
  error: string | null;
}

interface Row extends Omit<LedgerVerificationJob, 'started_at' | 'finished_at' | 'status'> {
  status: string;
  started_at: Date;
  finished_at: Date | null;
  stale: boolean;
}

const SELECT = `SELECT id, mode, status, requested_by, started_at, finished_at, result, error,
       status = 'running' AND heartbeat_at < now() - interval '${VERIFICATION_STALE_SECONDS} seconds' AS stale
  FROM transactions.ledger_verifications`;

/**
 * Staff's verifications in the background (POST /admin/ledger/verifications): a full run at a million
 * entries outlasts the edge's read timeout, so it answers 202 at once and is followed by its id. One at a
 * time (a unique index on the running row), in the process that was asked; one whose process stopped
 * is reported failed once its heartbeat is stale, and no longer holds off another.
 */
@Injectable()
export class LedgerVerificationJobs implements BeforeApplicationShutdown {
  private readonly stop = new AbortController();
  private readonly running = new Set<Promise<void>>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly verifier: LedgerVerifyService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async start(caller: Caller, mode: LedgerVerifyMode): Promise<LedgerVerificationJob> {
    await this.dataSource.query(
      `UPDATE transactions.ledger_verifications SET status = 'failed', finished_at = now(),
              error = 'abandoned: no heartbeat for ${VERIFICATION_STALE_SECONDS} s (its process stopped)'
        WHERE status = 'running' AND heartbeat_at < now() - interval '${VERIFICATION_STALE_SECONDS} seconds'`,
    );
    const id = randomUUID();
    const [row] = (await this.dataSource.query(
      `INSERT INTO transactions.ledger_verifications (id, mode, status, requested_by)
       VALUES ($1, $2, 'running', $3) ON CONFLICT DO NOTHING RETURNING id`,
      [id, mode, caller.user_id],
    )) as { id: string }[];
    if (!row) {
      const [current] = (await this.dataSource.query(`${SELECT} WHERE status = 'running'`)) as Row[];
      throw AppError.conflict(
        'verification_running',
        `A ledger verification is already running (${current?.id ?? 'just finishing'}); follow it with GET /admin/ledger/verifications/{id}`,
      );
    }
    const done = this.run(id, mode).finally(() => this.running.delete(done));
    this.running.add(done);
    return this.get(id);
  }

  async get(id: string): Promise<LedgerVerificationJob> {
    const [row] = (await this.dataSource.query(`${SELECT} WHERE id = $1`, [id])) as Row[];
    if (!row) throw AppError.notFound('verification');
    const stale = row.stale;
    return {
      id: row.id,
      mode: row.mode,
      status: stale ? 'failed' : (row.status as LedgerVerificationJob['status']),
      requested_by: row.requested_by,
      started_at: row.started_at.toISOString(),
      finished_at: row.finished_at?.toISOString() ?? null,
      result: row.result,
      error: stale
        ? `abandoned: no heartbeat for ${VERIFICATION_STALE_SECONDS} s (its process stopped)`
        : row.error,
    };
  }

  /** A run in progress is cancelled (its statement too) and marked failed, not left running. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stop.abort();
    await Promise.allSettled([...this.running]);
  }

  private async run(id: string, mode: LedgerVerifyMode): Promise<void> {
    const heartbeat = setInterval(() => {
      void this.dataSource
        .query(`UPDATE transactions.ledger_verifications SET heartbeat_at = now() WHERE id = $1`, [id])
        .catch(() => undefined);
    }, HEARTBEAT_MS);
    heartbeat.unref();
    try {
      const result = await this.verifier.verify(this.stop.signal, mode);
      await this.dataSource.query(
        `UPDATE transactions.ledger_verifications SET status = 'completed', finished_at = now(), result = $2
          WHERE id = $1`,
        [id, JSON.stringify(result)],
      );
    } catch (err) {
      const error = this.stop.signal.aborted
        ? 'interrupted: the app stopped'
        : `failed: ${err instanceof Error ? err.message : String(err)}`;
      this.logger.warn({ err, verification: id }, 'ledger verification in the background did not complete');
      await this.dataSource
        .query(
          `UPDATE transactions.ledger_verifications SET status = 'failed', finished_at = now(), error = $2
            WHERE id = $1`,
          [id, error],
        )
        .catch((e: unknown) => this.logger.warn({ err: e }, 'could not record the verification as failed'));
    } finally {
      clearInterval(heartbeat);
    }
  }
}
