import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  balanceCacheEntry,
  type Currency,
  type PaymentSource,
  type TransactionKind,
} from '@protobank/contracts';
import {
  LOGGER,
  MetricsService,
  type MoneyCounter,
  OutboxRelay,
  REPLAYED_HEADER,
  outboxHeaders,
  timeOrderedId,
  VersionedCache,
} from '@protobank/platform';
import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import { DataSource } from 'typeorm';
import { BALANCE_CACHE_TTL_SECONDS, toState, type LedgerAccountRow } from './ledger-rows';
import {
  batchCounters,
  ledgerBatchOptions,
  PostingBatcher,
  type BatchOutcome,
  type ItemOutcome,
  type PostingItem,
} from './posting-batcher';
import { isPostingOutcome, refusalError, refusalStatus, type PostingOutcome } from './posting-outcomes';
import type { PostedStaffAction } from './staff-actions';
import { TransactionsConfig } from '../transactions.config';

export interface PostRequest {
  kind: TransactionKind;
  debit: string;
  credit: string;
  amount: number;
  currency: Currency;
  reference?: string | null;
  merchant?: string | null;
  category?: string | null;
  reverses?: string | null;
  initiatedBy: string | null;
  /** When set, the debit account must belong to this user (a customer spending their own money). */
  debitOwner?: string | null;
  /** Neither account may belong to this user (staff never move money on their own accounts). */
  notOwner?: string | null;
  /** Staff reversals may move money on a frozen account. */
  allowFrozen?: boolean;
  idempotency?: { owner: string; key: string; fingerprint: string };
  /** The entry's id; a fresh one when not given (a staff action names it in its audit entry). */
  entryId?: string;
  /** A staff action (deposit, reversal): reported to the audit trail with the entry, in its transaction. */
  staffAction?: PostedStaffAction;
  /** Request field names for errors about the debit and credit accounts. */
  fields: { debit: string; credit: string };
}

/** The bank's own accounts, each sharded per currency (see systemAccount). */
export type SystemAccountCode = 'cash' | 'card_settlement' | 'fees' | 'outbound_clearing';

/** One payment of a standing order or scheduled payment, for transactions.post_payment. */
export interface PaymentRequest {
  kind: PaymentSource;
  /** The payer: owns the debit account and the idempotency key. */
  owner: string;
  debit: string;
  credit: string;
  amount: number;
  currency: Currency;
  reference: string;
  merchant: string | null;
  key: string;
  fingerprint: string;
}

/** What post_payment decided: posted (now or before, `replayed`), or a refusal or error code. */
export interface PaymentPosted {
  outcome: string;
  httpStatus: number;
  replayed: boolean;
  entryId: string | null;
  /** The entry's time when posted, replayed or not. */
  createdAt: Date | null;
}

export interface Posted {
  entryId: string;
  replayed: boolean;
  /** Set when freshly posted (not on replay). */
  createdAt?: Date;
}

/** What the outbox event carries of the request that posted it (its id, caller and trace context). */
export function eventHeaders(): string {
  return outboxHeaders();
}

/**
 * What a payment's key is kept under: a space cannot occur in an Idempotency-Key header (1-255 visible
 * ASCII characters), so a customer's own request can never claim, or collide with, the key of one of
 * their payments. Payment keys are kept for good (see migration LedgerPayments).
 */
const PAYMENT_KEY_PREFIX = 'payment ';

/**
 * The one way money moves: a two-leg journal entry, posted as an item of a batch by
 * transactions.post_entries (libs/transactions/sql/post_entries_v04.sql: the posting rules), through
 * this process's PostingBatcher (group commit: the postings that arrive while batches run share the
 * next one's transaction and commit). After a batch commits it writes the new balances to the cache
 * (versioned: never over a newer one) before any caller answers, so a read after a successful transfer
 * never shows the old balance, and wakes this process's outbox relay. Outcomes come back as facts and
 * are answered here (posting-outcomes.ts).
 */
