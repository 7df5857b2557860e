import {
  LEDGER_ENTRIES_MAX_PAGE,
  type EntryPosition,
  type LedgerEntry,
  type TransactionKind,
} from '@protobank/contracts';
import { AppError, jsonAmount } from '@protobank/platform';
import { isUUID } from 'class-validator';
import type { DataSource } from 'typeorm';

interface EntryEventRow {
  id: string;
  kind: TransactionKind;
  debit_account_id: string;
  debit_owner: string | null;
  credit_account_id: string;
  credit_owner: string | null;
  amount: string;
  currency: string;
  reference: string | null;
  merchant: string | null;
  category: string | null;
  reverses_id: string | null;
  created_at: Date;
}

function invalid(field: string, message: string) {
  return AppError.badRequest('validation_failed', `Invalid request: ${field}`, [{ field, message }]);
}

/**
 * A page of journal entries in (created_at, id) order, each as transaction.created carries it (the
 * same fields post_entry writes to the outbox; owners from the ledger rows, null for system accounts).
 * Walks the entries_created_idx index, so each page costs its own size, not the ledger's.
 */
export async function readEntries(
  dataSource: DataSource,
  after: EntryPosition | null,
  limit: number,
): Promise<LedgerEntry[]> {
  if (!Number.isInteger(limit) || limit < 1 || limit > LEDGER_ENTRIES_MAX_PAGE) {
    throw invalid('limit', `limit must be an integer from 1 to ${LEDGER_ENTRIES_MAX_PAGE}`);
  }
  if (after && (!isUUID(after.id) || Number.isNaN(Date.parse(after.created_at)))) {
    throw invalid('after', 'after must be the created_at and id of an entry');
  }
  const rows = (await dataSource.query(
    `SELECT e.id, e.kind, e.debit_account_id, d.owner_id AS debit_owner, e.credit_account_id,
            c.owner_id AS credit_owner, e.amount::text AS amount, e.currency, e.reference, e.merchant,
            e.category, e.reverses_id, e.created_at
       FROM transactions.entries e
       JOIN transactions.ledger_accounts d ON d.id = e.debit_account_id
       JOIN transactions.ledger_accounts c ON c.id = e.credit_account_id
      WHERE $1::timestamptz IS NULL OR (e.created_at, e.id) > ($1::timestamptz, $2::uuid)
      ORDER BY e.created_at, e.id
      LIMIT $3`,
    [after?.created_at ?? null, after?.id ?? null, limit],
  )) as EntryEventRow[];
  return rows.map((r) => ({
    transaction_id: r.id,
    kind: r.kind,
    from_account_id: r.debit_account_id,
    from_owner_id: r.debit_owner,
    to_account_id: r.credit_account_id,
    to_owner_id: r.credit_owner,
    amount: jsonAmount(r.amount),
    currency: r.currency,
    reference: r.reference,
    merchant: r.merchant,
    category: r.category,
    reverses_id: r.reverses_id,
    created_at: r.created_at.toISOString(),
  }));
}
