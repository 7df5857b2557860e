import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AppError, LOGGER, MetricsService } from '@protobank/platform';
import type { Logger } from 'pino';
import type { Gauge } from 'prom-client';
import { randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';

const MAX_REPORTED = 100;

/**
 * Recomputes the ledger from its postings in one consistent snapshot: every entry has exactly its two
 * postings (debit and credit, the entry's amount, its currency, summing to zero), every account's balance
 * is the sum of its postings and every posting's balance_after the running sum, and every currency's
 * balances sum to zero (money is neither created nor lost), and every account's held amount is the sum
 * of what its active card holds still hold.
 *
 * Incrementally: a clean run records what it verified as a checkpoint (per account, the last posting's
 * version and balance_after; migration LedgerVerifyCheckpoints), in the same transaction, and the next
 * run reads only the postings and entries after it, plus one pass over the account rows (balances, held,
 * currency totals) and the active holds. A full run (mode 'full', or the first) reads everything; one
 * asked for only reads (the first records the checkpoint).
 *
 * Every verification that completes (staff's, or the periodic one: LedgerVerificationJobs) sets the
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

  /** The verification staff asked for over HTTP in this process, while it runs. */
  private asked = false;

  /**
   * A verification staff asked for over HTTP (GET /admin/ledger/verify): one at a time in a process,
   * another meanwhile is 409 verification_running with Retry-After. Each run holds a pooled connection
   * for as long as it takes (a full run at a million entries, a minute; an incremental one waits for the
   * run writing its checkpoint), and the postings draw on the same pool: unbounded, staff asking at once
   * would leave every transfer waiting (503) until they finish.
   */
  async verifyOnRequest(mode: LedgerVerifyMode): Promise<LedgerVerification> {
    if (this.asked) {
      throw AppError.conflict(
        'verification_running',
        'A ledger verification asked for here is still running; try again when it is done, or follow one in the background with POST /admin/ledger/verifications',
      ).withHeaders({ 'Retry-After': '5' });
    }
    this.asked = true;
    try {
      return await this.verify(undefined, mode);
    } finally {
      this.asked = false;
    }
  }

  /**
   * Verifies the ledger: from the newest checkpoint (`incremental`, a full run when there is none yet) or
   * from nothing (`full`). `signal` cancels the statement running (and the rest) when it aborts.
   */
  async verify(signal?: AbortSignal, mode: LedgerVerifyMode = 'incremental'): Promise<LedgerVerification> {
    const started = process.hrtime.bigint();
    const result = await this.dataSource.transaction('REPEATABLE READ', async (m) => {
      if (mode === 'incremental') {
        // Before the snapshot (LOCK takes none; the first query does): a run waits for the one writing
        // checkpoints, then sees its checkpoint. Reads and postings are not held up (EXCLUSIVE conflicts
        // only with writes to this table, which only these runs make). The wait is not cancelled by
        // `signal`: it lasts as long as the run ahead, which is short, and cancelled by its own.
        await m.query('LOCK TABLE transactions.ledger_checkpoints IN EXCLUSIVE MODE');
      } else {
        // A full run asked for only reads: it neither waits for the incremental runs nor holds them off
        // for as long as it takes (a minute at a million entries), and leaves their checkpoint as it is.
        await m.query('SET TRANSACTION READ ONLY');
      }
      // The planner cannot know how few postings follow a checkpoint, and would spend far longer
      // compiling an incremental run's queries (JIT) than running them (a full run gained nothing from it
      // either: 4.3-5.4 s without, 7.4 s with, at 250,000 entries).
      await m.query('SET LOCAL jit = off');
      // The snapshot is taken here; the time it is recorded at (the checkpoint's as_of) is not later.
      const [{ pid, as_of }] = (await m.query(
        `SELECT pg_backend_pid() AS pid,
                to_char(statement_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS as_of`,
      )) as { pid: number; as_of: string }[];
      if (!signal) return this.check(m, { started, asOf: as_of }, mode);
      // The statement's server session (pinned for the transaction, behind PgBouncer too) is cancelled
      // from another connection; a statement that had not begun is refused by the check before it.
      const cancel = () =>
        void this.dataSource.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => undefined);
      signal.addEventListener('abort', cancel, { once: true });
      try {
        return await this.check(m, { started, asOf: as_of }, mode, signal);
      } finally {
        signal.removeEventListener('abort', cancel);
      }
    });
    this.report(result, Number(process.hrtime.bigint() - started) / 1e9);
    return result;
  }

  private async check(
    m: EntityManager,
    at: Omit<Run, 'query'>,
    mode: LedgerVerifyMode,
    signal?: AbortSignal,
  ): Promise<LedgerVerification> {
    const query = (sql: string, params?: unknown[]): Promise<unknown> => {
      signal?.throwIfAborted();
      return m.query(sql, params);
    };
    const [since] =
      mode === 'full'
        ? []
        : ((await query(
            `SELECT id, to_char(as_of AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS as_of,
                    entries::text
               FROM transactions.ledger_checkpoints ORDER BY seq DESC LIMIT 1`,
          )) as Checkpoint[]);
    const run: Run = { query, ...at };
    // The first incremental run (no checkpoint yet) is a full one that records where it got to.
    const checked = since ? await this.incremental(run, since) : await this.full(run, mode === 'incremental');
    const ok = checked.mismatches.length === 0;
    return {
      ok,
      checked_accounts: checked.accounts,
      checked_entries: checked.entries,
      mismatches: checked.mismatches,
      mode: since ? 'incremental' : 'full',
      since: since?.as_of ?? null,
      new_entries: checked.newEntries,
      checkpointed: checked.checkpointed,
    };
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
          mode: result.mode,
          since: result.since,
        },
        'ledger verification found mismatches',
      );
    }
  }

  /**
   * The whole ledger, in the transaction's snapshot; when clean and `record`ing (the first incremental
   * run), the state it saw becomes the checkpoint.
   */
  private async full(run: Run, record: boolean): Promise<Checked> {
    const { query } = run;
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
         ${UNBALANCED}
          ORDER BY e.id LIMIT ${MAX_REPORTED}`,
    )) as Unbalanced[];
    // Each account: its balance is the sum of its postings, and every posting's balance_after is the
    // running sum up to it (in the account's version order).
    const balances = (await query(
      `SELECT a.id AS account_id, a.balance::text AS actual, coalesce(s.total, 0)::text AS expected
           FROM transactions.ledger_accounts a
           LEFT JOIN (SELECT account_id, sum(amount) AS total FROM transactions.postings GROUP BY account_id) s
             ON s.account_id = a.id
          WHERE a.balance <> coalesce(s.total, 0)
          ORDER BY a.id LIMIT ${MAX_REPORTED}`,
    )) as Balance[];
    const chains = (await query(
      `SELECT account_id, account_version::text, running::text AS expected, balance_after::text AS actual
           FROM (SELECT account_id, account_version, balance_after,
                        sum(amount) OVER (PARTITION BY account_id ORDER BY account_version) AS running
                   FROM transactions.postings) x
          WHERE balance_after <> running
          ORDER BY account_id, account_version LIMIT ${MAX_REPORTED}`,
    )) as Chain[];
    const checked = {
      accounts,
      entries,
      newEntries: entries,
      mismatches: [...unbalancedOf(unbalanced), ...balancesOf(balances), ...chainsOf(chains)],
      checkpointed: false,
    };
    const rest = await this.everyAccount(run);
    checked.mismatches.push(...rest);
    checked.checkpointed = record && checked.mismatches.length === 0;
    if (checked.checkpointed) {
      await this.checkpoint(run, undefined, checked, async (id) => {
        await query(`DELETE FROM transactions.ledger_checkpoint_accounts`);
        await query(
          `INSERT INTO transactions.ledger_checkpoint_accounts (account_id, version, balance, checkpoint_id)
           SELECT DISTINCT ON (account_id) account_id, account_version, balance_after, $1::uuid
             FROM transactions.postings ORDER BY account_id, account_version DESC`,
          [id],
        );
      });
    }
    return checked;
  }

  /**
   * What was posted since the checkpoint, in the transaction's snapshot: every posting with a version
   * above the account's checkpointed one (the balance_after chain continuing from the checkpointed
   * balance, ending at the account row's balance), every entry those postings belong to (and every entry
   * created since the checkpoint's snapshot, which finds one with no postings at all), and the checks
   * that read every account row anyway (held, currency totals, and the balance of each account with
   * nothing new: still the checkpointed one). When clean, the accounts with new postings move on.
   *
   * What it cannot see: a change to a posting or entry at or before the checkpoint. Checkpoints are
   * written only by clean runs, and postings and entries refuse UPDATE and DELETE (triggers), so that
   * takes disabling a trigger; the full run (mode=full) still finds it.
   */
  private async incremental(run: Run, since: Checkpoint): Promise<Checked> {
    const { query } = run;
    // Few rows out of large tables, which the planner cannot tell (the checkpointed versions are only
    // known as the rows are read: it guesses a third of each account's postings): left to choose, it
    // hashes or merges whole tables. Nested loops over the indexes read only what is new.
    for (const plan of ['enable_hashjoin', 'enable_mergejoin', 'enable_seqscan']) {
      await query(`SET LOCAL ${plan} = off`);
    }
    // Each account's postings past its checkpointed version (all of them for an account new since),
    // read from the primary key (account_id, account_version): OFFSET 0 keeps the planner from turning
    // the lateral subquery into a join over every posting.
    const fresh = `transactions.ledger_accounts a
           LEFT JOIN transactions.ledger_checkpoint_accounts c ON c.account_id = a.id
           JOIN LATERAL (SELECT p.* FROM transactions.postings p
                          WHERE p.account_id = a.id AND p.account_version > coalesce(c.version, 0)
                          OFFSET 0) p ON true`;
    const [{ accounts, new_entries }] = (await query(
      `SELECT (SELECT count(*) FROM transactions.ledger_accounts)::int AS accounts,
              (SELECT count(DISTINCT p.entry_id) FROM ${fresh})::int AS new_entries`,
    )) as { accounts: number; new_entries: number }[];
    // The entries of those postings, and any created since the checkpoint's snapshot (one with no
    // postings has nothing else to find it by), each checked as full() checks every entry. Entry by
    // entry (a lateral subquery with GROUP BY stays a loop): given the join, the planner reads every
    // entry, guessing that a third of all postings are new.
    const unbalanced = (await query(
      `WITH n AS MATERIALIZED (SELECT p.entry_id AS id FROM ${fresh}
                                 UNION
                                SELECT id FROM transactions.entries WHERE created_at >= $1::timestamptz)
       SELECT x.* FROM n
        CROSS JOIN LATERAL (
          SELECT e.id AS entry_id, e.currency, coalesce(sum(p.amount), 0)::text AS total
            FROM transactions.entries e
            LEFT JOIN transactions.postings p ON p.entry_id = e.id
            LEFT JOIN transactions.ledger_accounts a ON a.id = p.account_id
           WHERE e.id = n.id
           GROUP BY e.id
          ${UNBALANCED}) x
        ORDER BY x.entry_id LIMIT ${MAX_REPORTED}`,
      [since.as_of],
    )) as Unbalanced[];
    const balances = (await query(
      `SELECT a.id AS account_id, a.balance::text AS actual,
              (coalesce(c.balance, 0) + coalesce(n.total, 0))::text AS expected
           FROM transactions.ledger_accounts a
           LEFT JOIN transactions.ledger_checkpoint_accounts c ON c.account_id = a.id
           LEFT JOIN LATERAL (SELECT sum(p.amount) AS total FROM transactions.postings p
                               WHERE p.account_id = a.id AND p.account_version > coalesce(c.version, 0)) n ON true
          WHERE a.balance <> coalesce(c.balance, 0) + coalesce(n.total, 0)
          ORDER BY a.id LIMIT ${MAX_REPORTED}`,
    )) as Balance[];
    const chains = (await query(
      `SELECT account_id, account_version::text, running::text AS expected, balance_after::text AS actual
           FROM (SELECT a.id AS account_id, p.account_version, p.balance_after,
                        coalesce(c.balance, 0)
                          + sum(p.amount) OVER (PARTITION BY a.id ORDER BY p.account_version) AS running
                   FROM ${fresh}) x
          WHERE balance_after <> running
          ORDER BY account_id, account_version LIMIT ${MAX_REPORTED}`,
    )) as Chain[];
    const checked = {
      accounts,
      entries: Number(since.entries) + new_entries,
      newEntries: new_entries,
      mismatches: [...unbalancedOf(unbalanced), ...balancesOf(balances), ...chainsOf(chains)],
      checkpointed: false,
    };
    checked.mismatches.push(...(await this.everyAccount(run)));
    checked.checkpointed = checked.mismatches.length === 0;
    if (checked.checkpointed) {
      await this.checkpoint(run, since, checked, (id) =>
        query(
          `INSERT INTO transactions.ledger_checkpoint_accounts (account_id, version, balance, checkpoint_id)
           SELECT DISTINCT ON (a.id) a.id, p.account_version, p.balance_after, $1::uuid
             FROM ${fresh}
            ORDER BY a.id, p.account_version DESC
           ON CONFLICT (account_id) DO UPDATE
              SET version = excluded.version, balance = excluded.balance, checkpoint_id = excluded.checkpoint_id`,
          [id],
        ),
      );
    }
    return checked;
  }

  /** What both kinds of run check over every account row: held amounts and currency totals. */
  private async everyAccount({ query }: Run): Promise<Mismatch[]> {
    // Each account: what it holds is what its active card holds have left.
    const held = (await query(
      `SELECT a.id AS account_id, a.held::text AS actual, coalesce(h.total, 0)::text AS expected
           FROM transactions.ledger_accounts a
           LEFT JOIN (SELECT account_id, sum(remaining) AS total FROM transactions.holds
                       WHERE status = 'active' GROUP BY account_id) h
             ON h.account_id = a.id
          WHERE a.held <> coalesce(h.total, 0)
          ORDER BY a.id LIMIT ${MAX_REPORTED}`,
    )) as Balance[];
    // Each currency: its balances sum to zero (money is neither created nor lost).
    const totals = (await query(
      `SELECT currency, sum(balance)::text AS total FROM transactions.ledger_accounts
          GROUP BY currency HAVING sum(balance) <> 0 ORDER BY currency`,
    )) as { currency: string; total: string }[];
    return [
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
  }

  /** Records a clean run as the checkpoint the next one continues from; `accounts` writes its state. */
  private async checkpoint(
    { query, started, asOf }: Run,
    since: Checkpoint | undefined,
    checked: Checked,
    accounts: (id: string) => Promise<unknown>,
  ): Promise<void> {
    const id = randomUUID();
    await query(
      `INSERT INTO transactions.ledger_checkpoints
              (id, mode, previous_id, as_of, entries, new_entries, accounts, duration_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        id,
        since ? 'incremental' : 'full',
        since?.id ?? null,
        asOf,
        checked.entries,
        checked.newEntries,
        checked.accounts,
        Math.round(Number(process.hrtime.bigint() - started) / 1e6),
      ],
    );
    await accounts(id);
  }
}

