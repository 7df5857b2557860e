import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { LOGGER, MetricsService } from '@protobank/platform';
import type { Logger } from 'pino';
import type { Gauge } from 'prom-client';
import { DataSource, type EntityManager } from 'typeorm';

const MAX_REPORTED = 100;

/**
 * Recomputes the ledger from its postings in one consistent snapshot: every entry has exactly its two
 * postings (debit and credit, the entry's amount, its currency, summing to zero), every account's balance
 * is the sum of its postings and every posting's balance_after the running sum, and every currency's
 * balances sum to zero (money is neither created nor lost), and every account's held amount is the sum
 * of what its active card holds still hold. Full scans: an operator's check, not a hot path.
 *
 * Every verification that completes (staff's, or the periodic one of LedgerVerifySchedule) sets the
 * ledger_verification_* gauges, and a mismatch is logged at error level. They appear with the first
 * result: a gauge reading 0 before any verification ran would look like a mismatch.
 */
@Injectable()
export class LedgerVerifyService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly metrics: MetricsService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Verifies the ledger; `signal` cancels the statement running (and the rest) when it aborts. */
  async verify(signal?: AbortSignal): Promise<LedgerVerification> {
    const started = process.hrtime.bigint();
    const result = await this.dataSource.transaction('REPEATABLE READ', async (m) => {
      await m.query('SET TRANSACTION READ ONLY');
      if (!signal) return this.check(m);
      const [{ pid }] = (await m.query('SELECT pg_backend_pid() AS pid')) as { pid: number }[];
      // The statement's server session (pinned for the transaction, behind PgBouncer too) is cancelled
      // from another connection; a statement that had not begun is refused by the check before it.
      const cancel = () =>
        void this.dataSource.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => undefined);
      signal.addEventListener('abort', cancel, { once: true });
      try {
        return await this.check(m, signal);
      } finally {
        signal.removeEventListener('abort', cancel);
      }
    });
    this.report(result, Number(process.hrtime.bigint() - started) / 1e9);
    return result;
  }

  private report(result: LedgerVerification, seconds: number): void {
    const gauge = (name: string, help: string): Gauge =>
      this.metrics.labelledGauge(name, help, [], () => undefined);
    gauge('ledger_verification_ok', 'Last ledger verification: 1 clean, 0 mismatches found').set(
      result.ok ? 1 : 0,
    );
    gauge(
      'ledger_verification_last_run_timestamp_seconds',
      'When the last ledger verification completed (Unix seconds)',
    ).set(Date.now() / 1000);
    gauge('ledger_verification_duration_seconds', 'How long the last ledger verification took').set(seconds);
    if (!result.ok) {
      this.logger.error(
        {
          mismatches: result.mismatches.length,
          first: result.mismatches.slice(0, 10),
          checked_accounts: result.checked_accounts,
          checked_entries: result.checked_entries,
        },
        'ledger verification found mismatches',
      );
    }
  }

  private async check(m: EntityManager, signal?: AbortSignal): Promise<LedgerVerification> {
    const query = (sql: string): Promise<unknown> => {
      signal?.throwIfAborted();
      return m.query(sql);
    };
    const [{ accounts, entries }] = (await query(
      `SELECT (SELECT count(*) FROM transactions.ledger_accounts)::int AS accounts,
                (SELECT count(*) FROM transactions.entries)::int AS entries`,
    )) as { accounts: number; entries: number }[];
    // Each entry: exactly two postings, -amount on its debit account and +amount on its credit account,
    // in the entry's currency, which is the currency of both accounts.
    const unbalanced = (await query(
      `SELECT e.id AS entry_id, e.currency, coalesce(sum(p.amount), 0)::text AS total
           FROM transactions.entries e
           LEFT JOIN transactions.postings p ON p.entry_id = e.id
           LEFT JOIN transactions.ledger_accounts a ON a.id = p.account_id
          GROUP BY e.id
         HAVING count(p.*) <> 2
             OR coalesce(sum(p.amount), 0) <> 0
             OR count(*) FILTER (WHERE p.account_id = e.debit_account_id AND p.amount = -e.amount) <> 1
             OR count(*) FILTER (WHERE p.account_id = e.credit_account_id AND p.amount = e.amount) <> 1
             OR bool_or(p.currency <> e.currency OR a.currency <> e.currency)
          LIMIT ${MAX_REPORTED}`,
    )) as { entry_id: string; currency: string; total: string }[];
    // Each account: its balance is the sum of its postings, and every posting's balance_after is the
    // running sum up to it (in the account's version order).
    const balances = (await query(
      `SELECT a.id AS account_id, a.balance::text AS actual, coalesce(s.total, 0)::text AS expected
           FROM transactions.ledger_accounts a
           LEFT JOIN (SELECT account_id, sum(amount) AS total FROM transactions.postings GROUP BY account_id) s
             ON s.account_id = a.id
          WHERE a.balance <> coalesce(s.total, 0)
          LIMIT ${MAX_REPORTED}`,
    )) as { account_id: string; actual: string; expected: string }[];
    const chains = (await query(
      `SELECT account_id, account_version::text, running::text AS expected, balance_after::text AS actual
           FROM (SELECT account_id, account_version, balance_after,
                        sum(amount) OVER (PARTITION BY account_id ORDER BY account_version) AS running
                   FROM transactions.postings) x
          WHERE balance_after <> running
          LIMIT ${MAX_REPORTED}`,
    )) as { account_id: string; account_version: string; expected: string; actual: string }[];
    // Each account: what it holds is what its active card holds have left.
    const held = (await query(
      `SELECT a.id AS account_id, a.held::text AS actual, coalesce(h.total, 0)::text AS expected
           FROM transactions.ledger_accounts a
           LEFT JOIN (SELECT account_id, sum(remaining) AS total FROM transactions.holds
                       WHERE status = 'active' GROUP BY account_id) h
             ON h.account_id = a.id
          WHERE a.held <> coalesce(h.total, 0)
          LIMIT ${MAX_REPORTED}`,
    )) as { account_id: string; actual: string; expected: string }[];
    const totals = (await query(
      `SELECT currency, sum(balance)::text AS total FROM transactions.ledger_accounts
          GROUP BY currency HAVING sum(balance) <> 0`,
    )) as { currency: string; total: string }[];
    const mismatches = [
      ...unbalanced.map((u) => ({
        type: 'entry_unbalanced',
        entry_id: u.entry_id,
        currency: u.currency,
        expected: '0',
        actual: u.total,
      })),
      ...balances.map((b) => ({
        type: 'account_balance',
        account_id: b.account_id,
        expected: b.expected,
        actual: b.actual,
      })),
      ...chains.map((c) => ({
        type: 'running_balance',
        account_id: c.account_id,
        account_version: c.account_version,
        expected: c.expected,
        actual: c.actual,
      })),
      ...held.map((h) => ({
        type: 'account_held',
        account_id: h.account_id,
        expected: h.expected,
        actual: h.actual,
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
  }
}

export interface LedgerVerification {
  ok: boolean;
  checked_accounts: number;
  checked_entries: number;
  mismatches: { type: string; [field: string]: string }[];
}
