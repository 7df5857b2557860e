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
  /**
   * The available balance, as transactions.available_balance computes it (the rule's one home:
   * libs/transactions/sql/available_balance_v01.sql); every read of a ledger row selects it.
   */
  available: string | number;
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

/** A ledger row as the API shows it; its available balance is the one SQL computed with the row. */
export function toState(row: LedgerAccountRow, asOf = new Date()): LedgerAccountState {
  return {
    account_id: row.id,
    owner_id: row.owner_id ?? '',
    currency: row.currency,
    status: row.status,
    balance: BigInt(row.balance),
    overdraft_limit: BigInt(row.overdraft_limit ?? 0),
    held: BigInt(row.held),
    available_balance: BigInt(row.available),
    version: BigInt(row.version),
    as_of: asOf.toISOString(),
  };
}

export { BALANCE_CACHE_TTL_SECONDS };
