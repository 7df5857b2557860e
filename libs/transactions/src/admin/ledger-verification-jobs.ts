import { InjectQueue, Processor } from '@nestjs/bullmq';
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { AppError, LOGGER, MetricsService, type Caller } from '@protobank/platform';
import { keepJobScheduler, keepTrying, QueueWorker } from '@protobank/platform/queues';
import type { Job, Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { TransactionsConfig } from '../transactions.config';
import { LedgerVerifyService, type LedgerVerification, type LedgerVerifyMode } from './ledger-verify.service';

/** The transactions module's BullMQ queue of ledger verifications: the periodic ones and staff's. */
export const LEDGER_VERIFICATION_QUEUE = 'ledger-verifications';
/** Staff's, one at a time: while one waits or runs, another asked for is that one (BullMQ deduplication). */
const ONE_AT_A_TIME = 'ledger-verification';
/** The periodic verification's job scheduler: one schedule, however many transactions instances upsert it. */
const SCHEDULER_ID = 'ledger-verification-periodic';
/** A periodic run that could not complete (the database away, migrations pending) is tried again this soon. */
const RETRY_MS = 60_000;
/** How long a finished verification can still be read by its id. */
const KEPT_SECONDS = 7 * 24 * 3600;
/** Finished periodic runs kept in Redis (every minute for a week would be ten thousand). */
const PERIODIC_KEPT = 100;

export interface LedgerVerificationJobData {
  mode: LedgerVerifyMode;
  /** The staff member who asked for it; null for the periodic verification. */
  requested_by: string | null;
}

/** One of staff's verifications, as GET /admin/ledger/verifications/{id} shows it. */
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

/**
 * The ledger's verifications as BullMQ jobs, run by LedgerVerificationWorker, one at a time across every
 * instance (the queue's global concurrency is 1: runs neither overlap nor hold connections waiting for
 * each other's checkpoint lock; staff's wait behind a periodic one):
 *
 * - Periodic: a job scheduler adds an incremental run every LEDGER_VERIFY_INTERVAL_MINUTES (0: none, and
 *   a schedule left by an earlier configuration is removed; the setting is the deployment's, every
 *   transactions instance alike), and each boot adds one, so a fresh app reports ledger_verification_*
 *   without waiting an interval. One that could not complete is tried again a minute later, twice.
 * - Staff's in the background (POST /admin/ledger/verifications): a full run at a million entries outlasts
 *   the edge's read timeout, so it answers 202 at once and is followed by its id (running until it ends,
 *   also while it waits its turn); one at a time by deduplication (a second asked for while one waits or
 *   runs is 409, naming it). Only these are read by id: a periodic run reports through the metrics.
 *
 * Results are kept as the jobs' return values for KEPT_SECONDS (the periodic ones' last PERIODIC_KEPT).
 * A run whose process died is BullMQ's stalled job: taken up again by the next worker, then failed.
 */
@Injectable()
export class LedgerVerificationJobs implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly stops: (() => void)[] = [];

  constructor(
    @InjectQueue(LEDGER_VERIFICATION_QUEUE) private readonly queue: Queue<LedgerVerificationJobData>,
    private readonly config: TransactionsConfig,
    private readonly metrics: MetricsService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    // Without a listener BullMQ prints every failed connection attempt; readiness reports Redis.
    this.queue.on('error', () => undefined);
    const minutes = this.config.ledgerVerifyIntervalMinutes;
    // What LedgerVerificationStale compares the last run's age with (0: no periodic verification here).
    this.metrics.gauge(
      'ledger_verification_interval_seconds',
      'LEDGER_VERIFY_INTERVAL_MINUTES in seconds: how often this app verifies the ledger (0: never)',
      () => minutes * 60,
    );
    // Each not awaited, and tried until Redis takes it: Redis may be down at boot.
    this.stops.push(
      keepTrying('ledger verifications one at a time', () => this.queue.setGlobalConcurrency(1), this.logger),
    );
    if (minutes === 0) {
      this.stops.push(
        keepTrying(
          'periodic ledger verification unscheduled',
          () => this.queue.removeJobScheduler(SCHEDULER_ID),
          this.logger,
        ),
      );
      return;
    }
    const kept = { age: KEPT_SECONDS, count: PERIODIC_KEPT };
    const scheduling = keepJobScheduler(
      this.queue,
      SCHEDULER_ID,
      { every: minutes * 60_000 },
      {
        name: 'verify',
        data: { mode: 'incremental', requested_by: null },
        opts: {
          attempts: 3,
          backoff: { type: 'fixed', delay: RETRY_MS },
          removeOnComplete: kept,
          removeOnFail: kept,
        },
      },
      this.logger,
      { runNow: true },
    );
    this.stops.push(scheduling);
  }

  onApplicationShutdown(): void {
    for (const stop of this.stops) stop();
  }

  async start(caller: Caller, mode: LedgerVerifyMode): Promise<LedgerVerificationJob> {
    const id = randomUUID();
    const job = await this.queue.add(
      'verify',
      { mode, requested_by: caller.user_id },
      {
        jobId: id,
        deduplication: { id: ONE_AT_A_TIME },
        attempts: 1,
        removeOnComplete: { age: KEPT_SECONDS },
        removeOnFail: { age: KEPT_SECONDS },
      },
    );
    if (job.id !== id) {
      throw AppError.conflict(
        'verification_running',
        `A ledger verification is already running (${job.id}); follow it with GET /admin/ledger/verifications/{id}`,
      );
    }
    return this.get(id);
  }

  async get(id: string): Promise<LedgerVerificationJob> {
    // The state first, then the job: BullMQ stores the return value in the same step that moves a job to
    // completed, so a job read after a 'completed' state holds its result. Read the other way round, a run
    // finishing between the two reads answered 'completed' with no result and no finished_at (seen in the
    // batch attack suite, once in the full runs of 2026-12-02).
    const state = await this.queue.getJobState(id);
    const job = await this.queue.getJob(id);
    // A periodic run (its id is the scheduler's, not a UUID, but a boot's could be read) is not staff's.
    if (!job || job.data.requested_by === null) throw AppError.notFound('verification', 'id');
    const status = state === 'completed' ? 'completed' : state === 'failed' ? 'failed' : 'running';
    return {
      id,
      mode: job.data.mode,
      status,
      requested_by: job.data.requested_by,
      started_at: new Date(job.processedOn ?? job.timestamp).toISOString(),
      finished_at: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
      result: status === 'completed' ? (job.returnvalue as LedgerVerification) : null,
      error: status === 'failed' ? job.failedReason : null,
    };
  }
}

/** Runs the background verifications, one at a time; a shutdown cancels the one running (and its statement). */
@Processor(LEDGER_VERIFICATION_QUEUE, { concurrency: 1 })
export class LedgerVerificationWorker extends QueueWorker<LedgerVerificationJobData> {
  private readonly stop = new AbortController();

  constructor(
    private readonly verifier: LedgerVerifyService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    super();
  }

  async process(job: Job<LedgerVerificationJobData>): Promise<LedgerVerification> {
    try {
      return await this.verifier.verify(this.stop.signal, job.data.mode);
    } catch (err) {
      this.logger.warn(
        { err, verification: job.id, periodic: job.data.requested_by === null },
        'ledger verification in the background did not complete',
      );
      throw this.stop.signal.aborted ? new Error('interrupted: the app stopped') : err;
    }
  }

  override async beforeApplicationShutdown(): Promise<void> {
    this.stop.abort();
    await super.beforeApplicationShutdown();
  }
}
