import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  TRANSACTIONS_API,
  type LedgerAccountState,
  type PaymentSource,
  type TransactionsApi,
} from '@protobank/contracts';
import {
  AppConfig,
  AppError,
  assertAmountWithin,
  DestinationMisses,
  IDEMPOTENCY_HEADER,
  requestFingerprint,
  ADVISORY_LOCKS,
  assertCreatedWithinDay,
} from '@protobank/platform';
import { randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import { PayeesService, type PayeeRow } from '../payees/payees.service';
import { PaymentsConfig } from '../payments.config';
import { PAYMENTS_CLOCK, type Clock } from '../run/clock';
import { cancelOpenOrders } from '../run/order-state';
import { addMonths, todayIn } from '../schedule/calendar';
import type { OrderBodyDto } from './order.dto';
import { schemeText } from '../payees/scheme-text';

/**
 * The currency an external payee is paid in: one is reached by a sort code and account number, through
 * the UK's domestic schemes (Faster Payments, Bacs), which carry sterling only.
 */
export const EXTERNAL_PAYMENT_CURRENCY = 'GBP';

const invalid = (field: string, message: string) =>
  AppError.badRequest('validation_failed', `Invalid request: ${field}`, [{ field, message }]);

/** The reference an order pays with: its own, else its payee's (check() refuses an order with neither). */
export const orderReference = (body: { reference?: string }, payee: { reference: string | null }): string =>
  body.reference ?? payee.reference!;

/** The request fingerprint's name per kind of order (stored with each Idempotency-Key: do not change). */
const FINGERPRINT: Record<PaymentSource, string> = {
  standing_order: 'standing-order',
  scheduled_payment: 'scheduled-payment',
};

/**
 * What setting up a payment order checks, before anything is written: the dates, the amount, that the
 * source account is the caller's, open and in the order's currency, and that the payee is the caller's
 * and (internal) can receive that currency. Funds are not checked here: the ledger checks them when each
 * payment is made, under its lock.
 */
@Injectable()
export class OrderChecks {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly payees: PayeesService,
    @Inject(TRANSACTIONS_API) private readonly ledger: TransactionsApi,
    private readonly config: AppConfig,
    @Inject(PAYMENTS_CLOCK) private readonly clock: Clock,
    private readonly misses: DestinationMisses,
    private readonly paymentsConfig: PaymentsConfig,
  ) {}

  /** Today in the bank's time zone. */
  today(): string {
    return todayIn(this.config.bankTimeZone, this.clock.now());
  }

  /** `date` is today or later, and at most a year ahead. */
  assertWithinYear(field: string, date: string): void {
    const today = this.today();
    if (date < today) throw invalid(field, `${field} must be today (${today}) or later`);
    if (date > addMonths(today, 12)) throw invalid(field, `${field} must be within a year of today`);
  }

  /**
   * Creates an order once per Idempotency-Key. A key used before replays what it created, before any
   * check (createdWithKey). Otherwise `validate` runs (the kind's own rules), then the common checks,
   * then one transaction claims the key, admits the order (caps, payee lock: admitOrder) and `insert`s it
   * under the id returned. `firstPayOn` is the day its first payment is made: today, from a frozen
   * account, it would fail at once, so the order is refused (409 account_frozen); a later one is set up,
   * the account may be unfrozen by then.
   */
  async createOnce(
    source: PaymentSource,
    ownerId: string,
    key: string,
    body: OrderBodyDto,
    firstPayOn: string,
    validate: () => void,
    insert: (m: EntityManager, id: string, payee: PayeeRow) => Promise<void>,
  ): Promise<{ id: string; replayed: boolean }> {
    const hash = requestFingerprint(FINGERPRINT[source], { ...body });
    const replayed = await createdWithKey(this.dataSource.manager, ownerId, key, hash);
    if (replayed) return { id: replayed, replayed: true };
    validate();
    assertAmountWithin(body.amount, this.config.maxAmount);
    const { payee, from } = await this.check(ownerId, body, key);
    // The order's reference or its payee's (one saved before the rule may hold any plain text), as the
    // scheme will carry it: set on the body, which `insert` stores through orderReference. A new order's
    // only: one set up before the rule is resumed with what it has.
    if (!payee.account_id) {
      const given = body.reference !== undefined;
      body.reference = schemeText(
        orderReference(body, payee),
        'reference',
        given ? undefined : "this payee's saved reference (give a reference of the order's own)",
      );
    }
    if (from.status === 'frozen' && firstPayOn <= this.today()) {
      throw AppError.conflict(
        'account_frozen',
        'The account is frozen: a payment due today cannot be made from it',
      );
    }
    const id = randomUUID();
    const existing = await this.dataSource.transaction(async (m) => {
      const first = await claimCreationKey(m, ownerId, key, hash, id);
      if (first) return first;
      await admitOrder(m, ownerId, payee.id, source, this.paymentsConfig.paymentOrdersPerDay);
      await insert(m, id, payee);
      return null;
    });
    if (existing) return { id: existing, replayed: true };
    await this.refuseIfClosedMeanwhile(source, ownerId, body.from_account_id, key, id);
    return { id, replayed: false };
  }

  /**
   * The account was read open before the order's transaction; if it closed meanwhile, its account.closed
   * handler may have cancelled its orders before this one was committed. Read again after the commit:
   * closed now, the order is cancelled here with the account's others and its Idempotency-Key forgotten,
   * so that a retry is checked afresh and refused as this request was (409 account_closed). The order
   * was made, so it stays, cancelled, as every order does: the 409 names it, which explains the
   * cancelled order the customer then sees listed (helper-166 F2). Removing it instead let a replay of
   * the key that came between the commit and this read answer 201 with an order then gone (helper-167).
   * Still open, a closing comes later and its handler sees this order. No lock spans the read, which may
   * cross RabbitMQ. If the read fails the order stands (the client's retry replays it): its first payment
   * finds the account closed and ends it.
   */
  private async refuseIfClosedMeanwhile(
    source: PaymentSource,
    ownerId: string,
    accountId: string,
    key: string,
    id: string,
  ) {
    const [now] = await this.ledger.getStates([accountId]);
    if (now?.status !== 'closed') return;
    await this.dataSource.transaction(async (m) => {
      await cancelOpenOrders(m, { owner_id: ownerId, from_account_id: accountId }, 'account_closed');
      await m.query(
        `DELETE FROM payments.idempotency_keys WHERE owner_id = $1 AND key = $2 AND resource_id = $3`,
        [ownerId, key, id],
      );
    });
    const what = OPEN_ORDERS[source].one;
    throw new AppError(
      409,
      'account_closed',
      `The account was closed as the ${what} was set up: the ${what} is cancelled`,
      [{ field: 'from_account_id', message: `closed as ${what} ${id} was set up: cancelled` }],
    );
  }

  /**
   * The checks every order passes when it is set up, and a suspended standing order again when it is
   * resumed: the payee the caller's, a reference, the source account the caller's, open and in the
   * order's currency, an internal payee's account open in that currency, and an external payee paid in
   * EXTERNAL_PAYMENT_CURRENCY. Returns the payee and the source account's state.
   *
   * A new order (`key`, its Idempotency-Key) refused for an internal payee's account (closed, another
   * currency) counts toward TRANSFER_MISS_LIMIT, once per key, as a transfer's does, and past the limit is
   * 429 instead: a payee is saved by number, and orders to it would otherwise tell, for nothing, whether
   * that account is open and what it holds (helper-117, 2026-12-06). A resume (no key) is the customer's
   * own order: not counted.
   */
  async check(
    ownerId: string,
    body: OrderBodyDto,
    key?: string,
  ): Promise<{ payee: PayeeRow; from: LedgerAccountState }> {
    const payee = await this.payees.own(ownerId, body.payee_id, 'payee_id');
    if (body.reference === undefined && payee.reference === null) {
      throw invalid('reference', 'reference is required: this payee has no reference of its own to use');
    }
    const ids = payee.account_id ? [body.from_account_id, payee.account_id] : [body.from_account_id];
    const states = await this.ledger.getStates(ids);
    const from = states.find((s) => s.account_id === body.from_account_id);
    if (!from || from.owner_id !== ownerId) {
      throw new AppError(404, 'not_found', 'Account not found', [
        { field: 'from_account_id', message: 'no such account of yours' },
      ]);
    }
    if (from.status === 'closed') throw AppError.conflict('account_closed', 'The account is closed');
    if (from.currency !== body.currency) {
      throw AppError.unprocessable('currency_mismatch', 'The currency does not match the account', [
        { field: 'currency', message: `from_account_id holds ${from.currency}` },
      ]);
    }
    if (!payee.account_id && body.currency !== EXTERNAL_PAYMENT_CURRENCY) {
      throw AppError.unprocessable(
        'currency_not_supported',
        `An external payee is paid in ${EXTERNAL_PAYMENT_CURRENCY} only`,
        [
          {
            field: 'currency',
            message: `an external payee (sort code and account number) is paid in ${EXTERNAL_PAYMENT_CURRENCY} only`,
          },
        ],
      );
    }
    if (payee.account_id) {
      if (payee.account_id === body.from_account_id) {
        throw AppError.unprocessable('same_account', 'An account cannot pay itself', [
          { field: 'payee_id', message: 'this payee is the account the money leaves' },
        ]);
      }
      const to = states.find((s) => s.account_id === payee.account_id);
      const refused = !to || to.status === 'closed' || to.currency !== body.currency;
      if (refused && key !== undefined) await this.misses.refusedOnce(ownerId, key);
      if (!to || to.status === 'closed') {
        throw AppError.unprocessable('payee_account_closed', "The payee's account is closed", [
          { field: 'payee_id', message: "the payee's account can no longer be paid" },
        ]);
      }
      if (to.currency !== body.currency) {
        throw AppError.unprocessable('currency_mismatch', "The currency does not match the payee's account", [
          { field: 'currency', message: "the payee's account holds another currency" },
        ]);
      }
    }
    return { payee, from };
  }
}

