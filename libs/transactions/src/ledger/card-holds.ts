import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type {
  CardClearing,
  CardHold,
  CardClearingResult,
  CardHoldDeclineReason,
  CardHoldRequest,
  CardHoldResult,
  CardHoldStatus,
  CardRefund,
  CardRefundResult,
  Currency,
  HoldRelease,
  HoldReleaseResult,
} from '@protobank/contracts';
import { AppConfig, AppError, LOGGER, MetricsService, timeOrderedId } from '@protobank/platform';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import { DataSource } from 'typeorm';
import {
  assertClearing,
  assertExpiredPage,
  assertHoldRequest,
  assertRefund,
  assertRelease,
  cardPostingFingerprint,
} from './card-hold-shapes';
import { eventHeaders, Ledger } from './ledger';
import type { LedgerAccountRow } from './ledger-rows';
import { batchCounters, ledgerBatchOptions, PostingBatcher } from './posting-batcher';
import { TransactionsConfig } from '../transactions.config';

const DECLINES: readonly string[] = [
  'insufficient_funds',
  'limit_exceeded',
  'card_blocked',
  'card_cancelled',
  'currency_not_supported',
] satisfies CardHoldDeclineReason[];

const CLEARING_REFUSALS: readonly string[] = [
  'account_closed',
  'account_not_found',
  'currency_mismatch',
  'hold_not_found',
];

const keyReused = () =>
  new AppError(
    422,
    'idempotency_key_reused',
    'This network transaction id was used for a different card payment',
    [
      {
        field: 'network_transaction_id',
        message: 'a repeat must name the same card, account, amount and currency',
      },
    ],
  );

/** What the card functions answer for a posting (clear_card, refund_card). */
interface CardPostRow {
  outcome: string;
  entry_id: string | null;
  created_at: string | null;
  forced?: boolean | null;
  replayed: boolean;
}

interface AuthoriseRow {
  outcome: string;
  hold_id: string | null;
  replayed: boolean;
}

interface ReleaseRow {
  status: CardHoldStatus | 'key_reused' | null;
  remaining: string | null;
  released: string | null;
}

/** One item of transactions.card_calls: the call and its function's arguments (card_calls_v02.sql). */
type CardCall = { call: 'authorise' | 'clear' | 'refund' | 'release' } & Record<string, unknown>;
type CardCallRow = CardPostRow | AuthoriseRow | ReleaseRow;

/** The arguments an authorisation, a clearing and a refund share, as card_calls takes them. */
const paymentArgs = (p: CardHoldRequest | CardClearing | CardRefund) => ({
  network_transaction_id: p.network_transaction_id,
  account: p.account_id,
  owner: p.owner_id,
  amount: p.amount.toString(),
  currency: p.currency,
  merchant_name: p.merchant_name,
  category: p.category,
});

/**
 * Card holds in the ledger (migration CardHolds): the card network's authorisations, clearings,
 * reversals and refunds, each one call of its SQL function, so the decision and the change happen under
 * the account's row lock. The calls go as batches (group commit, as postings do: a PostingBatcher of
 * their own, sized by the same LEDGER_BATCH_* settings): those that arrive while the batch slots are
 * busy share one transaction and commit, run in arrival order by transactions.card_calls. After a
 * commit the batch writes the rows it changed to the balance cache before any call answers, and a
 * new posting wakes the relay, as postings do.
 */
