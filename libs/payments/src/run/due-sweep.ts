import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  TRANSACTIONS_API,
  type PaymentFailureReason,
  type PaymentPosting,
  type PaymentPostingResult,
  type StaffActor,
  type TransactionsApi,
} from '@protobank/contracts';
import {
  AppConfig,
  AppError,
  type Caller,
  jsonAmount,
  LOGGER,
  MetricsService,
  type MoneyCounter,
  OutboxRelay,
  OutboxService,
  type OutboxEntry,
  type SessionLockResult,
  StaffGate,
  withSessionLock,
  ADVISORY_LOCKS,
} from '@protobank/platform';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import { DataSource, type EntityManager } from 'typeorm';
import {
  occurrence,
  paymentDay,
  startOfDay,
  todayIn,
  withinOrder,
  type Frequency,
} from '../schedule/calendar';
import { EXTERNAL_PAYMENT_CURRENCY } from '../orders/order-checks';
import { SCHEME_FALLBACK, schemeCarried } from '../payees/scheme-text';
import { PAYMENTS_CLOCK, type Clock } from './clock';
import { decide, statusAfterFailure, type Decision } from './outcomes';
import { completeIfDone, lockOrders, skipOpenPayments } from './order-state';
import { ledgerKey, PAYMENT_COLUMNS, type ClaimedPayment } from './payment-rows';
import { PaymentsConfig } from '../payments.config';

/** What one sweep did. */
export interface SweepCounts {
  /** Standing-order payments that came due and were scheduled. */
  scheduled: number;
  paid: number;
  retrying: number;
  failed: number;
  /**
   * Payments not made because their order was cancelled (or payee deleted) while they were being tried:
   * one refused meanwhile, or one whose call failed in an outage (voided at the ledger; one the ledger had
   * posted after all is counted as paid).
   */
  skipped: number;
  /** Payments left for the next sweep after an outage (the ledger or the database did not answer). */
  errors: number;
}

/**
 * Session advisory lock of the sweep: one sweep at a time across every payments instance (on a direct
 * connection, see withSessionLock: behind PgBouncer a pooled one would leak it).
 */
const SWEEP_LOCK = ADVISORY_LOCKS.paymentSweep;
/** How long a sweep asked for while another runs waits before trying for the lock again. */
const LOCK_RETRY_MS = 200;
/** How long a staff member's run-due waits for sweeps already running before 503 sweep_busy. */
export const STAFF_SWEEP_WAITS_MS = 30_000;
/** Standing orders scheduled per transaction, and payments claimed per round. */
const BATCH = 200;
/** Payments posted at once within a round (each is one ledger call). */
const CONCURRENCY = 16;

interface DueOrder {
  id: string;
  owner_id: string;
  from_account_id: string;
  payee_id: string;
  amount: string;
  currency: string;
  reference: string;
  frequency: Frequency;
  start_date: string;
  end_date: string | null;
  count: number | null;
  next_n: number;
  next_payment_date: string;
}

/**
 * The due sweep: schedules the standing-order payments that have come due, then pays every payment whose
 * time has come, oldest first, each through the ledger under its key from (order, due date).
 *
 * Exactly once: a payment is marked `processing` before it is posted, and recorded after. A crash in
 * between leaves it `processing`; the next sweep posts it again under the same key and the ledger
 * answers with the first entry, so it is recorded once, as paid once. Only one sweep runs at a time
 * (a Postgres advisory lock, held on its own direct connection: a crashed sweeper's lock goes with it).
 */
