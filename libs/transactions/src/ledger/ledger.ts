import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  balanceCacheEntry,
  type Currency,
  type PaymentSource,
  type TransactionKind,
} from '@protobank/contracts';
import {
  AppError,
  IDEMPOTENCY_HEADER,
  LOGGER,
  MetricsService,
  type MoneyCounter,
  OutboxRelay,
  REPLAYED_HEADER,
  outboxHeaders,
  VersionedCache,
} from '@protobank/platform';
import { randomInt, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import { DataSource } from 'typeorm';
import { BALANCE_CACHE_TTL_SECONDS, toState, type LedgerAccountRow } from './ledger-rows';
import type { PostedStaffAction } from './staff-actions';

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

interface PostRow {
  outcome: string;
  http_status: number;
  entry_id: string | null;
  created_at: Date | null;
  accounts: LedgerAccountRow[] | null;
}

/** What the outbox event carries of the request that posted it (its id, caller and trace context). */
export function eventHeaders(): string {
  return outboxHeaders();
}

const MESSAGES: Record<string, string> = {
  account_closed: 'The account is closed',
  account_frozen: 'The account is frozen',
  currency_mismatch: 'The currency does not match the account',
  insufficient_funds: 'Insufficient funds: this would take the balance below its overdraft limit',
  already_reversed: 'The transaction has already been reversed',
  same_account: 'An account cannot pay itself',
  own_account: 'Staff cannot move money on their own accounts',
  idempotency_key_reused: `This ${IDEMPOTENCY_HEADER} was used with a different request`,
};

/**
 * The one way money moves: a two-leg journal entry posted by transactions.post_entry (one round trip,
 * one Postgres transaction; see migration AccountsAndLedger). After the commit it writes the new
 * balances to the cache (versioned: never over a newer one) before the caller answers, so a read after a
 * successful transfer never shows the old balance, and wakes this process's outbox relay.
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

  async post(req: PostRequest): Promise<Posted> {
    const [row] = (await this.dataSource.query(
      `SELECT * FROM transactions.post_entry($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
      [
        req.entryId ?? randomUUID(),
        req.kind,
        req.debit,
        req.credit,
        req.amount,
        req.currency,
        req.reference ?? null,
        req.merchant ?? null,
        req.category ?? null,
        req.reverses ?? null,
        req.initiatedBy,
        req.debitOwner ?? null,
        req.notOwner ?? null,
        req.allowFrozen ?? false,
        req.idempotency?.owner ?? null,
        req.idempotency?.key ?? null,
        req.idempotency?.fingerprint ?? null,
        eventHeaders(),
        req.staffAction ? JSON.stringify(req.staffAction) : null,
      ],
    )) as PostRow[];
    const replayed = row.outcome.startsWith('replayed:');
    const outcome = replayed ? row.outcome.slice('replayed:'.length) : row.outcome;
    this.entries.inc({ kind: req.kind, outcome: replayed ? 'replayed' : outcome });
    if (outcome === 'posted') {
      if (!replayed) {
        this.countPosted(req.kind, req.currency, req.amount);
        await this.afterCommit(row.accounts ?? []);
      }
      return { entryId: row.entry_id!, replayed, createdAt: row.created_at ?? undefined };
    }
    if (outcome === 'own_account' && !replayed && req.notOwner) {
      this.ownAccountRefused(req.notOwner, [req.debit, req.credit]);
    }
    const error = this.errorFor(outcome, row.http_status, req);
    if (replayed) error.withHeaders({ [REPLAYED_HEADER]: 'true' });
    throw error;
  }

  /**
   * Posts one payment through transactions.post_payment (migration LedgerPayments): post_entry under the
   * payer's key, a refusal not kept under it. A refusal is returned, not thrown: the caller maps it.
   */
  async postPayment(req: PaymentRequest): Promise<PaymentPosted> {
    const [row] = (await this.dataSource.query(
      `SELECT * FROM transactions.post_payment($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [
        randomUUID(),
        req.kind,
        req.owner,
        req.debit,
        req.credit,
        req.amount,
        req.currency,
        req.reference,
        req.merchant,
        req.key,
        req.fingerprint,
        eventHeaders(),
      ],
    )) as PostRow[];
    const replayed = row.outcome.startsWith('replayed:');
    const outcome = replayed ? row.outcome.slice('replayed:'.length) : row.outcome;
    this.entries.inc({ kind: req.kind, outcome: replayed ? 'replayed' : outcome });
    if (outcome === 'posted' && !replayed) {
      this.countPosted(req.kind, req.currency, req.amount);
      await this.afterCommit(row.accounts ?? []);
    }
    return {
      outcome,
      httpStatus: row.http_status,
      replayed,
      entryId: row.entry_id,
      createdAt: row.created_at,
    };
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

  /** After a commit that changed these rows and wrote to the outbox: wake the relay, update the cache. */
  async afterCommit(rows: LedgerAccountRow[]): Promise<void> {
    this.relay.kickSoon();
    await this.refreshCache(rows);
  }

  /** A staff member tried to act on their own account: refused, and worth a look (never audited: nothing changed). */
  ownAccountRefused(actorId: string, accountIds: string[]): void {
    this.logger.warn({ actor_id: actorId, account_ids: accountIds }, 'staff action on own account refused');
  }

  private errorFor(outcome: string, status: number, req: PostRequest): AppError {
    switch (outcome) {
      case 'debit_not_found':
        return new AppError(404, 'not_found', 'Account not found', [
          { field: req.fields.debit, message: 'no such account' },
        ]);
      case 'credit_not_found':
        return new AppError(404, 'not_found', 'Account not found', [
          { field: req.fields.credit, message: 'no such account' },
        ]);
      case 'currency_mismatch':
        return new AppError(status, outcome, MESSAGES[outcome], [
          { field: 'currency', message: 'both accounts must hold this currency' },
        ]);
      case 'same_account':
        return new AppError(status, outcome, MESSAGES[outcome], [
          { field: req.fields.credit, message: 'same account as the source' },
        ]);
      case 'idempotency_key_reused':
        return new AppError(status, outcome, MESSAGES[outcome], [
          { field: IDEMPOTENCY_HEADER, message: 'use a new key for a different request' },
        ]);
      default:
        return new AppError(status, outcome, MESSAGES[outcome] ?? outcome);
    }
  }
}
