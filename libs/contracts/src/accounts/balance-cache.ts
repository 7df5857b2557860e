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
  available_balance: string;
  version: string;
  as_of: string;
}