@Injectable()
export class DueSweep implements BeforeApplicationShutdown {
  /** Set on shutdown: a running sweep ends after its current round, and the next one goes on. */
  private stopping = false;
  private readonly outcomes: Counter<'source' | 'outcome'>;
  private readonly amounts: MoneyCounter<'outcome' | 'currency'>;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    private readonly paymentsConfig: PaymentsConfig,
    @Inject(TRANSACTIONS_API) private readonly ledger: TransactionsApi,
    @Inject(PAYMENTS_CLOCK) private readonly clock: Clock,
    private readonly outbox: OutboxService,
    private readonly relay: OutboxRelay,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly gate: StaffGate,
    metrics: MetricsService,
  ) {
    this.outcomes = metrics.counter(
      'payments_attempts_total',
      'Payment attempts by source and outcome (paid, retrying, failed)',
      ['source', 'outcome'],
    );
    this.amounts = metrics.moneyCounter(
      'payments_amount_minor_total',
      'Amounts of payment attempts, in minor units, by outcome (paid, retrying, failed) and currency',
      ['outcome', 'currency'],
    );
  }

  /** Counts one recorded attempt (after its commit): how many, and how much. */
  private counted(p: ClaimedPayment, outcome: 'paid' | 'retrying' | 'failed'): void {
    this.outcomes.inc({ source: p.source, outcome });
    this.amounts.add({ outcome, currency: p.currency }, p.amount);
  }

  beforeApplicationShutdown(): void {
    this.stopping = true;
  }

  /**
   * Runs one sweep, after any sweep already running (on any instance) has finished. A caller waits
   * holding no connection, and tries every LOCK_RETRY_MS on one of its own (not the pool's): callers
   * blocked in pg_advisory_lock each held a pooled one, and a few staff run-due calls at once emptied
   * the pool the running sweep needed, failing every request of the process until they timed out.
   */
  run(): Promise<SweepCounts> {
    return this.inTurn(() => this.locked(() => this.sweep()));
  }

  /** `work` under the sweep's lock, if it is free now (on a direct connection: see withSessionLock). */
  private locked<T>(work: () => Promise<T>): Promise<SessionLockResult<T>> {
    return withSessionLock(this.config.databaseListenUrl, SWEEP_LOCK, work);
  }

  /**
   * Tries `once` every LOCK_RETRY_MS until it got the lock, holding nothing in between; when `givesUp`
   * says so first, throws what it gives.
   */
  private async inTurn<T>(
    once: () => Promise<SessionLockResult<T>>,
    givesUp?: () => Error | null,
  ): Promise<T> {
    for (;;) {
      const held = await once();
      if (held.locked) return held.value;
      const gaveUp = givesUp?.();
      if (gaveUp) throw gaveUp;
      await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS));
    }
  }

  /**
   * A sweep a staff member asked for (POST /admin/payments/run-due), reported to the audit trail as
   * staff_action.recorded with what it did; `after` is null when it stopped part way (an error). It pays
   * only what is due, as the scheduler would within the minute, but it is a staff action on payments.
   *
   * Each try for the sweep's lock holds the actor's StaffGate, the sweep and its audit entry with it: a
   * disable or demotion of the actor waits for a sweep of theirs under way, and a try after it answers
   * 401. Waiting for another sweep holds no gate (helper-104: a run-due that waited on the lock held
   * nothing, and ran and was audited seconds after its actor's disable had answered), and ends after
   * STAFF_SWEEP_WAITS_MS with 503 sweep_busy, nothing done: no request waits without end behind sweeps.
   */
  async runFor(caller: Caller, staff: StaffActor, reason: string | null = null): Promise<SweepCounts> {
    // The module's clock (tests move it past the limit).
    const deadline = this.clock.now().getTime() + STAFF_SWEEP_WAITS_MS;
    return this.inTurn(
      () => this.gate.act(caller, () => this.locked(() => this.sweepAudited(staff, reason))),
      () =>
        this.clock.now().getTime() > deadline
          ? new AppError(
              503,
              'sweep_busy',
              'Other sweeps have been running all this time; nothing was done, try again',
            ).withHeaders({ 'Retry-After': '5' })
          : null,
    );
  }

  private async sweepAudited(staff: StaffActor, reason: string | null): Promise<SweepCounts> {
    let counts: SweepCounts | null = null;
    let failed: { err: unknown } | null = null;
    try {
      counts = await this.sweep();
    } catch (err) {
      failed = { err };
    }
    try {
      await this.dataSource.transaction((m) =>
        this.outbox.add(m, 'payments', 'staff_action.recorded', {
          action: 'due_sweep_run',
          actor_id: staff.user_id,
          actor_role: staff.role,
          target_user_id: null,
          resource_type: 'payment_sweep',
          resource_id: randomUUID(),
          before: null,
          after: counts && { ...counts },
          reason,
        }),
      );
    } catch (err) {
      // The sweep's own failure is what the caller must hear; the audit's is logged beside it.
      if (!failed) throw err;
      this.logger.error({ err, actor_id: staff.user_id }, 'due_sweep_run not audited after a failed sweep');
    }
    if (failed) throw failed.err;
    return counts!;
  }

  private async sweep(): Promise<SweepCounts> {
    const now = this.clock.now();
    const today = todayIn(this.config.bankTimeZone, now);
    const counts: SweepCounts = { scheduled: 0, paid: 0, retrying: 0, failed: 0, skipped: 0, errors: 0 };
    for (;;) {
      const scheduled = await this.scheduleDue(today);
      counts.scheduled += scheduled;
      if (scheduled < BATCH) break;
    }
    for (;;) {
      const claimed = await this.claim(now, today);
      if (claimed.length === 0) break;
      await this.round(claimed, now, counts);
      // An outage, or the app stopping: what is left (processing or due) is the next sweep's.
      if (counts.errors > 0 || this.stopping) break;
    }
    if (counts.paid + counts.failed > 0) this.relay.kickSoon();
    return counts;
  }

  /**
   * Schedules the payments of standing orders due by `today`: every due date not yet scheduled, so an
   * order missed during downtime gets each of its dates, oldest first. Advances next_payment_date past
   * today, or to NULL when the order has no date left. One transaction per batch of orders.
   */
  private async scheduleDue(today: string): Promise<number> {
    return this.dataSource.transaction(async (m) => {
      const orders = (await m.query(
        `SELECT id, owner_id, from_account_id, payee_id, amount, currency, reference, frequency,
                start_date::text AS start_date, end_date::text AS end_date, count, next_n,
                next_payment_date::text AS next_payment_date
           FROM payments.standing_orders
          WHERE status = 'active' AND next_payment_date <= $1
          ORDER BY next_payment_date, id LIMIT ${BATCH} FOR UPDATE SKIP LOCKED`,
        [today],
      )) as DueOrder[];
      if (orders.length === 0) return 0;
      const rows: unknown[][] = [];
      const advanced: [string, number, string | null][] = [];
      for (const o of orders) {
        const end = { endDate: o.end_date, count: o.count };
        let n = o.next_n;
        let due: string | null = o.next_payment_date;
        while (due !== null && due <= today) {
          const payOn = paymentDay(due, this.config);
          rows.push([
            randomUUID(),
            o.id,
            n,
            o.owner_id,
            o.from_account_id,
            o.payee_id,
            o.amount,
            o.currency,
            o.reference,
            due,
            payOn,
            startOfDay(payOn, this.config.bankTimeZone),
          ]);
          n++;
          const next = occurrence(o.start_date, o.frequency, n);
          due = withinOrder(n, next, end) ? next : null;
        }
        advanced.push([o.id, n, due]);
      }
      const column = (i: number) => rows.map((r) => r[i]);
      await m.query(
        `INSERT INTO payments.payments (id, source, order_id, n, owner_id, from_account_id, payee_id, amount,
                                        currency, reference, due_date, pay_on, next_attempt_at)
         SELECT id, 'standing_order', order_id, n, owner_id, from_account_id, payee_id, amount, currency,
                reference, due_date, pay_on, next_attempt_at
           FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::uuid[], $5::uuid[], $6::uuid[], $7::bigint[],
                       $8::text[], $9::text[], $10::date[], $11::date[], $12::timestamptz[])
                AS t(id, order_id, n, owner_id, from_account_id, payee_id, amount, currency, reference,
                     due_date, pay_on, next_attempt_at)
         ON CONFLICT (order_id, due_date) DO NOTHING`,
        Array.from({ length: 12 }, (_, i) => column(i)),
      );
      await m.query(
        `UPDATE payments.standing_orders o SET next_n = t.n, next_payment_date = t.due, updated_at = now()
           FROM unnest($1::uuid[], $2::int[], $3::date[]) AS t(id, n, due) WHERE o.id = t.id`,
        [advanced.map((a) => a[0]), advanced.map((a) => a[1]), advanced.map((a) => a[2])],
      );
      return orders.length;
    });
  }

  /**
   * Marks the next round of payments `processing`: due ones (their time has come), oldest paying day
   * first, and only the oldest open payment of each order, so an order's dates are paid in order. Ones
   * left `processing` by a crash are taken again. `late`: first tried after its paying day had passed,
   * decided by the first claim (of a `pending` payment) only: one taken again after a crash was tried
   * then, its attempt not recorded (attempts still 0), and may well have been posted on time. `stopped`:
   * one taken again whose standing order has been cancelled since (round voids it).
   */
  private async claim(now: Date, today: string): Promise<ClaimedPayment[]> {
    const [rows] = (await this.dataSource.query(
      `WITH due AS (
         SELECT p.id FROM payments.payments p
          WHERE p.status IN ('pending', 'processing', 'retrying') AND p.next_attempt_at <= $1
            AND NOT EXISTS (SELECT 1 FROM payments.payments e
                             WHERE e.order_id = p.order_id AND e.due_date < p.due_date
                               AND e.status IN ('pending', 'processing', 'retrying'))
          ORDER BY p.pay_on, p.due_date, p.id LIMIT ${BATCH} FOR UPDATE SKIP LOCKED)
       UPDATE payments.payments p
          SET status = 'processing', late = p.late OR (p.status = 'pending' AND p.pay_on < $2), claim_id = $3,
              updated_at = now()
         FROM due, payments.payees y
        WHERE p.id = due.id AND y.id = p.payee_id
       RETURNING ${PAYMENT_COLUMNS}, y.name AS payee_name, y.type AS payee_type, y.account_id AS payee_account_id,
                 y.sort_code AS payee_sort_code, y.account_number AS payee_account_number,
                 (p.source = 'standing_order' AND EXISTS (SELECT 1 FROM payments.standing_orders o
                                                           WHERE o.id = p.order_id AND o.status = 'cancelled')) AS stopped,
                 p.claim_id`,
      [now, today, randomUUID()],
    )) as [ClaimedPayment[], number];
    return rows;
  }

  /**
   * One round: posts every claimed payment through the ledger (CONCURRENCY at a time), then records the
   * paid ones together, in one transaction, and each other outcome in its own. A payment whose posting or
   * recording did not happen stays `processing` and is the next sweep's (its posting replays).
   *
   * A stopped one (its call failed, then its standing order was cancelled: the customer was told no
   * further payment goes) is not posted but voided at the ledger: recorded paid if its failed call had
   * posted after all, else skipped, and its key spent so that a call still on its way moves nothing.
   */
  private async round(claimed: ClaimedPayment[], now: Date, counts: SweepCounts): Promise<void> {
    const paid: Paid[] = [];
    const voided: ClaimedPayment[] = [];
    const others: { p: ClaimedPayment; d: Exclude<Decision, { kind: 'paid' }> }[] = [];
    await eachLimited(claimed, CONCURRENCY, async (p) => {
      try {
        if (p.stopped) {
          const v = await this.ledger.voidPayment({ key: ledgerKey(p), owner_id: p.owner_id });
          if (v.outcome === 'posted') paid.push({ p, transactionId: v.transaction_id });
          else voided.push(p);
          return;
        }
        // An external payee is paid in GBP only (order-checks); an order set up before that rule fails
        // here, through the same steps as a refusal of the ledger's (its key spent, then recorded).
        const result: PaymentPostingResult =
          p.payee_type === 'external' && p.currency !== EXTERNAL_PAYMENT_CURRENCY
            ? { outcome: 'refused', reason: 'currency_not_supported' }
            : await this.ledger.pay(this.posting(p));
        const decided = result.outcome === 'voided' ? (p.failure_reason ?? (await this.reasonNow(p))) : null;
        let d = this.decide(p, result, now, decided);
        if (d.kind === 'failed' && result.outcome !== 'voided') {
          // A failure is for good, so the key is spent first: a posting of this payment still on its way
          // (another claim's call, from a sweep that outlived its lock, that the ledger runs late) cannot
          // move the money once the date is recorded failed; one that already did makes it paid. Why it
          // failed is written before, so that a claim after a void whose recording did not happen
          // records the same failure (its call answers `voided`), rather than being stuck on the key.
          // (A claim taken meanwhile by a sweep that outlived its lock may retry where this one fails: the
          // void then ends its retries, moving nothing, and the date fails for the reason written last.)
          if (!(await this.failing(p, d.reason))) return;
          const v = await this.ledger.voidPayment({ key: ledgerKey(p), owner_id: p.owner_id });
          if (v.outcome === 'posted') d = { kind: 'paid', transactionId: v.transaction_id };
        }
        if (d.kind === 'paid') paid.push({ p, transactionId: d.transactionId });
        else others.push({ p, d });
      } catch (err) {
        counts.errors++;
        this.logger.warn({ err, payment_id: p.id }, 'payment not made: left for the next sweep');
      }
    });
    const together = await this.recorded(paid, now);
    if (together !== null) counts.paid += together;
    else {
      // One bad row, or a deadlock, must not hold up the round's other payments: each is recorded alone.
      await eachLimited(paid, CONCURRENCY, async (x) => {
        const alone = await this.recorded([x], now);
        if (alone === null) counts.errors++;
        else counts.paid += alone;
      });
    }
    if (voided.length > 0) counts.skipped += await this.recordVoided(voided);
    await eachLimited(others, CONCURRENCY, async ({ p, d }) => {
      try {
        const outcome = await this.dataSource.transaction((m) => this.record(m, p, d, now));
        if (outcome === null) return;
        counts[outcome]++;
        if (outcome !== 'skipped') this.counted(p, outcome);
      } catch (err) {
        counts.errors++;
        this.logger.warn({ err, payment_id: p.id }, 'payment attempt not recorded: left for the next sweep');
      }
    });
  }

  /** Marks voided payments skipped (those still `processing`); how many. Logged, as each was due once. */
  private async recordVoided(voided: ClaimedPayment[]): Promise<number> {
    const [rows] = (await this.dataSource.query(
      `UPDATE payments.payments p SET status = 'skipped', updated_at = now()
         FROM unnest($1::uuid[], $2::uuid[]) AS t(id, claim)
        WHERE p.id = t.id AND p.status = 'processing' AND p.claim_id = t.claim RETURNING p.id`,
      [voided.map((p) => p.id), voided.map((p) => p.claim_id)],
    )) as [{ id: string }[], number];
    for (const { id } of rows) {
      const p = voided.find((v) => v.id === id)!;
      this.logger.info(
        { payment_id: p.id, order_id: p.order_id, due_date: p.due_date },
        'payment of a cancelled standing order voided after a failed call: not made',
      );
    }
    return rows.length;
  }

  /**
   * Records `paid` in one transaction: how many it recorded (those still under this sweep's claim); null
   * (logged) when it did not commit: they stay `processing`.
   */
  private async recorded(paid: Paid[], now: Date): Promise<number | null> {
    if (paid.length === 0) return 0;
    try {
      const settled = await this.dataSource.transaction((m) => this.recordPaid(m, paid, now));
      for (const { p } of settled) this.counted(p, 'paid');
      return settled.length;
    } catch (err) {
      this.logger.warn(
        { err, payments: paid.length },
        'payments made but not recorded: left for the next sweep',
      );
      return null;
    }
  }

  private posting(p: ClaimedPayment): PaymentPosting {
    return {
      key: ledgerKey(p),
      kind: p.source,
      owner_id: p.owner_id,
      from_account_id: p.from_account_id,
      to_account_id: p.payee_account_id,
      amount: jsonAmount(p.amount),
      currency: p.currency,
      reference: p.reference,
      payee_name: p.payee_name,
    };
  }

  private decide(
    p: ClaimedPayment,
    result: PaymentPostingResult,
    now: Date,
    decided: PaymentFailureReason | null,
  ): Decision {
    const rules = {
      retryAttempts: this.paymentsConfig.paymentRetryAttempts,
      retryIntervalMinutes: this.paymentsConfig.paymentRetryIntervalMinutes,
    };
    return decide(result, p.attempts, now, rules, decided);
  }

  /**
   * Why a date failed whose key a sweep of an earlier version voided without writing the reason first
   * (and whose recording then failed): read from the accounts as they are now, in the ledger's
   * order (the payer's account gone or closed, the payee's, a freeze), else the one failure left,
   * insufficient funds. Such a date was stuck `processing`; this records it once.
   */
  private async reasonNow(p: ClaimedPayment): Promise<PaymentFailureReason> {
    const payee = p.payee_account_id;
    const states = await this.ledger.getStates(payee ? [p.from_account_id, payee] : [p.from_account_id]);
    const from = states.find((s) => s.account_id === p.from_account_id);
    const to = payee ? states.find((s) => s.account_id === payee) : undefined;
    if (!from) return 'account_not_found';
    if (from.status === 'closed') return 'account_closed';
    if (payee && !to) return 'payee_account_not_found';
    if (to?.status === 'closed') return 'payee_account_closed';
    if (from.status === 'frozen') return 'account_frozen';
    return 'insufficient_funds';
  }

  /**
   * Writes why the payment is about to fail, before its key is spent; false when another claim has taken
   * it since (a sweep that outlived its lock): that claim's outcome stands, and this one does nothing.
   */
  private async failing(p: ClaimedPayment, reason: PaymentFailureReason): Promise<boolean> {
    const [, written] = (await this.dataSource.query(
      `UPDATE payments.payments SET failure_reason = $2, updated_at = now()
        WHERE id = $1 AND status = 'processing' AND claim_id = $3`,
      [p.id, reason, p.claim_id],
    )) as [unknown, number];
    return written > 0;
  }

  /**
   * Records a round's paid payments, set-based: the payments, their orders, the orders that are now
   * complete and the events, whatever the round's size, in a handful of statements. Only payments still
   * `processing` are recorded (see record). A round holds at most one payment per order (claim), so an
   * order's counters move by one.
   */
  private async recordPaid(m: EntityManager, paid: Paid[], now: Date): Promise<Paid[]> {
    const byId = new Map(paid.map((x) => [x.p.id, x]));
    await lockOrders(
      m,
      paid.map((x) => x.p),
    );
    const [rows] = (await m.query(
      `UPDATE payments.payments p SET status = 'paid', attempts = p.attempts + 1, transaction_id = t.tx,
              failure_reason = NULL, settled_at = $3, updated_at = now()
         FROM unnest($1::uuid[], $2::uuid[], $4::uuid[]) AS t(id, tx, claim)
        WHERE p.id = t.id AND p.status = 'processing' AND p.claim_id = t.claim RETURNING p.id`,
      [
        [...byId.keys()],
        [...byId.values()].map((x) => x.transactionId),
        now,
        [...byId.values()].map((x) => x.p.claim_id),
      ],
    )) as [{ id: string }[], number];
    const settled = rows.map((r) => byId.get(r.id)!);
    if (settled.length === 0) return settled;
    const standing = settled.filter((x) => x.p.source === 'standing_order').map((x) => x.p.order_id);
    const scheduled = settled.filter((x) => x.p.source === 'scheduled_payment').map((x) => x.p.order_id);
    if (standing.length > 0) {
      await m.query(
        `UPDATE payments.standing_orders o SET payments_made = o.payments_made + t.paid, consecutive_failures = 0,
                last_executed_at = $2, updated_at = now()
           FROM (SELECT id, count(*)::int AS paid FROM unnest($1::uuid[]) AS id GROUP BY id) t
          WHERE o.id = t.id`,
        [standing, now],
      );
      await completeIfDone(m, standing);
    }
    if (scheduled.length > 0) {
      await m.query(
        `UPDATE payments.scheduled_payments SET status = 'paid', updated_at = now()
          WHERE id = ANY($1::uuid[]) AND status = 'scheduled'`,
        [scheduled],
      );
    }
    const executedAt = now.toISOString();
    const events: OutboxEntry[] = [];
    for (const { p, transactionId } of settled) {
      events.push({
        name: 'payment.executed',
        input: { ...eventOf(p), transaction_id: transactionId, executed_at: executedAt },
      });
      if (p.payee_type === 'external') {
        events.push({
          name: 'payment.sent',
          input: {
            payment_id: p.id,
            transaction_id: transactionId,
            amount: jsonAmount(p.amount),
            currency: p.currency,
            from_account_id: p.from_account_id,
            // As the scheme carries it: an order or payee saved before the rule may hold other text.
            payee_name: schemeCarried(p.payee_name, SCHEME_FALLBACK.name),
            payee_sort_code: p.payee_sort_code,
            payee_account_number: p.payee_account_number,
            reference: schemeCarried(p.reference, SCHEME_FALLBACK.reference),
            executed_at: executedAt,
          },
        });
      }
    }
    await this.outbox.addMany(m, 'payments', events, { notify: false });
    return settled;
  }

  /**
   * Records an attempt that did not pay, in one transaction with its order's change and its event. Only a
   * payment still `processing` under this sweep's claim is recorded: two sweeps cannot run at once, but a
   * slow one may outlive its lock's connection while another claims its payments again, and only the
   * later claim's outcome stands (its posting replays the earlier one's, or is decided anew). Answers
   * what it recorded; null: nothing (another claim's, or already recorded).
   */
  private async record(
    m: EntityManager,
    p: ClaimedPayment,
    d: Exclude<Decision, { kind: 'paid' }>,
    now: Date,
  ): Promise<'retrying' | 'failed' | 'skipped' | null> {
    if (d.kind === 'retry') {
      if (!(await this.stillStands(m, p))) {
        // Its order was cancelled, or its payee deleted, while this attempt was being made: they skipped
        // the order's other payments, and this one must not be paid by a later retry either.
        const [skipped] = (await m.query(
          `UPDATE payments.payments SET status = 'skipped', attempts = attempts + 1, failure_reason = $2,
                  updated_at = now() WHERE id = $1 AND status = 'processing' AND claim_id = $3 RETURNING id`,
          [p.id, d.reason, p.claim_id],
        )) as [unknown[], number];
        if (skipped.length && p.source === 'scheduled_payment') {
          await m.query(
            `UPDATE payments.scheduled_payments SET status = 'cancelled', status_reason = 'payee_deleted',
                    updated_at = now() WHERE id = $1 AND status = 'scheduled'`,
            [p.order_id],
          );
        }
        return skipped.length ? 'skipped' : null;
      }
      const [, retrying] = (await m.query(
        `UPDATE payments.payments SET status = 'retrying', attempts = attempts + 1, failure_reason = $2,
                next_attempt_at = $3, updated_at = now() WHERE id = $1 AND status = 'processing' AND claim_id = $4`,
        [p.id, d.reason, d.at, p.claim_id],
      )) as [unknown, number];
      return retrying > 0 ? 'retrying' : null;
    }
    await lockOrders(m, [p]);
    const [settled] = (await m.query(
      `UPDATE payments.payments SET status = 'failed', attempts = attempts + 1, transaction_id = NULL,
              failure_reason = $2, settled_at = $3, updated_at = now()
        WHERE id = $1 AND status = 'processing' AND claim_id = $4 RETURNING attempts`,
      [p.id, d.reason, now, p.claim_id],
    )) as [{ attempts: number }[], number];
    if (!settled?.length) return null;
    const orderStatus = await this.orderFailed(m, p, d.stopsOrder, d.reason);
    await this.outbox.add(
      m,
      'payments',
      'payment.failed',
      { ...eventOf(p), reason: d.reason, attempts: settled[0].attempts, order_status: orderStatus },
      { notify: false },
    );
    return 'failed';
  }

  /**
   * Whether the payment's payee is still saved and its order still pays (an active standing order, a
   * scheduled payment not cancelled). The rows are locked (FOR SHARE) in the order a payee deletion and
   * a cancel take them (payee, then order, then payments), so one that has not committed yet waits for
   * this recording and then finds the payment retrying, which it skips.
   */
  private async stillStands(m: EntityManager, p: ClaimedPayment): Promise<boolean> {
    const payee = (await m.query(
      `SELECT 1 FROM payments.payees WHERE id = $1 AND deleted_at IS NULL FOR SHARE`,
      [p.payee_id],
    )) as unknown[];
    if (!payee.length) return false;
    const order = (await m.query(
      p.source === 'standing_order'
        ? `SELECT 1 FROM payments.standing_orders WHERE id = $1 AND status = 'active' FOR SHARE`
        : `SELECT 1 FROM payments.scheduled_payments WHERE id = $1 AND status = 'scheduled' FOR SHARE`,
      [p.order_id],
    )) as unknown[];
    return order.length > 0;
  }

  /** The order's status after a failed due date (see statusAfterFailure); open dates of a stopped order are skipped. */
  private async orderFailed(
    m: EntityManager,
    p: ClaimedPayment,
    stopsOrder: boolean,
    reason: string,
  ): Promise<'active' | 'suspended' | 'cancelled' | 'completed' | 'failed'> {
    if (p.source === 'scheduled_payment') {
      const status = stopsOrder ? 'cancelled' : 'failed';
      const [rows] = (await m.query(
        `UPDATE payments.scheduled_payments SET status = $2, status_reason = $3, updated_at = now()
          WHERE id = $1 AND status = 'scheduled' RETURNING status`,
        [p.order_id, status, reason],
      )) as [{ status: 'cancelled' | 'failed' }[], number];
      return rows[0]?.status ?? status;
    }
    // Only an active order counts its failures: one cancelled while this payment was being made stays as
    // its owner left it.
    const [rows] = (await m.query(
      `UPDATE payments.standing_orders SET consecutive_failures = consecutive_failures + 1, updated_at = now()
        WHERE id = $1 AND status = 'active' RETURNING consecutive_failures`,
      [p.order_id],
    )) as [{ consecutive_failures: number }[], number];
    if (!rows.length) {
      const [order] = (await m.query(`SELECT status FROM payments.standing_orders WHERE id = $1`, [
        p.order_id,
      ])) as { status: 'suspended' | 'cancelled' | 'completed' }[];
      return order.status;
    }
    const status = statusAfterFailure(
      rows[0].consecutive_failures,
      stopsOrder,
      this.paymentsConfig.standingOrderMaxConsecutiveFailures,
    );
    // The last date failing ends the order (completed), rather than suspending one with nothing left to pay.
    if (status === 'suspended' && (await completeIfDone(m, p.order_id)) > 0) return 'completed';
    if (status !== 'active') {
      await m.query(
        `UPDATE payments.standing_orders SET status = $2, status_reason = $3, next_payment_date = NULL,
                updated_at = now() WHERE id = $1`,
        [p.order_id, status, status === 'suspended' ? 'consecutive_failures' : reason],
      );
      await skipOpenPayments(m, p.order_id);
      return status;
    }
    return (await completeIfDone(m, p.order_id)) > 0 ? 'completed' : 'active';
  }
}

/** Runs `task` over `items`, at most `limit` at a time. */
async function eachLimited<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await task(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** A payment the ledger posted (or had posted: a replay), to be recorded as paid. */
interface Paid {
  p: ClaimedPayment;
  transactionId: string;
}

/** What payment.executed and payment.failed say about the payment itself. */
function eventOf(p: ClaimedPayment) {
  return {
    payment_id: p.id,
    source: p.source,
    order_id: p.order_id,
    owner_id: p.owner_id,
    from_account_id: p.from_account_id,
    payee_id: p.payee_id,
    payee_name: p.payee_name,
    amount: jsonAmount(p.amount),
    currency: p.currency,
    reference: p.reference,
    due_date: p.due_date,
    late: p.late,
  };
}
