import { InjectQueue, Processor } from '@nestjs/bullmq';
import { Inject, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { TRANSACTIONS_API, type CardHold, type TransactionsApi } from '@protobank/contracts';
import { jsonAmount, LOGGER } from '@protobank/platform';
import { keepJobScheduler, QueueWorker } from '@protobank/platform/queues';
import type { Job, Queue } from 'bullmq';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { CardNetworkService } from './card-network.service';
import { HOLD_EXPIRY_QUEUE, type HoldExpiryJob } from './hold-expiry-job';
import { holdIdOf } from './hold-id';
import { HoldReleases } from './hold-releases';
import { ReleaseNotices } from './release-notices';
import { CardsConfig } from '../cards.config';

/** The job scheduler's id: one schedule, however many cards instances upsert it. */
const SCHEDULER_ID = 'hold-expiry';
/** Holds asked of the ledger per round. */
const PAGE = 200;
/**
 * How long after a reversal found no hold the ledger may still place it: an authorisation call the cards
 * app gave up on (RPC_TIMEOUT_MS, answered 504) that the ledger read before its deadline and decided after,
 * having waited for its account's row. Minutes at most; a call that waits longer leaves its hold to expire.
 */
const LATE_HOLD_WINDOW_MS = 15 * 60_000;
/** Early reversals asked about per page, pages a run while LATE_PASS_MS lasts: a flood of them must not
 * hold up the rest of the sweep. */
const LATE_CHECKS_PAGE = 500;
const LATE_PASS_MS = 10_000;
/** An id whose hold is not there yet is asked again after its age, kept within these bounds (backoff). */
const LATE_RECHECK_MS = { min: 5_000, max: 5 * 60_000 };

/**
 * Releases the holds the network never cleared or reversed, once CARD_HOLD_EXPIRY_DAYS have passed: the
 * ledger lists the active holds past their expiry, releases each (reason expired) under its account's
 * lock, and the authorisation is marked expired. Run by a BullMQ job scheduler every
 * CARD_HOLD_EXPIRY_SWEEP_SECONDS. Safe to run twice at once: a release of a hold no longer active
 * (cleared meanwhile, or released by the other run) changes nothing and is not marked expired.
 *
 * The release and the mark are two steps in two databases' worth of transactions: a crash or a lost reply
 * between them left the authorisation pending for good, and the ledger lists only active holds. So each
 * run also asks the ledger about authorisations still pending past a hold's life (reconcile), which also
 * records a clearing whose cards-side step was lost and never retried by the network.
 *
 * The same queue carries the releases of declined authorisations' holds that the ledger could not take
 * when they were declined (HoldReleases), each tried again with backoff.
 */
@Processor(HOLD_EXPIRY_QUEUE, { concurrency: 1 })
export class HoldExpiry
  extends QueueWorker<HoldExpiryJob>
  implements OnApplicationBootstrap, OnApplicationShutdown
{
  private stopScheduling?: () => void;
  /** Where the reconcile pass goes on from (null: from the oldest). */
  private reconcileAfter: { created_at: Date; id: string } | null = null;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(TRANSACTIONS_API) private readonly ledger: TransactionsApi,
    private readonly network: CardNetworkService,
    private readonly releases: HoldReleases,
    private readonly notices: ReleaseNotices,
    @InjectQueue(HOLD_EXPIRY_QUEUE) private readonly queue: Queue<HoldExpiryJob>,
    private readonly config: CardsConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    super();
  }

  onApplicationBootstrap(): void {
    // Without a listener BullMQ prints every failed connection attempt; readiness reports Redis.
    this.queue.on('error', () => undefined);
    this.stopScheduling = keepJobScheduler(
      this.queue,
      SCHEDULER_ID,
      { every: this.config.cardHoldExpirySweepSeconds * 1000 },
      { name: 'expire', data: { reason: 'schedule' }, opts: { removeOnComplete: true, removeOnFail: 100 } },
      this.logger,
    );
  }

  onApplicationShutdown(): void {
    this.stopScheduling?.();
  }

  async process(job: Job<HoldExpiryJob>): Promise<number> {
    // A failure is thrown, so BullMQ tries it again (RELEASE_ATTEMPTS, backing off).
    if (job.data.reason === 'release') {
      await this.releases.releaseNow(job.data.hold_id);
      // An approval reversed early whose release waited here: all of it released now, and its owner told
      // (markedReversed). A decline's release changes no row.
      await this.notices.record(
        job.data.hold_id,
        `UPDATE cards.authorisations SET released_amount = amount, updated_at = now()
          WHERE id = $1 AND status = 'reversed' AND released_amount < amount
          RETURNING status, released_amount`,
        [],
      );
      return 0;
    }
    const expired = await this.run();
    if (expired > 0) this.logger.info({ expired }, 'card holds expired');
    return expired;
  }

  /** Releases every hold past its expiry now; how many expired. */
  async run(now = new Date()): Promise<number> {
    let expired = 0;
    for (;;) {
      const due = await this.ledger.expiredHolds(now.toISOString(), PAGE);
      for (const { hold_id } of due) {
        const result = await this.ledger.releaseHold({ hold_id, amount: null, reason: 'expired' });
        if (result.status !== 'expired') continue;
        expired++;
        // An expired hold gave back all of it (nothing was cleared): set so, not added, whatever partial
        // reversals record before or after it (helper-153: added, the part of one recorded after the
        // expiry was lost, as a partial reversal records what its hold has given back in all).
        // One reversed early whose queued release never got through (its tries used up) is given back
        // by its expiry: all released, and its owner told it was cancelled.
        await this.notices.record(
          hold_id,
          `UPDATE cards.authorisations
              SET status = CASE WHEN status = 'pending' THEN 'expired' ELSE status END,
                  released_amount = amount, updated_at = now()
            WHERE id = $1 AND (status = 'pending' OR (status = 'reversed' AND released_amount < amount))
            RETURNING status, released_amount`,
          [],
        );
      }
      if (due.length < PAGE) break;
    }
    // Reversals that came before their authorisation's decision matter while it can still be recorded:
    // seconds, kept as long as a hold.
    await this.dataSource.query(`DELETE FROM cards.early_reversals WHERE created_at < $1`, [
      new Date(now.getTime() - this.config.cardHoldExpiryDays * 86_400_000).toISOString(),
    ]);
    await this.releaseLateHolds(now);
    await this.checkReversalsInFlight(now);
    return expired + (await this.reconcile(now));
  }

  /**
   * Gives back the holds the ledger placed after their reversal found none. A reversal by the network's
   * id of an authorisation with no decision recorded writes the id down (CardNetworkService.reverse); an
   * approval recorded after it finds the id and gives its hold back. But an authorisation this app gave up
   * on (its ledger call timed out: 504) records nothing, and the ledger, let go after the reversal's call
   * found no hold (404), places the hold all the same: nothing here would run again for it unless the
   * network retried, and the customer's money stayed held until the hold expired.
   *
   * So each id written down is asked about (its derived hold released in full) when its next_check_at
   * comes (5 s after the reversal), then again with backoff (after its age, 5 s to 5 min) until it has
   * been asked LATE_HOLD_WINDOW_MS after the reversal; a hold found (given back now, or ended) ends it
   * sooner. An approval of it recorded meanwhile is given back and marked reversed as authorise does (done
   * there already, unless its app stopped in between); any other decision recorded ends it. Ids overdue
   * while no sweep ran (the app or Redis away) are asked when one runs again. Pages of LATE_CHECKS_PAGE,
   * the most overdue first, while LATE_PASS_MS lasts; a failure other than 404 (the ledger away) ends the
   * pass until the next run, and the rest of the sweep still runs.
   */
  private async releaseLateHolds(now: Date): Promise<void> {
    const until = Date.now() + LATE_PASS_MS;
    while (Date.now() < until) {
      const due = (await this.dataSource.query(
        `SELECT network_transaction_id AS id, created_at FROM cards.early_reversals
          WHERE next_check_at IS NOT NULL AND next_check_at <= $1
          ORDER BY next_check_at LIMIT $2`,
        [now.toISOString(), LATE_CHECKS_PAGE],
      )) as { id: string; created_at: Date }[];
      if (due.length === 0) return;
      // Decisions recorded under each hold id (a forced post under the same network id is not one).
      const recorded = new Map(
        (
          (await this.dataSource.query(
            `SELECT id, status FROM cards.authorisations WHERE id = ANY($1::uuid[])`,
            [due.map(({ id }) => holdIdOf(id))],
          )) as { id: string; status: string }[]
        ).map((a) => [a.id, a.status]),
      );
      for (const { id, created_at } of due) {
        const holdId = holdIdOf(id);
        const status = recorded.get(holdId);
        let settled = status !== undefined;
        try {
          if (status === 'pending') await this.network.giveBackReversedEarly(holdId);
          else if (!settled) settled = await this.releaseLateHold(holdId);
        } catch (err) {
          this.logger.warn({ err }, 'late card holds not asked about: trying again at the next sweep');
          return;
        }
        const age = now.getTime() - created_at.getTime();
        const next =
          settled || age >= LATE_HOLD_WINDOW_MS
            ? null
            : new Date(now.getTime() + Math.min(Math.max(age, LATE_RECHECK_MS.min), LATE_RECHECK_MS.max));
        await this.dataSource.query(
          `UPDATE cards.early_reversals SET next_check_at = $2 WHERE network_transaction_id = $1`,
          [id, next?.toISOString() ?? null],
        );
      }
      if (due.length < LATE_CHECKS_PAGE) return;
    }
  }

  /** Releases what the hold of an early-reversed id holds; whether there was a hold (404: not placed yet). */
  private async releaseLateHold(holdId: string): Promise<boolean> {
    const result = await this.releases.releaseNow(holdId);
    if (!result) return false;
    if (result.released > 0n) {
      this.logger.warn(
        { hold_id: holdId, released: jsonAmount(result.released) },
        'card hold placed after the network reversed its authorisation: given back',
      );
    }
    return true;
  }

  /**
   * Authorisations still pending a minute past CARD_HOLD_EXPIRY_DAYS, brought in line with their hold: one
   * the ledger released in full (expired, or reversed) is marked so, with all of it released; one it
   * cleared (a clearing posted, whose record here was lost) is recorded as its clearing would have been,
   * card.cleared included. A hold still active (its expiry was set longer) is left to its own path.
   *
   * PAGE a run, in (created_at, id) order from where the last run stopped, starting over once it reaches
   * the end: those left pending (still active) no longer take every run's page, which stopped the pass
   * for good once there were PAGE of them.
   */
  private async reconcile(now: Date): Promise<number> {
    const before = new Date(now.getTime() - (this.config.cardHoldExpiryDays * 86_400 + 60) * 1000);
    const after = this.reconcileAfter;
    const stale = (await this.dataSource.query(
      `SELECT id, created_at FROM cards.authorisations
        WHERE status = 'pending' AND created_at < $1 AND ($2::timestamptz IS NULL OR (created_at, id) > ($2, $3))
        ORDER BY created_at, id LIMIT $4`,
      [before.toISOString(), after?.created_at ?? null, after?.id ?? null, PAGE],
    )) as { id: string; created_at: Date }[];
    this.reconcileAfter = stale.length < PAGE ? null : stale[stale.length - 1];
    let settled = 0;
    for (const { id } of stale) if (await this.bringInLine(id, await this.ledger.getHold(id))) settled++;
    if (settled > 0)
      this.logger.warn({ settled }, 'card authorisations brought in line with their holds in the ledger');
    return settled;
  }

  /**
   * A pending authorisation brought in line with its hold: one the ledger released in full (expired, or
   * reversed) is marked so, with all of it released; one it cleared (a clearing posted, whose record here
   * was lost) is recorded as its clearing would have been. Whether it was; a hold still active is left.
   */
  private async bringInLine(id: string, hold: CardHold | null): Promise<boolean> {
    if (hold?.transaction_id && hold.cleared_amount !== null) {
      return this.network.recordLostClearing(id, {
        transaction_id: hold.transaction_id,
        amount: jsonAmount(hold.cleared_amount),
        // Forced when the hold had ended (expired or reversed) before its clearing came.
        forced: hold.status !== 'cleared',
      });
    }
    if (hold?.status !== 'expired' && hold?.status !== 'reversed') return false;
    await this.notices.record(
      id,
      `UPDATE cards.authorisations SET status = $2, released_amount = $3, updated_at = now()
        WHERE id = $1 AND status = 'pending' RETURNING status, released_amount`,
      [hold.status, jsonAmount(hold.amount)],
    );
    return true;
  }

  /**
   * Reversals of a pending authorisation whose ledger call timed out, or whose app stopped during it, and
   * that the network did not send again (cards.reversals_in_flight, written before the call and struck
   * off with the answer's record): 30 s on, the authorisation is brought in line with its hold, then the
   * entry goes. PAGE a run; the ledger away ends the pass until the next run.
   */
  private async checkReversalsInFlight(now: Date): Promise<void> {
    const due = (await this.dataSource.query(
      `SELECT authorisation_id AS id FROM cards.reversals_in_flight WHERE next_check_at <= $1
        ORDER BY next_check_at LIMIT $2`,
      [now.toISOString(), PAGE],
    )) as { id: string }[];
    for (const { id } of due) {
      try {
        const hold = await this.ledger.getHold(id);
        if ((await this.bringInLine(id, hold)) || (await this.partReleasedInLine(id, hold, now))) {
          this.logger.warn(
            { authorisation_id: id },
            'card reversal left unanswered: authorisation brought in line',
          );
        }
      } catch (err) {
        this.logger.warn(
          { err },
          'card reversals left unanswered not looked at: trying again at the next sweep',
        );
        return;
      }
      // Unless a reversal of it began again meanwhile (its entry no longer due): that one strikes it off.
      await this.dataSource.query(
        `DELETE FROM cards.reversals_in_flight WHERE authorisation_id = $1 AND next_check_at <= $2`,
        [id, now.toISOString()],
      );
    }
  }

  /**
   * A partial reversal left unanswered, its hold still active: what the hold has given back is recorded as
   * released (before 2026-12-07 the part stayed off released_amount). Only while its entry is still due:
   * a reversal begun again pushes it on before its ledger call and adds its own part when it records, so
   * a hold read after that call never lands here. Whether it changed anything.
   */
  private async partReleasedInLine(id: string, hold: CardHold | null, now: Date): Promise<boolean> {
    if (hold?.status !== 'active') return false;
    const released = (hold.amount - hold.remaining).toString();
    return this.notices.record(
      id,
      `UPDATE cards.authorisations a SET released_amount = $2, updated_at = now()
        WHERE a.id = $1 AND a.status = 'pending' AND a.released_amount < $2
          AND EXISTS (SELECT 1 FROM cards.reversals_in_flight f
                       WHERE f.authorisation_id = $1 AND f.next_check_at <= $3)
        RETURNING status, released_amount`,
      [released, now.toISOString()],
    );
  }
}
