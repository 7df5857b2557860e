import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { USERS_API, type UsersApi } from '@protobank/contracts';
import {
  AppConfig,
  AppError,
  assertMaySeeOwner,
  assertMaySeeOwners,
  isStaff,
  jsonAmount,
  pageOf,
  ALL_TIME,
  period,
  type Caller,
} from '@protobank/platform';
import { DataSource } from 'typeorm';
import type { Posted } from '../ledger/ledger';
import type { ListTransactionsQuery } from './transaction.dto';
import { ENTRY_FROM, ENTRY_SELECT, entryView, type EntryRow } from './transaction.view';

function decodeVersionCursor(cursor: string): string {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    const [v] = Array.isArray(parsed) && parsed.length === 1 ? (parsed as unknown[]) : [];
    if (typeof v === 'string' && /^\d{1,18}$/.test(v)) return v;
  } catch {
    /* falls through */
  }
  throw AppError.badRequest('validation_failed', 'Invalid request: cursor', [
    { field: 'cursor', message: 'cursor is not a cursor this API issued' },
  ]);
}

/**
 * Reading the ledger: one transaction, or one account's transactions newest first. A customer sees
 * the transactions of their own accounts only (anything else is 404); staff see customers' and their
 * own, an admin any. A staff member asking for a colleague's account's transactions, or for a
 * transaction that touched only colleagues' accounts, is refused 403 colleague_account
 * (assertMaySeeOwner); one between a customer and a colleague is the customer's too, and shown.
 */
@Injectable()
export class HistoryService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
    @Inject(USERS_API) private readonly users: UsersApi,
  ) {}

  async get(caller: Caller | null, id: string) {
    return (await this.withOwners(caller, id)).view;
  }

  /** As get(), with the owners of the entry's two accounts (null for a system account). */
  async withOwners(caller: Caller | null, id: string) {
    const [row] = (await this.dataSource.query(
      `SELECT ${ENTRY_SELECT}, d.owner_id AS debit_owner, c.owner_id AS credit_owner
         FROM ${ENTRY_FROM}
         JOIN transactions.ledger_accounts d ON d.id = e.debit_account_id
         JOIN transactions.ledger_accounts c ON c.id = e.credit_account_id
        WHERE e.id = $1`,
      [id],
    )) as (EntryRow & { debit_owner: string | null; credit_owner: string | null })[];
    const owners = row ? [row.debit_owner, row.credit_owner] : [];
    const visible = row && (!caller || isStaff(caller) || owners.includes(caller.user_id));
    if (!visible) throw AppError.notFound('transaction', 'id');
    // A staff member who is neither side sees an entry if a customer's account is one of its sides (or
    // none is a customer account at all: the bank's own); a colleague's on every customer side is 403.
    if (caller) {
      await assertMaySeeOwners(caller, owners, this.users, {
        resource_type: 'transaction',
        resource_id: id,
        viewed: 'transaction',
      });
    }
    return { view: entryView(row), debitOwner: row.debit_owner, creditOwner: row.credit_owner };
  }

  /**
   * The view of an entry just posted, from what was posted (no read back on the hot path); a replay
   * reads the stored entry.
   */
  async postedView(
    posted: Posted,
    e: {
      kind: string;
      debit: string;
      credit: string;
      amount: number;
      currency: string;
      reference: string | null;
      reverses: string | null;
      merchant?: string | null;
      category?: string | null;
    },
  ) {
    if (!posted.createdAt) return this.get(null, posted.entryId);
    return entryView({
      id: posted.entryId,
      kind: e.kind,
      debit_account_id: e.debit,
      credit_account_id: e.credit,
      amount: String(e.amount),
      currency: e.currency,
      reference: e.reference,
      merchant: e.merchant ?? null,
      category: e.category ?? null,
      reverses_id: e.reverses,
      reversed_by_id: null,
      created_at: posted.createdAt,
    });
  }

  /** The owner of a customer account; null for a system account or none. */
  async ownerOfAccount(id: string): Promise<string | null> {
    const [account] = (await this.dataSource.query(
      `SELECT owner_id FROM transactions.ledger_accounts WHERE id = $1 AND kind = 'customer'`,
      [id],
    )) as { owner_id: string }[];
    return account?.owner_id ?? null;
  }

  async list(caller: Caller, q: ListTransactionsQuery) {
    const owner = await this.ownerOfAccount(q.account_id);
    if (!owner || (!isStaff(caller) && owner !== caller.user_id)) {
      throw new AppError(404, 'not_found', 'Account not found', [
        { field: 'account_id', message: 'no such account of yours' },
      ]);
    }
    const { from, to } = period(q.from, q.to, ALL_TIME, this.config.bankTimeZone);
    const limit = q.limit ?? 20;
    const params: unknown[] = [q.account_id, from, to, limit + 1];
    let after = '';
    if (q.cursor) {
      params.push(decodeVersionCursor(q.cursor));
      after = `AND p.account_version < $5`;
    }
    // Once the request is known to be valid (its period and cursor), so that a 400 files no read.
    await assertMaySeeOwner(caller, owner, this.users, {
      resource_type: 'account',
      resource_id: q.account_id,
      viewed: 'transactions',
    });
    const rows = (await this.dataSource.query(
      `SELECT ${ENTRY_SELECT}, p.account_version, p.amount AS signed_amount, p.balance_after
         FROM transactions.postings p JOIN ${ENTRY_FROM} ON e.id = p.entry_id
        WHERE p.account_id = $1 AND p.created_at >= $2 AND p.created_at < $3 ${after}
        ORDER BY p.account_version DESC LIMIT $4`,
      params,
    )) as (EntryRow & { account_version: string; signed_amount: string; balance_after: string })[];
    return pageOf(
      rows,
      limit,
      (r) => ({
        ...entryView(r),
        direction: BigInt(r.signed_amount) < 0n ? ('debit' as const) : ('credit' as const),
        balance_after: jsonAmount(r.balance_after),
      }),
      (last) => Buffer.from(JSON.stringify([last.account_version])).toString('base64url'),
    );
  }
}
