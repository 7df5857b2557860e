import type { DataSource } from 'typeorm';
import { INTERNAL_TRANSFER } from '../events/movements';

export interface OutgoingRow {
  transaction_id: string;
  currency: string;
  amount: string;
  category: string;
  merchant: string | null;
  counterparty_id: string | null;
  kind: string;
  occurred_at: Date;
  /** Staff reversed it since (a reversal movement names it): the money came back. */
  reversed: boolean;
}

export interface PayeeRow {
  currency: string;
  merchant: string | null;
  counterparty_id: string | null;
  payments: number;
  months: string[];
  total: string;
  last_paid_at: Date;
}

/**
 * The `limit` largest single payments out per currency in [from, to) (instants), own-account transfers
 * and reversals aside (a reversal is the bank taking a payment back, not the customer paying: listing it
 * would name the original payer to the payee). A payment reversed since is listed, marked `reversed`: it
 * was made, and the customer sees the reversal beside it in their transactions.
 */
export function largestOutgoings(
  db: DataSource,
  userId: string,
  from: string,
  to: string,
  limit: number,
): Promise<OutgoingRow[]> {
  return db.query(
    `SELECT transaction_id, currency, amount::text AS amount, category, merchant, counterparty_id, kind, occurred_at,
            EXISTS (SELECT 1 FROM analytics.movements r WHERE r.reverses_id = ranked.transaction_id) AS reversed
       FROM (SELECT m.*, row_number() OVER (PARTITION BY currency
                                            ORDER BY amount DESC, occurred_at DESC, transaction_id) AS rank
               FROM analytics.movements m
              WHERE user_id = $1 AND direction = 'out' AND category <> $4 AND kind <> 'reversal'
                AND occurred_at >= $2::timestamptz AND occurred_at < $3::timestamptz) ranked
      WHERE rank <= $5
      ORDER BY currency, rank`,
    [userId, from, to, INTERNAL_TRANSFER, limit],
  );
}

/**
 * Payees (a merchant, or another customer) paid in at least two of the calendar months from
 * `monthsFrom`, or at least three times since `daysFrom`: standing payments worth knowing about.
 * Figures cover the wider of the two windows; at most `limit` per currency; reversals aside.
 */
export function recurringPayees(
  db: DataSource,
  userId: string,
  monthsFrom: string,
  daysFrom: string,
  limit: number,
): Promise<PayeeRow[]> {
  return db.query(
    `SELECT currency, merchant, counterparty_id, payments, months, total, last_paid_at
       FROM (SELECT currency, merchant, counterparty_id, count(*)::int AS payments,
                    array_agg(DISTINCT to_char(day, 'YYYY-MM'))
                      FILTER (WHERE occurred_at >= $2::timestamptz) AS months,
                    sum(amount)::text AS total, max(occurred_at) AS last_paid_at,
                    row_number() OVER (PARTITION BY currency
                                       ORDER BY sum(amount) DESC, max(occurred_at) DESC, merchant, counterparty_id) AS rank
               FROM analytics.movements
              WHERE user_id = $1 AND direction = 'out' AND category <> $4 AND kind <> 'reversal'
                AND (merchant IS NOT NULL OR counterparty_id IS NOT NULL)
                AND occurred_at >= least($2::timestamptz, $3::timestamptz)
              GROUP BY currency, merchant, counterparty_id
             HAVING count(DISTINCT to_char(day, 'YYYY-MM')) FILTER (WHERE occurred_at >= $2::timestamptz) >= 2
                 OR count(*) FILTER (WHERE occurred_at >= $3::timestamptz) >= 3) ranked
      WHERE rank <= $5
      ORDER BY currency, rank`,
    [userId, monthsFrom, daysFrom, INTERNAL_TRANSFER, limit],
  );
}