@Injectable()
export class CardHolds {
  private readonly decisions: Counter<'call' | 'outcome'>;
  private readonly batcher: PostingBatcher<LedgerAccountRow, CardCall, CardCallRow>;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly ledger: Ledger,
    private readonly config: AppConfig,
    @Inject(LOGGER) logger: Logger,
    metrics: MetricsService,
    ledgerConfig: TransactionsConfig,
  ) {
    this.decisions = metrics.counter(
      'ledger_card_calls_total',
      'Card network calls the ledger decided, by call (authorise, clear, release, refund) and outcome',
      ['call', 'outcome'],
    );
    const counted = batchCounters(metrics, 'ledger_card', 'Card network calls');
    this.batcher = new PostingBatcher<LedgerAccountRow, CardCall, CardCallRow>(
      ledgerBatchOptions(ledgerConfig),
      {
        run: async (items) => {
          const [row] = (await this.dataSource.query(`SELECT transactions.card_calls($1::jsonb) AS result`, [
            JSON.stringify(await this.settledOnOneShard(items)),
          ])) as { result: { items: CardCallRow[]; accounts: LedgerAccountRow[] } }[];
          return row.result;
        },
        // Before any caller hears: a read after an answer never shows the balance from before it.
        committed: async (accounts, size) => {
          counted.committed(size);
          await this.ledger.refreshCache(accounts);
        },
        failed: (err, size) => {
          counted.failed();
          logger.warn({ err, items: size }, 'card call batch failed; its calls are run one by one');
        },
      },
    );
    metrics.gauge(
      'ledger_card_calls_waiting',
      'Card network calls waiting for a batch',
      () => this.batcher.waiting,
    );
  }

  /**
   * The batch's clearings and refunds, each on the card_settlement shard of its currency picked once for
   * the batch: a batch locks every row it names before it starts, so a shard picked per call would have
   * each batch in flight lock most of them and wait for the other (measured: a quarter fewer clearings a
   * second).
   */
  private async settledOnOneShard(items: CardCall[]): Promise<CardCall[]> {
    const shards = new Map<Currency, string>();
    for (const item of items) {
      const currency = item.currency as Currency;
      if ((item.call === 'clear' || item.call === 'refund') && !shards.has(currency)) {
        shards.set(currency, await this.ledger.systemAccount('card_settlement', currency));
      }
    }
    return items.map((item) =>
      item.call === 'clear' || item.call === 'refund'
        ? { ...item, settlement: shards.get(item.currency as Currency) }
        : item,
    );
  }

  async authorise(r: CardHoldRequest): Promise<CardHoldResult> {
    assertHoldRequest(r);
    const row = (await this.batcher.post({
      call: 'authorise',
      hold_id: r.hold_id,
      card_id: r.card_id,
      ...paymentArgs(r),
      daily_limit: r.daily_limit?.toString() ?? null,
      monthly_limit: r.monthly_limit?.toString() ?? null,
      expires_at: r.expires_at,
      time_zone: this.config.bankTimeZone,
    })) as AuthoriseRow;
    this.decisions.inc({ call: 'authorise', outcome: row.replayed ? 'replayed' : row.outcome });
    if (row.outcome === 'approved') {
      return { approved: true, hold_id: row.hold_id!, replayed: row.replayed };
    }
    if (DECLINES.includes(row.outcome)) {
      return {
        approved: false,
        decline_reason: row.outcome as CardHoldDeclineReason,
        replayed: row.replayed,
      };
    }
    if (row.outcome === 'hold_id_reused') {
      throw AppError.conflict('hold_id_reused', 'This hold id belongs to another network transaction');
    }
    throw new Error(`authorise_card answered ${row.outcome}`);
  }

  async clear(c: CardClearing): Promise<CardClearingResult> {
    assertClearing(c);
    const row = (await this.batcher.post({
      call: 'clear',
      entry_id: timeOrderedId(),
      hold_id: c.hold_id,
      card_id: c.card_id,
      ...paymentArgs(c),
      request_hash: cardPostingFingerprint('card-clearing', c),
      headers: JSON.parse(eventHeaders()) as Record<string, unknown>,
    })) as CardPostRow;
    const posted = await this.posted('clear', row, c);
    if (posted) return { ...posted, forced: row.forced === true };
    if (CLEARING_REFUSALS.includes(row.outcome)) {
      return {
        refused: row.outcome as
          'account_closed' | 'account_not_found' | 'currency_mismatch' | 'hold_not_found',
      };
    }
    if (row.outcome === 'idempotency_key_reused') throw keyReused();
    throw new Error(`clear_card answered ${row.outcome}`);
  }

  async release(r: HoldRelease): Promise<HoldReleaseResult> {
    assertRelease(r);
    const row = (await this.batcher.post({
      call: 'release',
      hold_id: r.hold_id,
      amount: r.amount?.toString() ?? null,
      reason: r.reason,
      network_transaction_id: r.network_transaction_id ?? null,
    })) as ReleaseRow;
    if (row.status === null) throw AppError.notFound('hold');
    if (row.status === 'key_reused') {
      throw AppError.unprocessable(
        'idempotency_key_reused',
        'This network transaction id was used for a different reversal',
        [{ field: 'network_transaction_id', message: 'use a new id for a different request' }],
      );
    }
    const released = BigInt(row.released!);
    this.decisions.inc({ call: 'release', outcome: released > 0n ? row.status : 'unchanged' });
    return { status: row.status, remaining: BigInt(row.remaining!), released };
  }

  async refund(r: CardRefund): Promise<CardRefundResult> {
    assertRefund(r);
    const row = (await this.batcher.post({
      call: 'refund',
      entry_id: timeOrderedId(),
      ...paymentArgs(r),
      hold_id: r.hold_id ?? null,
      request_hash: cardPostingFingerprint('card-refund', r),
      headers: JSON.parse(eventHeaders()) as Record<string, unknown>,
    })) as CardPostRow;
    const posted = await this.posted('refund', row, r);
    if (posted) return posted;
    if (
      row.outcome === 'account_closed' ||
      row.outcome === 'account_not_found' ||
      row.outcome === 'currency_mismatch' ||
      row.outcome === 'already_reversed' ||
      row.outcome === 'refund_exceeds_payment'
    ) {
      return { refused: row.outcome };
    }
    if (row.outcome === 'idempotency_key_reused') throw keyReused();
    throw new Error(`refund_card answered ${row.outcome}`);
  }

  /**
   * Counts a clearing's or refund's outcome and, when it posted, answers the entry (waking the relay for
   * its event, unless it is a replay; the batch refreshed the cache); null for any other outcome. Both
   * post entries of kind `card`, and their amounts count as such.
   */
  private async posted(
    call: 'clear' | 'refund',
    row: CardPostRow,
    asked: { amount: bigint; currency: Currency },
  ): Promise<{ transaction_id: string; created_at: string; replayed: boolean } | null> {
    this.decisions.inc({ call, outcome: row.replayed ? 'replayed' : row.outcome });
    if (row.outcome !== 'posted') return null;
    if (!row.replayed) {
      this.ledger.countPosted('card', asked.currency, asked.amount);
      this.ledger.eventsCommitted();
    }
    return {
      transaction_id: row.entry_id!,
      created_at: new Date(row.created_at!).toISOString(),
      replayed: row.replayed,
    };
  }

  /** Active holds past their expiry, oldest first (holds_expiry_idx). */
  async expired(now: string, limit: number): Promise<{ hold_id: string; card_id: string }[]> {
    assertExpiredPage(now, limit);
    return (await this.dataSource.query(
      `SELECT id AS hold_id, card_id FROM transactions.holds
        WHERE status = 'active' AND expires_at <= $1 ORDER BY expires_at, id LIMIT $2`,
      [now, limit],
    )) as { hold_id: string; card_id: string }[];
  }

  async hold(id: string): Promise<CardHold | null> {
    if (typeof id !== 'string' || !UUID.test(id)) return null;
    const [row] = (await this.dataSource.query(
      `SELECT h.id AS hold_id, h.network_transaction_id, h.card_id, h.account_id, h.owner_id,
              h.amount::text AS amount, h.remaining::text AS remaining, h.currency, h.status, h.transaction_id,
              e.amount::text AS cleared_amount
         FROM transactions.holds h LEFT JOIN transactions.entries e ON e.id = h.transaction_id
        WHERE h.id = $1`,
      [id],
    )) as (Omit<CardHold, 'amount' | 'remaining' | 'cleared_amount'> & {
      amount: string;
      remaining: string;
      cleared_amount: string | null;
    })[];
    return row
      ? {
          ...row,
          amount: BigInt(row.amount),
          remaining: BigInt(row.remaining),
          cleared_amount: row.cleared_amount === null ? null : BigInt(row.cleared_amount),
        }
      : null;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
