import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Currency } from '@protobank/contracts';
import {
  AppConfig,
  AppError,
  assertAmountWithin,
  assertSomethingToChange,
  decodeCursor,
  encodeCursor,
  pageOf,
} from '@protobank/platform';
import { DataSource, type EntityManager } from 'typeorm';
import { completeIfDone, skipOpenPayments } from '../run/order-state';
import { PAYMENT_READ, type PaymentReadRow } from '../run/payment-rows';
import { SweepKicks } from '../run/sweep-kicks';
import {
  firstOccurrenceFrom,
  occurrence,
  paymentDay,
  withinOrder,
  type Frequency,
} from '../schedule/calendar';
import { OrderChecks, orderReference } from './order-checks';
import type { CreateStandingOrderDto, StandingOrderDto, UpdateStandingOrderDto } from './order.dto';
import { paymentView, STANDING_ORDER_SELECT, standingOrderView, type StandingOrderRow } from './views';
import { schemeText } from '../payees/scheme-text';

const invalid = (field: string, message: string) =>
  AppError.badRequest('validation_failed', `Invalid request: ${field}`, [{ field, message }]);

/** The caller's order locked (FOR UPDATE), with its status and schedule; 404 when it is not theirs. */
async function lockSchedule(m: EntityManager, ownerId: string, id: string) {
  const [row] = (await m.query(
    `SELECT o.status, o.frequency, o.start_date::text AS start_date, o.end_date::text AS end_date, o.count, o.next_n
       FROM payments.standing_orders o WHERE o.id = $1 AND o.owner_id = $2 FOR UPDATE`,
    [id, ownerId],
  )) as Pick<StandingOrderRow, 'status' | 'frequency' | 'start_date' | 'end_date' | 'count' | 'next_n'>[];
  if (!row) throw AppError.notFound('standing order', 'id');
  return row;
}

function assertSuspended(status: string): void {
  if (status !== 'suspended') {
    throw AppError.conflict(
      'order_not_suspended',
      `The standing order is ${status}: only a suspended order can be resumed`,
    );
  }
}

/**
 * Standing orders: a payment every week, month, quarter or year from a start date, until an end date or
 * a count. The due sweep schedules and pays each date; this service sets orders up, changes and cancels
 * them, and lists what each date came to.
 */
