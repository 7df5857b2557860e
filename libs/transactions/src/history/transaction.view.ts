import { jsonAmount } from '@protobank/platform';

/** A transactions.entries row joined with what the views need. */
export interface EntryRow {
  id: string;
  kind: string;
  debit_account_id: string;
  credit_account_id: string;
  amount: string;
  currency: string;
  reference: string | null;
  merchant: string | null;
  category: string | null;
  reverses_id: string | null;
  reversed_by_id: string | null;
  created_at: Date;
}

export const ENTRY_SELECT = `
  e.id, e.kind, e.debit_account_id, e.credit_account_id, e.amount, e.currency, e.reference, e.merchant,
  e.category, e.reverses_id, r.id AS reversed_by_id, e.created_at`;
export const ENTRY_FROM = `transactions.entries e LEFT JOIN transactions.entries r ON r.reverses_id = e.id`;

export function entryView(e: EntryRow) {
  return {
    id: e.id,
    kind: e.kind,
    status: e.reversed_by_id ? 'reversed' : 'posted',
    amount: jsonAmount(e.amount),
    currency: e.currency,
    from_account_id: e.debit_account_id,
    to_account_id: e.credit_account_id,
    reference: e.reference,
    merchant: e.merchant,
    category: e.category,
    reverses_id: e.reverses_id,
    reversed_by_id: e.reversed_by_id,
    created_at: e.created_at.toISOString(),
  };
}