/**
 * What an Idempotency-Key already created: null when the key is new; the id of what it created when it
 * was used before with the same request; 422 when it was used for another request. Asked before any
 * check, so a retry replays the first answer whatever has changed since (the date passed midnight, the
 * payee was deleted, the payment was made): a client that timed out must not be told its order was
 * refused when it exists.
 */
async function createdWithKey(
  m: EntityManager,
  ownerId: string,
  key: string,
  hash: string,
): Promise<string | null> {
  const [first] = (await m.query(
    `SELECT request_hash, resource_id FROM payments.idempotency_keys WHERE owner_id = $1 AND key = $2`,
    [ownerId, key],
  )) as { request_hash: string; resource_id: string }[];
  if (!first) return null;
  if (first.request_hash !== hash) {
    throw AppError.unprocessable(
      'idempotency_key_reused',
      `This ${IDEMPOTENCY_HEADER} was used with a different request`,
      [{ field: IDEMPOTENCY_HEADER, message: 'use a new key for a different request' }],
    );
  }
  return first.resource_id;
}

/**
 * Claims an Idempotency-Key for a new order, in the caller's transaction: null when it is new (create the
 * order under `id`), else as createdWithKey (a concurrent request with the key waits for the first to
 * commit).
 */
async function claimCreationKey(
  m: EntityManager,
  ownerId: string,
  key: string,
  hash: string,
  id: string,
): Promise<string | null> {
  const inserted = (await m.query(
    `INSERT INTO payments.idempotency_keys (owner_id, key, request_hash, resource_id) VALUES ($1, $2, $3, $4)
     ON CONFLICT DO NOTHING RETURNING resource_id`,
    [ownerId, key, hash, id],
  )) as unknown[];
  if (inserted.length) return null;
  return createdWithKey(m, ownerId, key, hash);
}