/** An entry is unbalanced unless it has its two postings exactly (see full()). */
const UNBALANCED = `HAVING count(p.*) <> 2
             OR coalesce(sum(p.amount), 0) <> 0
             OR count(*) FILTER (WHERE p.account_id = e.debit_account_id AND p.amount = -e.amount) <> 1
             OR count(*) FILTER (WHERE p.account_id = e.credit_account_id AND p.amount = e.amount) <> 1
             OR bool_or(p.currency <> e.currency OR a.currency <> e.currency)`;

interface Unbalanced {
  entry_id: string;
  currency: string;
  total: string;
}
interface Balance {
  account_id: string;
  actual: string;
  expected: string;
}
interface Chain {
  account_id: string;
  account_version: string;
  expected: string;
  actual: string;
}
type Mismatch = LedgerVerification['mismatches'][number];

const unbalancedOf = (rows: Unbalanced[]): Mismatch[] =>
  rows.map((u) => ({
    type: 'entry_unbalanced',
    entry_id: u.entry_id,
    currency: u.currency,
    expected: '0',
    actual: u.total,
  }));
const balancesOf = (rows: Balance[]): Mismatch[] =>
  rows.map((b) => ({
    type: 'account_balance',
    account_id: b.account_id,
    expected: b.expected,
    actual: b.actual,
  }));
