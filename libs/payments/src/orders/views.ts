import { jsonAmount } from '@protobank/platform';
import { PAYMENT_READ, type PaymentReadRow } from '../run/payment-rows';
import type { PaymentDto, ScheduledPaymentDto, StandingOrderDto } from './order.dto';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export const paymentView = (p: PaymentReadRow): PaymentDto => ({
  id: p.id,
  source: p.source,
  order_id: p.order_id,
  from_account_id: p.from_account_id,
  payee_id: p.payee_id,
  amount: jsonAmount(p.amount),
  currency: p.currency,
  reference: p.reference,
  due_date: p.due_date,
  pay_on: p.pay_on,
  status: p.reversed_by_id ? 'reversed' : p.status,
  attempts: p.attempts,
  transaction_id: p.transaction_id,
  failure_reason: p.failure_reason,
  late: p.late,
  settled_at: iso(p.settled_at),
  reversed_by_id: p.reversed_by_id,
  reversed_at: iso(p.reversed_at),
});

interface OrderRow {
  id: string;
  owner_id: string;
  from_account_id: string;
  payee_id: string;
  payee_name: string;
  amount: string;
  currency: string;
  reference: string;
  status: string;
  status_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface StandingOrderRow extends OrderRow {
  frequency: string;
  start_date: string;
  end_date: string | null;
  count: number | null;
  next_n: number;
  next_payment_date: string | null;
  payments_made: number;
  consecutive_failures: number;
  last_executed_at: Date | null;
}

export interface ScheduledPaymentRow extends OrderRow {
  pay_on: string;
  /** Its payment, as JSON (row_to_json of PAYMENT_READ): its times as strings. */
  payment:
    | (Omit<
        PaymentReadRow,
        'next_attempt_at' | 'settled_at' | 'reversed_at' | 'created_at' | 'updated_at'
      > & {
        settled_at: string | null;
        reversed_at: string | null;
      })
    | null;
}

/** The order's columns but its status, which each kind of order reads its own way. */
const ORDER = `o.id, o.owner_id, o.from_account_id, o.payee_id, y.name AS payee_name, o.amount, o.currency,
  o.reference, o.status_reason, o.created_at, o.updated_at`;

/** A standing order with its payee's name: FROM payments.standing_orders o JOIN payees y. */
export const STANDING_ORDER_SELECT = `SELECT ${ORDER}, o.status, o.frequency, o.start_date::text AS start_date,
  o.end_date::text AS end_date, o.count, o.next_n, o.next_payment_date::text AS next_payment_date,
  o.payments_made, o.consecutive_failures, o.last_executed_at
  FROM payments.standing_orders o JOIN payments.payees y ON y.id = o.payee_id`;

/**
 * A scheduled payment's status as read (payments.scheduled_payments as `o`): `reversed` once staff reversed
 * the entry of the payment it made, else the row's.
 */
export const SCHEDULED_STATUS = `CASE WHEN o.status = 'paid' AND EXISTS (
    SELECT 1 FROM payments.payments p JOIN payments.reversals r ON r.transaction_id = p.transaction_id
     WHERE p.order_id = o.id) THEN 'reversed' ELSE o.status END`;

/** A scheduled payment with its payee's name and its payment. */
export const SCHEDULED_PAYMENT_SELECT = `SELECT ${ORDER}, ${SCHEDULED_STATUS} AS status, o.pay_on::text AS pay_on,
  (SELECT row_to_json(x) FROM (${PAYMENT_READ} WHERE p.order_id = o.id) x) AS payment
  FROM payments.scheduled_payments o JOIN payments.payees y ON y.id = o.payee_id`;

const order = (r: OrderRow) => ({
  id: r.id,
  owner_id: r.owner_id,
  from_account_id: r.from_account_id,
  payee_id: r.payee_id,
  payee_name: r.payee_name,
  amount: jsonAmount(r.amount),
  currency: r.currency,
  reference: r.reference,
  status: r.status,
  status_reason: r.status_reason,
  created_at: r.created_at.toISOString(),
  updated_at: r.updated_at.toISOString(),
});

export const standingOrderView = (r: StandingOrderRow): StandingOrderDto => ({
  ...order(r),
  frequency: r.frequency,
  start_date: r.start_date,
  end_date: r.end_date,
  count: r.count,
  next_payment_date: r.next_payment_date,
  payments_made: r.payments_made,
  consecutive_failures: r.consecutive_failures,
  last_executed_at: iso(r.last_executed_at),
});

export const scheduledPaymentView = (r: ScheduledPaymentRow): ScheduledPaymentDto => {
  const p = r.payment;
  return {
    ...order(r),
    pay_on: r.pay_on,
    payment: p
      ? paymentView({
          ...p,
          settled_at: p.settled_at ? new Date(p.settled_at) : null,
          reversed_at: p.reversed_at ? new Date(p.reversed_at) : null,
        } as PaymentReadRow)
      : null,
  };
};