@Injectable()
export class Ledger {
  /** "code:currency" -> the ids of that system account's shards. */
  private systemShards?: Promise<Map<string, string[]>>;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly cache: VersionedCache,
    private readonly relay: OutboxRelay,
    @Inject(LOGGER) private readonly logger: Logger,
    metrics: MetricsService,
    config: TransactionsConfig,
  ) {
    this.entries = metrics.counter(
      'ledger_entries_total',
      'Journal entries asked for, by kind and outcome (posted, replayed, or the refusal code)',
      ['kind', 'outcome'],
    );
    this.amounts = metrics.moneyCounter(
      'ledger_amount_minor_total',
      'Money posted by the ledger, in minor units, by entry kind and currency (counted after the commit)',
      ['kind', 'currency'],
    );
    const counted = batchCounters(metrics, 'ledger', 'Postings');
    this.batcher = new PostingBatcher<LedgerAccountRow>(ledgerBatchOptions(config), {
      run: (items) => this.runBatch(items),
      committed: async (accounts, size) => {
        counted.committed(size);
        if (accounts.length === 0) return;
        // The batch has committed whatever happens here (refreshCache handles Redis itself): anything
        // else is logged, and those accounts' cached balances may be stale until their TTL.
        await this.afterCommit(accounts).catch((err: unknown) =>
          this.logger.error({ err, items: size }, 'posting batch committed; its after-commit work failed'),
        );
      },
      failed: (err, size) => {
        counted.failed();
        this.logger.warn({ err, items: size }, 'posting batch failed; its items are retried one by one');
      },
    });
    metrics.gauge('ledger_postings_waiting', 'Postings waiting for a batch', () => this.batcher.waiting);
  }

  private readonly batcher: PostingBatcher<LedgerAccountRow>;

  private async runBatch(items: PostingItem[]): Promise<BatchOutcome<LedgerAccountRow>> {
    const [row] = (await this.dataSource.query(`SELECT transactions.post_entries($1::jsonb) AS result`, [
      JSON.stringify(items),
    ])) as { result: BatchOutcome<LedgerAccountRow> }[];
    return row.result;
  }

  private readonly entries: Counter<'kind' | 'outcome'>;
  private readonly amounts: MoneyCounter<'kind' | 'currency'>;

  /** Counts a committed entry's amount (never a replay: its money moved the first time). */
  countPosted(kind: TransactionKind, currency: string, amount: number | bigint): void {
    this.amounts.add({ kind, currency }, amount);
  }

  /**
   * One shard of a system account, at random: concurrent postings to a busy system account (every
   * deposit touches cash) lock different rows, so they do not queue behind one another. The shard ids
   * are read once, on first use (not at boot, so an app whose migrations are pending still starts and
   * reports not ready).
   */
  async systemAccount(code: SystemAccountCode, currency: Currency): Promise<string> {
    let shards = (await this.shards()).get(`${code}:${currency}`);
    if (!shards?.length) {
      // Read before a migration added it (an app starts while its migrations are pending): read again.
      this.systemShards = undefined;
      shards = (await this.shards()).get(`${code}:${currency}`);
    }
    if (!shards?.length) throw new Error(`no system account ${code} in ${currency}`);
    return shards[randomInt(shards.length)];
  }

  private shards(): Promise<Map<string, string[]>> {
    this.systemShards ??= this.loadSystemShards().catch((err: unknown) => {
      this.systemShards = undefined;
      throw err;
    });
    return this.systemShards;
  }

  private async loadSystemShards(): Promise<Map<string, string[]>> {
    const rows = (await this.dataSource.query(
      `SELECT id, system_code, currency FROM transactions.ledger_accounts WHERE kind = 'system' ORDER BY shard`,
    )) as { id: string; system_code: string; currency: string }[];
    const map = new Map<string, string[]>();
    for (const r of rows) {
      const key = `${r.system_code}:${r.currency}`;
      map.set(key, [...(map.get(key) ?? []), r.id]);
    }
    return map;
  }

  /** Which of the bank's own accounts this is (`outbound_clearing`, `cash`…), or null for a customer's. */
  async systemCodeOf(accountId: string): Promise<SystemAccountCode | null> {
    const rows = (await this.dataSource.query(
      `SELECT system_code FROM transactions.ledger_accounts WHERE id = $1 AND kind = 'system'`,
      [accountId],
    )) as { system_code: SystemAccountCode }[];
    return rows[0]?.system_code ?? null;
  }

  /** Whether the ledger holds a decision for this key and this very request (a retry will replay it). */
  async decidedBefore(owner: string, key: string, fingerprint: string): Promise<boolean> {
    const rows = (await this.dataSource.query(
      `SELECT 1 FROM transactions.idempotency_keys WHERE owner_id = $1 AND key = $2 AND request_hash = $3`,
      [owner, key, fingerprint],
    )) as unknown[];
    return rows.length > 0;
  }

  async post(req: PostRequest): Promise<Posted> {
    const result = await this.batcher.post({
      ...this.item(req.kind, req.debit, req.credit, req.amount, req.currency),
      entry_id: req.entryId ?? timeOrderedId(),
      reference: req.reference ?? null,
      merchant: req.merchant ?? null,
      category: req.category ?? null,
      reverses: req.reverses ?? null,
      initiated_by: req.initiatedBy,
      debit_owner: req.debitOwner ?? null,
      not_owner: req.notOwner ?? null,
      allow_frozen: req.allowFrozen ?? false,
      idem_owner: req.idempotency?.owner ?? null,
      idem_key: req.idempotency?.key ?? null,
      request_hash: req.idempotency?.fingerprint ?? null,
      forget_refusal: false,
      staff_action: req.staffAction ? { ...req.staffAction } : null,
    });
    const outcome = this.decided(req.kind, req.currency, req.amount, result);
    if (outcome === 'posted') {
      return {
        entryId: result.entry_id!,
        replayed: result.replayed,
        // A replay is answered from the stored entry (postedView reads it back): the request repeated may
        // differ from the one that posted it where the key allows (a cash shard picked at random), and
        // the entry may have been reversed since.
        createdAt: result.created_at && !result.replayed ? new Date(result.created_at) : undefined,
      };
    }
    if (outcome === 'own_account' && !result.replayed && req.notOwner) {
      this.ownAccountRefused(req.notOwner, [req.debit, req.credit]);
    }
    const error = refusalError(outcome, req.fields);
    if (result.replayed) error.withHeaders({ [REPLAYED_HEADER]: 'true' });
    throw error;
  }

  /**
   * Posts one payment of a standing order or scheduled payment: debited from the payer's own account
   * (owner), initiated by them, under the payer's key PAYMENT_KEY_PREFIX + key with the payment's
   * fingerprint, so a repeated call replays the posted entry (with its time) and the same key with
   * another payment is idempotency_key_reused. Unlike a transfer's key, a refusal is not kept: a payment
   * is retried on a schedule (after insufficient funds, a freeze lifted) and each attempt is decided on
   * the account as it is then (a concurrent attempt still waits on the key, then replays the posting or
   * is decided anew). A refusal is returned, not thrown: the caller maps it (payment-outcomes.ts); a
   * closed account is the payer's (account_closed) or the payee's (payee_account_closed).
   */
  async postPayment(req: PaymentRequest): Promise<PaymentPosted> {
    const result = await this.batcher.post({
      ...this.item(req.kind, req.debit, req.credit, req.amount, req.currency),
      entry_id: timeOrderedId(),
      reference: req.reference,
      merchant: req.merchant,
      category: null,
      reverses: null,
      initiated_by: req.owner,
      debit_owner: req.owner,
      not_owner: null,
      allow_frozen: false,
      idem_owner: req.owner,
      idem_key: PAYMENT_KEY_PREFIX + req.key,
      request_hash: req.fingerprint,
      forget_refusal: true,
      staff_action: null,
    });
    const outcome = this.decided(req.kind, req.currency, req.amount, result);
    if (outcome === 'idempotency_key_reused' && (await this.voided(req.owner, req.key))) {
      return { outcome: 'voided', httpStatus: 0, replayed: false, entryId: null, createdAt: null };
    }
    return {
      outcome: outcome === 'credit_account_closed' ? 'payee_account_closed' : outcome,
      httpStatus: outcome === 'posted' ? 201 : refusalStatus(outcome),
      replayed: result.replayed,
      entryId: result.entry_id,
      createdAt: result.created_at ? new Date(result.created_at) : null,
    };
  }

  /**
   * Spends a payment's key unless it posted (TransactionsApi.voidPayment): the entry it posted, or null
   * when nothing ever will be under it. The INSERT claims the key as post_entries does, so it waits for a
   * posting that holds the key uncommitted; a refusal that posting forgets (deletes) leaves the key free,
   * and this takes it. The read is a statement of its own, so it sees what that posting committed.
   */
  async voidPayment(owner: string, key: string): Promise<{ entryId: string; createdAt: Date } | null> {
    const idemKey = PAYMENT_KEY_PREFIX + key;
    await this.dataSource.query(
      `INSERT INTO transactions.idempotency_keys (owner_id, key, request_hash, outcome)
       VALUES ($1, $2, 'voided', 'voided') ON CONFLICT DO NOTHING`,
      [owner, idemKey],
    );
    const [row] = (await this.dataSource.query(
      `SELECT ik.outcome, ik.entry_id, e.created_at FROM transactions.idempotency_keys ik
         LEFT JOIN transactions.entries e ON e.id = ik.entry_id
        WHERE ik.owner_id = $1 AND ik.key = $2`,
      [owner, idemKey],
    )) as { outcome: string | null; entry_id: string | null; created_at: Date | null }[];
    if (row?.outcome === 'posted' && row.entry_id && row.created_at) {
      return { entryId: row.entry_id, createdAt: row.created_at };
    }
    return null;
  }

  /** Whether the payment key was voided (voidPayment), rather than used by another payment. */
  private async voided(owner: string, key: string): Promise<boolean> {
    const rows = (await this.dataSource.query(
      `SELECT 1 FROM transactions.idempotency_keys WHERE owner_id = $1 AND key = $2 AND request_hash = 'voided'`,
      [owner, PAYMENT_KEY_PREFIX + key],
    )) as unknown[];
    return rows.length > 0;
  }

  /** The fields every posting item has the same way: the accounts, the money, the event headers. */
  private item(
    kind: TransactionKind,
    debit: string,
    credit: string,
    amount: number,
    currency: Currency,
  ): Pick<PostingItem, 'kind' | 'debit' | 'credit' | 'amount' | 'currency' | 'ignore_funds' | 'headers'> {
    return {
      kind,
      debit,
      credit,
      amount: String(amount),
      currency,
      ignore_funds: false,
      headers: JSON.parse(eventHeaders()) as Record<string, unknown>,
    };
  }

  /** Counts an item's outcome (and a fresh posting's amount), and checks it is one the ledger has. */
  private decided(
    kind: TransactionKind,
    currency: Currency,
    amount: number,
    result: ItemOutcome,
  ): PostingOutcome {
    if (!isPostingOutcome(result.outcome)) throw new Error(`post_entries answered ${result.outcome}`);
    this.entries.inc({ kind, outcome: result.replayed ? 'replayed' : result.outcome });
    if (result.outcome === 'posted' && !result.replayed) this.countPosted(kind, currency, amount);
    return result.outcome;
  }

  /**
   * Writes the new balances to the cache. When Redis refuses the write (full, read-only after a
   * failover) the old entries are deleted instead, so readers go to the ledger; only when Redis takes
   * neither can a cached balance be stale, until its TTL, and that is logged as an error.
   */
  async refreshCache(rows: LedgerAccountRow[]): Promise<void> {
    const now = new Date();
    const entries = rows.filter((r) => r.kind === 'customer').map((r) => balanceCacheEntry(toState(r, now)));
    try {
      await this.cache.setIfNewer(entries, BALANCE_CACHE_TTL_SECONDS);
    } catch (err) {
      try {
        await this.cache.delete(entries.map((e) => e.key));
        this.logger.warn({ err }, 'balance cache not updated; entries dropped instead');
      } catch (again) {
        this.logger.error(
          { err: again },
          'balance cache neither updated nor dropped: reads may be stale until its TTL',
        );
      }
    }
  }

  /** After a commit that wrote to the outbox: wake this process's relay. */
  eventsCommitted(): void {
    this.relay.kickSoon();
  }

  /** After a commit that changed these rows and wrote to the outbox: wake the relay, update the cache. */
  async afterCommit(rows: LedgerAccountRow[]): Promise<void> {
    this.eventsCommitted();
    await this.refreshCache(rows);
  }

  /** A staff member tried to act on their own account: refused, and worth a look (never audited: nothing changed). */
  ownAccountRefused(actorId: string, accountIds: string[]): void {
    this.logger.warn(
      { security_event: 'own_account_refused', actor_id: actorId, account_ids: accountIds },
      'staff action on own account refused',
    );
  }
}
