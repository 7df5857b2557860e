import { AppError, type MetricsService } from '@protobank/platform';
import type { TransactionsConfig } from '../transactions.config';

/** One posting as transactions.post_entries takes it (the composite type transactions.posting_item). */
export interface PostingItem {
  entry_id: string;
  kind: string;
  debit: string;
  credit: string;
  /** Minor units; a string so that no amount ever passes through a float on its way to SQL. */
  amount: string;
  currency: string;
  reference: string | null;
  merchant: string | null;
  category: string | null;
  reverses: string | null;
  initiated_by: string | null;
  debit_owner: string | null;
  not_owner: string | null;
  allow_frozen: boolean;
  ignore_funds: boolean;
  idem_owner: string | null;
  idem_key: string | null;
  request_hash: string | null;
  forget_refusal: boolean;
  headers: Record<string, unknown>;
  staff_action: Record<string, unknown> | null;
}

/** What transactions.post_entries decided for one item (see libs/transactions/sql/post_entries_v04.sql). */
export interface ItemOutcome {
  outcome: string;
  replayed: boolean;
  entry_id: string | null;
  created_at: string | null;
}

/** A batch's answer: one outcome per item, in item order, and the rows the batch changed. */
export interface BatchOutcome<Row, Outcome = ItemOutcome> {
  items: Outcome[];
  accounts: Row[];
}

export interface BatcherOptions {
  /** Most items per batch. */
  maxItems: number;
  /** Batches running at once. */
  inFlight: number;
  /** Longest an item waits in the queue before it is refused unposted. */
  queueTimeoutMs: number;
}

/** The LEDGER_BATCH_* settings, for every batcher of the ledger. */
export const ledgerBatchOptions = (config: TransactionsConfig): BatcherOptions => ({
  maxItems: config.ledgerBatchMaxItems,
  inFlight: config.ledgerBatchesInFlight,
  queueTimeoutMs: config.ledgerQueueTimeoutMs,
});

/**
 * `<prefix>_batches_total{result}` and `<prefix>_batch_items_total`: batches committed or failed, and
 * the items committed ones carried (their ratio is the mean batch size).
 */
export function batchCounters(metrics: MetricsService, prefix: string, items: string) {
  const batches = metrics.counter(
    `${prefix}_batches_total`,
    `Batches of ${items.toLowerCase()} the ledger ran (one transaction and commit each), by result (committed, or failed and retried one by one)`,
    ['result'],
  );
  const carried = metrics.counter(
    `${prefix}_batch_items_total`,
    `${items} carried by committed batches (divided by ${prefix}_batches_total: the mean batch size)`,
    [],
  );
  return {
    committed: (size: number) => {
      batches.inc({ result: 'committed' });
      carried.inc(size);
    },
    failed: () => batches.inc({ result: 'failed' }),
  };
}

export interface BatcherHooks<Row, Item = PostingItem, Outcome = ItemOutcome> {
  /** Posts one batch: one round trip, one transaction. */
  run(items: Item[]): Promise<BatchOutcome<Row, Outcome>>;
  /** After a batch committed, before any of its callers hears (the balance cache, the relay's wake-up). */
  committed(accounts: Row[], batchSize: number): Promise<void>;
  /** A batch failed as a whole, and its items are retried one by one. */
  failed(err: unknown, batchSize: number): void;
}

/** Refuses a posting that waited too long for a batch: it never reached the database. */
function busy<Item, Outcome>(w: Waiting<Item, Outcome>): void {
  w.reject(
    new AppError(503, 'ledger_busy', 'The ledger is busy: the posting was not made; try again').withHeaders({
      'Retry-After': '1',
    }),
  );
}

interface Waiting<Item, Outcome> {
  item: Item;
  queuedAt: number;
  resolve: (o: Outcome) => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit for the ledger, by natural batching (no timer): a posting that finds a batch slot free
 * goes at once, alone; postings that arrive while every slot is busy queue, and the next slot to free
 * takes up to maxItems of them as one batch, in arrival order. One request alone is never delayed, and
 * under load the batch grows to what arrived during one batch's round trip.
 *
 * A batch that fails as a whole (not a refusal: those are outcomes) is retried item by item, so one
 * item's error is that item's alone. That retry cannot post twice: an item that was committed before the
 * error reached us fails on its entry id (the entries' primary key). An item that waited longer than
 * queueTimeoutMs is refused unposted (503 ledger_busy) without reaching the database.
 *
 * Item and Outcome default to post_entries'; the card network's calls (CardHolds) batch through
 * transactions.card_calls with their own.
 */
export class PostingBatcher<Row, Item = PostingItem, Outcome = ItemOutcome> {
  private readonly queue: Waiting<Item, Outcome>[] = [];
  private running = 0;
  private sweeper?: NodeJS.Timeout;

  constructor(
    private readonly options: BatcherOptions,
    private readonly hooks: BatcherHooks<Row, Item, Outcome>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Postings waiting for a batch. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Batches running now. */
  get inFlight(): number {
    return this.running;
  }

  post(item: Item): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, queuedAt: this.now(), resolve, reject });
      this.pump();
      this.sweepLater();
    });
  }

  /** Refuses what waited too long even while every batch is stuck (on a lock someone holds). */
  private sweepLater(): void {
    if (this.sweeper || this.queue.length === 0) return;
    const due = this.queue[0].queuedAt + this.options.queueTimeoutMs - this.now();
    this.sweeper = setTimeout(
      () => {
        this.sweeper = undefined;
        const oldest = this.now() - this.options.queueTimeoutMs;
        while (this.queue.length > 0 && this.queue[0].queuedAt < oldest) busy(this.queue.shift()!);
        this.sweepLater();
      },
      Math.max(due + 1, 1),
    );
    this.sweeper.unref();
  }

  private pump(): void {
    while (this.running < this.options.inFlight && this.queue.length > 0) {
      const batch = this.take();
      if (batch.length === 0) continue;
      this.running++;
      // send() settles each caller itself; only the committed hook can reject it, after the batch
      // committed (the Ledger's logs its own failure), and an unhandled rejection would end the process.
      void this.send(batch)
        .catch(() => undefined)
        .finally(() => {
          this.running--;
          this.pump();
        });
    }
  }

  /** The next batch: up to maxItems in arrival order, after refusing those that waited too long. */
  private take(): Waiting<Item, Outcome>[] {
    const batch: Waiting<Item, Outcome>[] = [];
    const oldest = this.now() - this.options.queueTimeoutMs;
    while (batch.length < this.options.maxItems && this.queue.length > 0) {
      const next = this.queue.shift()!;
      if (next.queuedAt < oldest) {
        busy(next);
      } else {
        batch.push(next);
      }
    }
    return batch;
  }

  private async send(batch: Waiting<Item, Outcome>[]): Promise<void> {
    let result: BatchOutcome<Row, Outcome>;
    try {
      result = await this.hooks.run(batch.map((w) => w.item));
      if (result.items.length !== batch.length) {
        throw new Error(`the batch answered ${result.items.length} outcomes for ${batch.length} items`);
      }
    } catch (err) {
      if (batch.length === 1) {
        batch[0].reject(err);
        return;
      }
      this.hooks.failed(err, batch.length);
      for (const w of batch) await this.send([w]);
      return;
    }
    try {
      await this.hooks.committed(result.accounts, batch.length);
    } finally {
      batch.forEach((w, i) => w.resolve(result.items[i]));
    }
  }
}
