import type { Currency, PaymentFailureReason, PaymentSource } from '@protobank/contracts';

export type PaymentStatus = 'pending' | 'processing' | 'retrying' | 'paid' | 'failed' | 'skipped';

/** A row of payments.payments: one due date of a standing order, or a scheduled payment's one payment. */
export interface PaymentRow {
  id: string;
  source: PaymentSource;
  order_id: string;
  n: number;
  owner_id: string;
  from_account_id: string;
  payee_id: string;
  amount: string;
  currency: Currency;
  reference: string;
  /** YYYY-MM-DD: every query reading a date column casts it (`::text`), so pg gives no local-midnight Date. */
  due_date: string;
  pay_on: string;
  status: PaymentStatus;
  attempts: number;
  next_attempt_at: Date;
  transaction_id: string | null;
  failure_reason: PaymentFailureReason | null;
  late: boolean;
  settled_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** A payment as a sweep claims it: with what its payee is paid into. */
export interface ClaimedPayment extends PaymentRow {
  payee_name: string;
  payee_type: 'internal' | 'external';
  payee_account_id: string | null;
  payee_sort_code: string;
  payee_account_number: string;
  /**
   * Its standing order was cancelled while the payment was `processing` (only such a payment outlives a
   * cancel): a claim of it now is after a failed call, and the payment must be voided, not made.
   */
  stopped: boolean;
  /**
   * This claim's id: only the sweep that claimed the payment last records its outcome (a sweep that
   * outlived its lock, whose payments another sweep claimed again, records nothing).
   */
  claim_id: string;
}

/** Columns of payments.payments as `p`, dates as text. */
export const PAYMENT_COLUMNS = `p.id, p.source, p.order_id, p.n, p.owner_id, p.from_account_id, p.payee_id,
  p.amount, p.currency, p.reference, p.due_date::text AS due_date, p.pay_on::text AS pay_on, p.status,
  p.attempts, p.next_attempt_at, p.transaction_id, p.failure_reason, p.late, p.settled_at, p.created_at,
  p.updated_at`;

/**
 * A payment as customers and staff read it: its row and, once staff reversed its ledger entry, that
 * reversal (payments.reversals, recorded from transaction.reversed). A reversed payment's row still says
 * `paid` (what the sweep did); it reads `reversed`.
 */
export interface PaymentReadRow extends PaymentRow {
  reversed_by_id: string | null;
  reversed_at: Date | null;
}

/** SELECT of PaymentReadRow (payments.payments as `p`); the caller adds WHERE and ORDER BY. */
export const PAYMENT_READ = `SELECT ${PAYMENT_COLUMNS}, r.reversal_id AS reversed_by_id, r.reversed_at
  FROM payments.payments p LEFT JOIN payments.reversals r ON r.transaction_id = p.transaction_id`;

/** The payment's one ledger key: derived from (order, due date), so it is the same on every attempt. */
export const ledgerKey = (p: Pick<PaymentRow, 'order_id' | 'due_date'>) =>
  `payment:${p.order_id}:${p.due_date}`;
