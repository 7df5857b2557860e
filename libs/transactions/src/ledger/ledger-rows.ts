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
  version: string | number;
  /** Who froze the account (null when not frozen, or frozen before the ledger recorded it). */
  frozen_by?: string | null;
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

export { BALANCE_CACHE_TTL_SECONDS };
