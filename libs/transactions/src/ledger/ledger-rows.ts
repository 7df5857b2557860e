import type { Currency, LedgerAccountState } from '@protobank/contracts';
import { BALANCE_CACHE_TTL_SECONDS } from '@protobank/contracts';

/** A transactions.ledger_accounts row as pg returns it (bigint as strings). */
export interface LedgerAccountRow {
  id: string;
  kind: 'customer' | 'system';
  owner_id: string | null;
  currency: Currency;
  status: 'active' | 'frozen' | 'closed';
  overdraft_limit: string | number | null;
  balance: string | number;
  /** Sum of the account's active card holds (migration CardHolds). */
  held: string | number;
  version: string | number;
  /**
   * Who made the current freeze: read it through freezeAuthor. Left set after an unfreeze by an instance
   * of the release before authors were recorded (see migration 1763700000010).
   */
  frozen_by?: string | null;
}

/** Who froze the account: null when it is not frozen, or its freeze predates recorded authors. */
export const freezeAuthor = (row: LedgerAccountRow): string | null =>
  row.status === 'frozen' ? (row.frozen_by ?? null) : null;

/**
 * The one place available_balance is computed (the SQL that decides, post_entry and authorise_card,
 * applies the same rule under the row lock): balance - held + overdraft limit while active.
 */
export function toState(row: LedgerAccountRow, asOf = new Date()): LedgerAccountState {
  const balance = BigInt(row.balance);
  const held = BigInt(row.held);
  const limit = BigInt(row.overdraft_limit ?? 0);
  const spendable = balance - held + limit;
  return {
    account_id: row.id,
    owner_id: row.owner_id ?? '',
    currency: row.currency,
    status: row.status,
    balance,
    overdraft_limit: limit,
    held,
    // Never negative: a limit lowered below what is owed (or a clearing above its hold) leaves nothing to
    // spend, not a debt to spend.
    available_balance: row.status === 'active' && spendable > 0n ? spendable : 0n,
    version: BigInt(row.version),
    as_of: asOf.toISOString(),
  };
}

export { BALANCE_CACHE_TTL_SECONDS };