@Injectable()
export class StandingOrdersService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly checks: OrderChecks,
    private readonly config: AppConfig,
    private readonly sweeps: SweepKicks,
  ) {}

  async create(
    ownerId: string,
    body: CreateStandingOrderDto,
    key: string,
  ): Promise<{ view: StandingOrderDto; replayed: boolean }> {
    const firstPayOn = paymentDay(body.start_date, this.config);
    const { id, replayed } = await this.checks.createOnce(
      'standing_order',
      ownerId,
      key,
      body,
      firstPayOn,
      () => {
        this.checks.assertWithinYear('start_date', body.start_date);
        if (body.end_date !== undefined && body.end_date < body.start_date) {
          throw invalid('end_date', 'end_date must not be before start_date');
        }
      },
      (m, id, payee) =>
        m.query(
          `INSERT INTO payments.standing_orders (id, owner_id, from_account_id, payee_id, amount, currency, reference,
                                                 frequency, start_date, end_date, count, next_payment_date)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $9)`,
          [
            id,
            ownerId,
            body.from_account_id,
            payee.id,
            body.amount,
            body.currency,
            orderReference(body, payee),
            body.frequency,
            body.start_date,
            body.end_date ?? null,
            body.count ?? null,
          ],
        ),
    );
    if (replayed) return { view: await this.get(ownerId, id), replayed: true };
    // Starting today: the first payment is made at once (by a sweep now), not at the next minute's.
    if (firstPayOn <= this.checks.today()) await this.sweeps.kick();
    return { view: await this.get(ownerId, id), replayed: false };
  }

  async list(where: { owner_id: string }, cursor: string | undefined, limit: number) {
    const after = cursor ? decodeCursor(cursor) : null;
    const rows = (await this.dataSource.query(
      `${STANDING_ORDER_SELECT}
        WHERE o.owner_id = $1 AND ($2::timestamptz IS NULL OR (o.created_at, o.id) < ($2, $3::uuid))
        ORDER BY o.created_at DESC, o.id DESC LIMIT $4`,
      [where.owner_id, after?.created_at ?? null, after?.id ?? null, limit + 1],
    )) as StandingOrderRow[];
    return pageOf(rows, limit, standingOrderView, (last) => encodeCursor(last));
  }

  async get(ownerId: string, id: string): Promise<StandingOrderDto> {
    const [row] = (await this.dataSource.query(
      `${STANDING_ORDER_SELECT} WHERE o.id = $1 AND o.owner_id = $2`,
      [id, ownerId],
    )) as StandingOrderRow[];
    if (!row) throw AppError.notFound('standing order', 'id');
    return standingOrderView(row);
  }

  /**
   * Every date of the order that has come due, newest first, with what it came to. The cursor carries the
   * due date as its midnight UTC, and is compared as that date: a date cast to timestamptz would be
   * midnight in the session's time zone, and east of UTC the page's last row would come back again.
   */
  async payments(ownerId: string, id: string, cursor: string | undefined, limit: number) {
    await this.get(ownerId, id);
    const after = cursor ? decodeCursor(cursor) : null;
    const rows = (await this.dataSource.query(
      `${PAYMENT_READ}
        WHERE p.order_id = $1
          AND ($2::timestamptz IS NULL OR (p.due_date, p.id) < (($2::timestamptz AT TIME ZONE 'UTC')::date, $3::uuid))
        ORDER BY p.due_date DESC, p.id DESC LIMIT $4`,
      [id, after?.created_at ?? null, after?.id ?? null, limit + 1],
    )) as PaymentReadRow[];
    return pageOf(rows, limit, paymentView, (last) =>
      encodeCursor({ created_at: new Date(`${last.due_date}T00:00:00Z`), id: last.id }),
    );
  }

  /**
   * Changes the amount, reference or end date from the next payment on. That includes a payment already
   * scheduled and not yet tried (`pending`: due on a weekend or holiday, paid on the next working day),
   * which the customer sees nowhere on the order (its next_payment_date is the date after): it would
   * otherwise leave at the old amount the day after the change. One being posted or retried keeps its
   * own (the ledger has its key with that amount). The sweep claims payments with SKIP LOCKED, so either
   * it took the payment first (then this finds it `processing`) or it takes it after this commits.
   * A new end date (today or later: payments are scheduled on their due date, so none already
   * scheduled falls after it) before the next date ends the order (completed once nothing is open).
   */
  async update(ownerId: string, id: string, body: UpdateStandingOrderDto): Promise<StandingOrderDto> {
    assertSomethingToChange(body, 'nothing to change', 'give at least one of amount, reference, end_date');
    if (body.amount !== undefined) assertAmountWithin(body.amount, this.config.maxAmount);
    await this.dataSource.transaction(async (m) => {
      const row = await lockSchedule(m, ownerId, id);
      if (row.status !== 'active') {
        throw AppError.conflict(
          'order_not_active',
          `The standing order is ${row.status}: it cannot be changed`,
        );
      }
      if (body.reference !== undefined) {
        // A new reference for an external payee is what the scheme will carry.
        const [payee] = (await m.query(
          `SELECT p.type FROM payments.standing_orders o JOIN payments.payees p ON p.id = o.payee_id WHERE o.id = $1`,
          [id],
        )) as { type: 'internal' | 'external' }[];
        if (payee?.type === 'external') body.reference = schemeText(body.reference, 'reference');
      }
      const endDate = body.end_date === undefined ? row.end_date : body.end_date;
      // A new end date in the past would be before payments already made, and would leave a payment due
      // since (on a weekend, paid on Monday) to be paid after the order's end: cancelling stops that one.
      if (body.end_date != null && body.end_date < this.checks.today())
        throw invalid(
          'end_date',
          'end_date must not be in the past (cancel the order to stop a payment already due)',
        );
      if (endDate !== null && endDate < row.start_date)
        throw invalid('end_date', 'end_date must not be before start_date');
      const next = occurrence(row.start_date, row.frequency as Frequency, row.next_n);
      const nextDate = withinOrder(row.next_n, next, { endDate, count: row.count }) ? next : null;
      await m.query(
        `UPDATE payments.standing_orders SET amount = coalesce($3, amount), reference = coalesce($4, reference),
                end_date = $5, next_payment_date = $6, updated_at = now()
          WHERE id = $1 AND owner_id = $2`,
        [id, ownerId, body.amount ?? null, body.reference ?? null, endDate, nextDate],
      );
      if (body.amount !== undefined || body.reference !== undefined) {
        // `pending` is never tried (a claim makes it processing, and nothing puts one back): attempts = 0
        // is a guard only.
        await m.query(
          `UPDATE payments.payments SET amount = coalesce($2, amount), reference = coalesce($3, reference),
                  updated_at = now()
            WHERE order_id = $1 AND source = 'standing_order' AND status = 'pending' AND attempts = 0`,
          [id, body.amount ?? null, body.reference ?? null],
        );
      }
      await completeIfDone(m, id);
    });
    return this.get(ownerId, id);
  }

  /**
   * Resumes a suspended order from its first date still to be paid today or later (a Saturday's, paid on
   * Monday, when resumed on the Sunday): the dates missed while it was suspended are not paid (each still
   * counts toward `count`), and its failures in a row count from zero again.
   *
   * What a new order is checked for is checked again first (the source account open, the payee and its
   * account), and the account must not be frozen (409 account_frozen); a payee deleted or an account
   * closed since has cancelled the order, which is then not suspended (409). With no date left (end_date
   * or count passed meanwhile): 409 order_finished, and nothing changes. A date of today is paid at once,
   * as a new order's first one is.
   */
  async resume(ownerId: string, id: string): Promise<StandingOrderDto> {
    const order = await this.get(ownerId, id);
    assertSuspended(order.status);
    // The currency is the order's own, one of ours since it was set up. Its amount is not checked against
    // MAX_AMOUNT again: an active order keeps paying what it was set up with if the limit is lowered.
    const { from } = await this.checks.check(ownerId, { ...order, currency: order.currency as Currency });
    // Its payments would fail again at once, and suspend it again after as many.
    if (from.status === 'frozen') throw AppError.conflict('account_frozen', 'The account is frozen');
    const today = this.checks.today();
    const next = await this.dataSource.transaction(async (m) => {
      const row = await lockSchedule(m, ownerId, id);
      assertSuspended(row.status);
      // next_n is past every date already scheduled (paid, failed or skipped), so none is made twice.
      const next = firstOccurrenceFrom(
        row.start_date,
        row.frequency as Frequency,
        row.next_n,
        today,
        { endDate: row.end_date, count: row.count },
        this.config,
      );
      if (!next) {
        throw AppError.conflict(
          'order_finished',
          'The standing order has no payment date left to resume from: set up a new one',
        );
      }
      await m.query(
        `UPDATE payments.standing_orders SET status = 'active', status_reason = NULL, consecutive_failures = 0,
                next_n = $3, next_payment_date = $4, updated_at = now()
          WHERE id = $1 AND owner_id = $2`,
        [id, ownerId, next.n, next.date],
      );
      return next.date;
    });
    if (paymentDay(next, this.config) <= today) await this.sweeps.kick();
    return this.get(ownerId, id);
  }

  /**
   * Cancels an active or suspended order: no further payment; one being made now completes. One whose
   * call failed (left `processing` by an outage) is voided by the next sweep, not made (DueSweep.round).
   */
  async cancel(ownerId: string, id: string): Promise<StandingOrderDto> {
    await this.dataSource.transaction(async (m) => {
      const [row] = (await m.query(
        `SELECT status FROM payments.standing_orders WHERE id = $1 AND owner_id = $2 FOR UPDATE`,
        [id, ownerId],
      )) as { status: string }[];
      if (!row) throw AppError.notFound('standing order', 'id');
      if (row.status === 'cancelled')
        throw AppError.conflict('already_cancelled', 'The standing order is already cancelled');
      if (row.status === 'completed')
        throw AppError.conflict('order_completed', 'The standing order has completed');
      await m.query(
        `UPDATE payments.standing_orders SET status = 'cancelled', status_reason = 'customer', next_payment_date = NULL,
                updated_at = now() WHERE id = $1`,
        [id],
      );
      await skipOpenPayments(m, id);
    });
    return this.get(ownerId, id);
  }
}
