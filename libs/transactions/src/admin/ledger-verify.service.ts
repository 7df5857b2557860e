import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';

const MAX_REPORTED = 100;

/**
 * Recomputes the ledger from its postings in one consistent snapshot: every entry's postings sum to zero
 * (per currency, at least two of them), every account's balance is the sum of its postings and equals
 * the balance after its last posting, and every currency's balances sum to zero (money is neither
 * created nor lost).
 */
@Injectable()
export class LedgerVerifyService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  verify() {
    return this.dataSource.transaction('REPEATABLE READ', async (m) => {
      await m.query('SET TRANSACTION READ ONLY');
      const [{ accounts, entries }] = (await m.query(
        `SELECT (SELECT count(*) FROM transactions.ledger_accounts)::int AS accounts,
                (SELECT count(*) FROM transactions.entries)::int AS entries`,
      )) as { accounts: number; entries: number }[];
      const unbalanced = (await m.query(
        `SELECT e.id AS entry_id, p.currency, coalesce(sum(p.amount), 0)::text AS total, count(p.*)::int AS legs
           FROM transactions.entries e LEFT JOIN transactions.postings p ON p.entry_id = e.id
          GROUP BY e.id, p.currency HAVING coalesce(sum(p.amount), 0) <> 0 OR count(p.*) < 2
          LIMIT ${MAX_REPORTED}`,
      )) as { entry_id: string; currency: string | null; total: string }[];
      const balances = (await m.query(
        `SELECT a.id AS account_id, a.balance::text AS actual, coalesce(s.total, 0)::text AS expected,
                coalesce(s.last_after, 0)::text AS last_after
           FROM transactions.ledger_accounts a
           LEFT JOIN (SELECT account_id, sum(amount) AS total,
                             (array_agg(balance_after ORDER BY account_version DESC))[1] AS last_after
                        FROM transactions.postings GROUP BY account_id) s ON s.account_id = a.id
          WHERE a.balance <> coalesce(s.total, 0) OR a.balance <> coalesce(s.last_after, 0)
          LIMIT ${MAX_REPORTED}`,
      )) as { account_id: string; actual: string; expected: string; last_after: string }[];
      const totals = (await m.query(
        `SELECT currency, sum(balance)::text AS total FROM transactions.ledger_accounts
          GROUP BY currency HAVING sum(balance) <> 0`,
      )) as { currency: string; total: string }[];
      const mismatches = [
        ...unbalanced.map((u) => ({
          type: 'entry_unbalanced',
          entry_id: u.entry_id,
          currency: u.currency ?? undefined,
          expected: '0',
          actual: u.total,
        })),
        ...balances.map((b) => ({
          type: 'account_balance',
          account_id: b.account_id,
          expected: b.expected,
          actual: b.actual,
        })),
        ...totals.map((t) => ({
          type: 'currency_total',
          currency: t.currency,
          expected: '0',
          actual: t.total,
        })),
      ];
      return {
        ok: mismatches.length === 0,
        checked_accounts: accounts,
        checked_entries: entries,
        mismatches,
      };
    });
  }
}
