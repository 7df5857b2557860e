import type { Currency, LedgerAccountState } from '@protobank/contracts';
import { BALANCE_CACHE_TTL_SECONDS, balanceCacheKey, type CachedBalance } from '@protobank/contracts';

/** A transactions.ledger_accounts row as pg returns it (bigint as strings). */
export interface LedgerAccountRow {
  id: string;
  kind: 'customer' | 'system';
  owner_id: string | null;
  currency: Currency;
  status: 'active' | 'frozen' | 'closed';
  overdraft_limit: string | number | null;
  balance: string | number;
  version: string | number;
}

export function toState(row: LedgerAccountRow, asOf = new Date()): LedgerAccountState {
  const balance = BigInt(row.balance);
  const limit = BigInt(row.overdraft_limit ?? 0);
  return {
    account_id: row.id,
    owner_id: row.owner_id ?? '',
    currency: row.currency,
    status: row.status,
    balance,
    overdraft_limit: limit,
    // Never negative: a limit lowered below what is owed leaves nothing to spend, not a debt to spend.
    available_balance: row.status === 'active' && balance + limit > 0n ? balance + limit : 0n,
    version: BigInt(row.version),
    as_of: asOf.toISOString(),
  };
}

export function cacheEntry(state: LedgerAccountState): { key: string; value: CachedBalance } {
  return {
    key: balanceCacheKey(state.account_id),
    value: {
      account_id: state.account_id,
      currency: state.currency,
      status: state.status,
      balance: state.balance.toString(),
      available_balance: state.available_balance.toString(),
      version: state.version.toString(),
      as_of: state.as_of,
    },
  };
}

export { BALANCE_CACHE_TTL_SECONDS };
