import { InjectQueue, Processor } from '@nestjs/bullmq';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { AppError, LOGGER, type Caller } from '@protobank/platform';
import { QueueWorker } from '@protobank/platform/queues';
import type { Job, Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { LedgerVerifyService, type LedgerVerification, type LedgerVerifyMode } from './ledger-verify.service';

/** The transactions module's BullMQ queue of staff's background verifications. */
export const LEDGER_VERIFICATION_QUEUE = 'ledger-verifications';
/** One at a time: while one is waiting or running, another asked for is that one (BullMQ deduplication). */
const ONE_AT_A_TIME = 'ledger-verification';
/** How long a finished verification can still be read by its id. */
const KEPT_SECONDS = 7 * 24 * 3600;

export interface LedgerVerificationJobData {
  mode: LedgerVerifyMode;
  requested_by: string;
}

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
 * Staff's verifications in the background (POST /admin/ledger/verifications): a full run at a million
 * entries outlasts the edge's read timeout, so it answers 202 at once and is followed by its id. A BullMQ
 * job: one at a time by deduplication (a second asked for while one waits or runs is 409, naming it), run
 * by LedgerVerificationWorker with concurrency 1, its result kept as the job's return value for
 * KEPT_SECONDS. A run whose process died is BullMQ's stalled job: taken up again by the next worker, then
 * failed.
 */
@Injectable()
export class LedgerVerificationJobs implements OnApplicationBootstrap {
  constructor(
    @InjectQueue(LEDGER_VERIFICATION_QUEUE) private readonly queue: Queue<LedgerVerificationJobData>,
  ) {}

  onApplicationBootstrap(): void {
    // Without a listener BullMQ prints every failed connection attempt; readiness reports Redis.
    this.queue.on('error', () => undefined);
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
    if (!job) throw AppError.notFound('verification', 'id');
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
        { err, verification: job.id },
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
