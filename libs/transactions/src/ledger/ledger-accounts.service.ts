import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type {
  Currency,
  EntryPosition,
  LedgerAccountState,
  LedgerEntry,
  Statement,
  TransactionsApi,
} from '@protobank/contracts';
import { AppError } from '@protobank/platform';
import { DataSource } from 'typeorm';
import { Ledger } from './ledger';
import { readEntries } from './ledger-entries';
import { toState, type LedgerAccountRow } from './ledger-rows';

/** Most lines one statement carries; a longer period is asked for in parts. */
export const STATEMENT_MAX_LINES = 5000;

const COLUMNS = 'id, kind, owner_id, currency, status, overdraft_limit, balance, version';

/**
 * The ledger side of customer accounts, served to the accounts module through TRANSACTIONS_API:
 * opening, status and overdraft changes, closing, and states for display. Every change takes the
 * ledger row's lock (an UPDATE), so it is ordered with transfers: once a freeze has returned, no
 * transfer that has not already committed can move money on the account.
 */
@Injectable()
export class LedgerAccountsService implements TransactionsApi {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly ledger: Ledger,
  ) {}

  async openAccount(input: { account_id: string; owner_id: string; currency: Currency }) {
    await this.dataSource.query(
      `INSERT INTO transactions.ledger_accounts (id, kind, owner_id, currency, overdraft_limit)
       VALUES ($1, 'customer', $2, $3, 0) ON CONFLICT (id) DO NOTHING`,
      [input.account_id, input.owner_id, input.currency],
    );
    const [state] = await this.getStates([input.account_id]);
    if (!state || state.owner_id !== input.owner_id || state.currency !== input.currency) {
      throw AppError.conflict('account_exists', 'Another account has this id');
    }
    return state;
  }

  async getStates(accountIds: string[]): Promise<LedgerAccountState[]> {
    if (accountIds.length === 0) return [];
    const rows = (await this.dataSource.query(
      `SELECT ${COLUMNS} FROM transactions.ledger_accounts WHERE id = ANY($1::uuid[]) AND kind = 'customer'`,
      [accountIds],
    )) as LedgerAccountRow[];
    return rows.map((r) => toState(r));
  }

  setStatus(accountId: string, status: 'active' | 'frozen') {
    return this.change(accountId, `status = $2`, [status], `status <> 'closed'`);
  }

  setOverdraftLimit(accountId: string, limit: bigint) {
    if (limit < 0n) throw AppError.badRequest('validation_failed', 'overdraft_limit must not be negative');
    return this.change(accountId, `overdraft_limit = $2`, [limit.toString()], `status <> 'closed'`);
  }

  close(accountId: string) {
    return this.change(accountId, `status = 'closed'`, [], `status = 'active' AND balance = 0`);
  }

  async statement(accountId: string, from: string, to: string): Promise<Statement> {
    return this.dataSource.transaction('REPEATABLE READ', async (m) => {
      const [account] = (await m.query(
        `SELECT ${COLUMNS} FROM transactions.ledger_accounts WHERE id = $1 AND kind = 'customer'`,
        [accountId],
      )) as LedgerAccountRow[];
      if (!account) throw AppError.notFound('account');
      const [before] = (await m.query(
        `SELECT balance_after FROM transactions.postings
          WHERE account_id = $1 AND created_at < $2 ORDER BY account_version DESC LIMIT 1`,
        [accountId, from],
      )) as { balance_after: string }[];
      const lines = (await m.query(
        `SELECT p.entry_id, e.kind, e.reference, p.amount, p.balance_after, p.created_at
           FROM transactions.postings p JOIN transactions.entries e ON e.id = p.entry_id
          WHERE p.account_id = $1 AND p.created_at >= $2 AND p.created_at < $3
          ORDER BY p.account_version LIMIT ${STATEMENT_MAX_LINES + 1}`,
        [accountId, from, to],
      )) as {
        entry_id: string;
        kind: string;
        reference: string | null;
        amount: string;
        balance_after: string;
        created_at: Date;
      }[];
      if (lines.length > STATEMENT_MAX_LINES) {
        throw AppError.unprocessable(
          'statement_too_large',
          `More than ${STATEMENT_MAX_LINES} transactions in this period; ask for a shorter one`,
        );
      }
      const opening = BigInt(before?.balance_after ?? 0);
      return {
        account_id: accountId,
        currency: account.currency,
        opening_balance: opening,
        closing_balance: lines.length ? BigInt(lines[lines.length - 1].balance_after) : opening,
        lines: lines.map((l) => ({
          transaction_id: l.entry_id,
          kind: l.kind,
          reference: l.reference,
          amount: BigInt(l.amount),
          balance: BigInt(l.balance_after),
          created_at: l.created_at.toISOString(),
        })),
      };
    });
  }

  entries(after: EntryPosition | null, limit: number): Promise<LedgerEntry[]> {
    return readEntries(this.dataSource, after, limit);
  }

  /** Applies `set` under the row lock when `allowed` holds; otherwise says why not. */
  private async change(
    accountId: string,
    set: string,
    params: unknown[],
    allowed: string,
  ): Promise<LedgerAccountState> {
    const [rows] = (await this.dataSource.query(
      `UPDATE transactions.ledger_accounts SET ${set}, version = version + 1, updated_at = clock_timestamp()
        WHERE id = $1 AND kind = 'customer' AND ${allowed} RETURNING ${COLUMNS}`,
      [accountId, ...params],
    )) as [LedgerAccountRow[], number];
    if (rows.length) {
      await this.ledger.refreshCache(rows);
      return toState(rows[0]);
    }
    const [current] = await this.getStates([accountId]);
    if (!current) throw AppError.notFound('account');
    if (current.status === 'closed') throw AppError.conflict('account_closed', 'The account is closed');
    if (current.status === 'frozen') throw AppError.conflict('account_frozen', 'The account is frozen');
    throw AppError.conflict('balance_not_zero', 'Only an account with a zero balance can be closed');
  }
}