/** Most standing orders one customer keeps active or suspended: each is work for every due sweep. */
export const MAX_STANDING_ORDERS = 100;
/** Most scheduled payments one customer has waiting to be paid. */
export const MAX_SCHEDULED_PAYMENTS = 100;

const OPEN_ORDERS: Record<
  PaymentSource,
  { table: string; open: string; max: number; what: string; kind: string; one: string }
> = {
  standing_order: {
    table: 'payments.standing_orders',
    open: `status IN ('active', 'suspended')`,
    max: MAX_STANDING_ORDERS,
    what: 'standing orders',
    kind: 'standing orders',
    one: 'standing order',
  },
  scheduled_payment: {
    table: 'payments.scheduled_payments',
    open: `status = 'scheduled'`,
    max: MAX_SCHEDULED_PAYMENTS,
    what: 'scheduled payments waiting to be paid',
    kind: 'scheduled payments',
    one: 'scheduled payment',
  },
};

/** Key space (pg_advisory_xact_lock's two-int form, apart from the sweep's bigint) of order creations. */
const CREATION_LOCK = ADVISORY_LOCKS.orderCreation;

/**
 * In the transaction that creates an order, before its insert:
 * - takes the customer's creation lock, so creations sent in parallel are counted one after another and
 *   cannot all pass the caps;
 * - counts the orders of the kind set up in the last 24 hours, cancelled ones too (assertCreatedWithinDay:
 *   past `perDay`, 429 rate_limited). The cap on open ones alone let a loop of setting up and cancelling
 *   write rows without end (helper-158);
 * - counts the open ones: at the cap, 422 too_many_standing_orders or too_many_scheduled_payments;
 * - locks the payee row (FOR SHARE) and checks again that it is not deleted: a deletion of the payee
 *   either committed first (404 naming payee_id) or waits for this order and cancels it with the rest.
 *   Without it, an order created while its payee was being deleted stayed active, and was paid.
 */
async function admitOrder(
  m: EntityManager,
  ownerId: string,
  payeeId: string,
  source: PaymentSource,
  perDay: number,
): Promise<void> {
  await m.query(`SELECT pg_advisory_xact_lock($1, hashtext($2))`, [CREATION_LOCK, ownerId]);
  const payee = (await m.query(
    `SELECT id FROM payments.payees WHERE id = $1 AND owner_id = $2 AND deleted_at IS NULL FOR SHARE`,
    [payeeId, ownerId],
  )) as unknown[];
  if (!payee.length) {
    throw new AppError(404, 'not_found', 'Payee not found', [
      { field: 'payee_id', message: 'no such payee' },
    ]);
  }
  const o = OPEN_ORDERS[source];
  await assertCreatedWithinDay(m, { table: o.table, ownerId, perDay, what: `${o.kind} set up` });
  const [{ n }] = (await m.query(
    `SELECT count(*)::int AS n FROM ${o.table} WHERE owner_id = $1 AND ${o.open}`,
    [ownerId],
  )) as { n: number }[];
  if (n >= o.max) {
    throw AppError.unprocessable(
      source === 'standing_order' ? 'too_many_standing_orders' : 'too_many_scheduled_payments',
      `You can have at most ${o.max} ${o.what}; cancel one first`,
    );
  }
}
