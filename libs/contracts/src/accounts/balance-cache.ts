import type { LedgerAccountState } from '../transactions/transactions.contract';

/**
 * The balance cache, shared by its reader (accounts, GET /accounts/{id}/balance) and its writer
 * (transactions, after every posting). Entries are versioned by the ledger row's version and written
 * only over an older version, so a slow reader can never put back a balance older than one a posting
 * has already written.
 */
export const BALANCE_CACHE_TTL_SECONDS = 60;

export const balanceCacheKey = (accountId: string) => `balance:${accountId}`;

/** The JSON stored under balanceCacheKey; amounts as decimal strings (bigint-safe). */
export interface CachedBalance {
  account_id: string;
  currency: string;
  status: string;
  balance: string;
  /** Missing in entries written before card holds (they expire within the TTL): read as "0". */
  held?: string;
  available_balance: string;
  version: string;
  as_of: string;
}

/** A ledger state as the cache holds it, under its key (writers: postings and readers on a miss). */
export function balanceCacheEntry(state: LedgerAccountState): { key: string; value: CachedBalance } {
  return {
    key: balanceCacheKey(state.account_id),
    value: {
      account_id: state.account_id,
      currency: state.currency,
      status: state.status,
      balance: state.balance.toString(),
      held: state.held.toString(),
      available_balance: state.available_balance.toString(),
      version: state.version.toString(),
      as_of: state.as_of,
    },
  };
}