const chainsOf = (rows: Chain[]): Mismatch[] =>
  rows.map((c) => ({
    type: 'running_balance',
    account_id: c.account_id,
    account_version: c.account_version,
    expected: c.expected,
    actual: c.actual,
  }));

/** The newest checkpoint, as read in the run's snapshot. */
interface Checkpoint {
  id: string;
  as_of: string;
  entries: string;
}
interface Run {
  query: (sql: string, params?: unknown[]) => Promise<unknown>;
  started: bigint;
  /** When the run's snapshot was taken, at the latest (ISO), recorded as its checkpoint's as_of. */
  asOf: string;
}
interface Checked {
  accounts: number;
  entries: number;
  newEntries: number;
  mismatches: Mismatch[];
  checkpointed: boolean;
}

export type LedgerVerifyMode = 'incremental' | 'full';
export const LEDGER_VERIFY_MODES: readonly LedgerVerifyMode[] = ['incremental', 'full'];

export interface LedgerVerification {
  ok: boolean;
  /** Ledger accounts checked: every one, whichever the mode. */
  checked_accounts: number;
  /** Entries verified: up to the checkpoint (by earlier runs) and since (by this one). */
  checked_entries: number;
  mismatches: { type: string; expected: string; actual: string; [field: string]: string }[];
  mode: LedgerVerifyMode;
  /** The as_of of the checkpoint an incremental run continued from (null: a full run). */
  since: string | null;
  /** Entries this run read: those posted since the checkpoint (a full run: all). */
  new_entries: number;
  /** Whether this run became the checkpoint the next continues from (an incremental one does when clean). */
  checkpointed: boolean;
}
