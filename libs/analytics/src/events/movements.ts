import type { LedgerEntry, TransactionKind } from '@protobank/contracts';
import { todayIn } from '@protobank/platform';

export type Direction = 'in' | 'out';

/** One customer's side of a journal entry: money out of, or into, that customer's accounts. */
export interface Movement {
  transaction_id: string;
  user_id: string;
  direction: Direction;
  /** Minor units, above zero. */
  amount: number;
  currency: string;
  category: string;
  merchant: string | null;
  /** The customer on the other side; null for a system account (cash, card settlement, fees). */
  counterparty_id: string | null;
  kind: TransactionKind;
  /** For a reversal: the entry it reverses (insights mark that payment reversed). */
  reverses_id: string | null;
  occurred_at: string;
  /** The bank date of occurred_at (in BANK_TIME_ZONE), YYYY-MM-DD: the day statements put it on too. */
  day: string;
}

/** Money between two accounts of one customer: counted both ways, left out of spending insights. */
export const INTERNAL_TRANSFER = 'internal_transfer';

const DEFAULT_CATEGORY: Record<TransactionKind, string> = {
  transfer: 'transfers',
  deposit: 'deposits',
  reversal: 'reversals',
  card: 'card_payments',
  standing_order: 'standing_orders',
  scheduled_payment: 'scheduled_payments',
  fee: 'fees',
};

function clean(value: string | null): string | null {
  const v = value?.trim();
  return v ? v : null;
}

/**
 * The movements of a journal entry, the one mapping used by the consumer and the rebuild alike: an
 * `out` for the owner of the debited account and an `in` for the owner of the credited one, nothing
 * for a system side. An own-account transfer gives both, so a user's totals equal the debits and
 * credits of that user's accounts in the ledger. Days are bank days, in `timeZone` (BANK_TIME_ZONE).
 */
export function movementsOf(entry: LedgerEntry, timeZone: string): Movement[] {
  const internal = entry.from_owner_id !== null && entry.from_owner_id === entry.to_owner_id;
  const category = internal
    ? INTERNAL_TRANSFER
    : (clean(entry.category) ?? DEFAULT_CATEGORY[entry.kind] ?? entry.kind);
  const occurred = new Date(entry.created_at);
  const common = {
    transaction_id: entry.transaction_id,
    amount: entry.amount,
    currency: entry.currency,
    category,
    merchant: clean(entry.merchant),
    kind: entry.kind,
    reverses_id: entry.reverses_id ?? null,
    occurred_at: occurred.toISOString(),
    day: todayIn(timeZone, occurred),
  };
  const sides: Movement[] = [];
  if (entry.from_owner_id) {
    sides.push({
      ...common,
      user_id: entry.from_owner_id,
      direction: 'out',
      counterparty_id: entry.to_owner_id,
    });
  }
  if (entry.to_owner_id) {
    sides.push({
      ...common,
      user_id: entry.to_owner_id,
      direction: 'in',
      counterparty_id: entry.from_owner_id,
    });
  }
  return sides;
}
