import { AppError } from '@protobank/platform';
import {
  PostingBatcher,
  type BatchOutcome,
  type BatcherOptions,
  type ItemOutcome,
  type PostingItem,
} from './posting-batcher';

/** A posting item told apart by its entry id; the batcher never looks inside. */
const item = (id: string): PostingItem => ({ entry_id: id }) as PostingItem;
const posted = (id: string): ItemOutcome => ({
  outcome: 'posted',
  replayed: false,
  entry_id: id,
  created_at: null,
});

/**
 * A database whose batches finish when the test says: each run() is recorded with its items and waits
 * for finish(n) (or fail(n)).
 */
function fakeLedger() {
  const runs: { ids: string[]; done: (o: BatchOutcome<string>) => void; fail: (e: unknown) => void }[] = [];
  const committed: string[][] = [];
  const failed: number[] = [];
  const hooks = {
    run: (items: PostingItem[]) =>
      new Promise<BatchOutcome<string>>((done, fail) =>
        runs.push({ ids: items.map((i) => i.entry_id), done, fail }),
      ),
    committed: (accounts: string[]) => {
      committed.push(accounts);
      return Promise.resolve();
    },
    failed: (_err: unknown, size: number) => failed.push(size),
  };
  const finish = (n: number) =>
    runs[n].done({ items: runs[n].ids.map(posted), accounts: runs[n].ids.map((id) => `row of ${id}`) });
  return { runs, committed, failed, hooks, finish };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('PostingBatcher', () => {
  const options: BatcherOptions = { maxItems: 3, inFlight: 1, queueTimeoutMs: 60_000 };

  it('sends a posting that finds the ledger idle at once, alone: nothing waits for company', async () => {
    const db = fakeLedger();
    const batcher = new PostingBatcher(options, db.hooks);
    const answer = batcher.post(item('a'));
    await settle();
    expect(db.runs.map((r) => r.ids)).toEqual([['a']]);
    db.finish(0);
    await expect(answer).resolves.toEqual(posted('a'));
  });

  it('queues the postings that arrive while a batch runs and sends them as the next batch, in arrival order, up to the size cap', async () => {
    const db = fakeLedger();
    const batcher = new PostingBatcher(options, db.hooks);
    const answers = ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => batcher.post(item(id)));
    await settle();
    expect(db.runs.map((r) => r.ids)).toEqual([['a']]);
    expect(batcher.waiting).toBe(5);
    db.finish(0);
    await settle();
    expect(db.runs.map((r) => r.ids)).toEqual([['a'], ['b', 'c', 'd']]);
    db.finish(1);
    await settle();
    expect(db.runs.map((r) => r.ids)).toEqual([['a'], ['b', 'c', 'd'], ['e', 'f']]);
    db.finish(2);
    await expect(Promise.all(answers)).resolves.toEqual(['a', 'b', 'c', 'd', 'e', 'f'].map(posted));
    // Each batch's rows reached the cache once, before its callers heard.
    expect(db.committed).toEqual([
      ['row of a'],
      ['row of b', 'row of c', 'row of d'],
      ['row of e', 'row of f'],
    ]);
  });

  it('runs up to inFlight batches at once', async () => {
    const db = fakeLedger();
    const batcher = new PostingBatcher({ ...options, inFlight: 2 }, db.hooks);
    const answers = ['a', 'b', 'c'].map((id) => batcher.post(item(id)));
    await settle();
    expect(db.runs.map((r) => r.ids)).toEqual([['a'], ['b']]);
    expect(batcher.inFlight).toBe(2);
    db.finish(1);
    await settle();
    expect(db.runs.map((r) => r.ids)).toEqual([['a'], ['b'], ['c']]);
    db.finish(0);
    db.finish(2);
    await expect(Promise.all(answers)).resolves.toHaveLength(3);
  });

  it('answers a caller only after its batch committed and the cache was written', async () => {
    const db = fakeLedger();
    let release!: () => void;
    const cacheWritten = new Promise<void>((r) => (release = r));
    const batcher = new PostingBatcher(options, { ...db.hooks, committed: () => cacheWritten });
    let answered = false;
    const answer = batcher.post(item('a')).then(() => (answered = true));
    await settle();
    db.finish(0);
    await settle();
    expect(answered).toBe(false);
    release();
    await answer;
    expect(answered).toBe(true);
  });

  it('answers the callers of a committed batch whose after-commit hook failed, and goes on batching', async () => {
    const db = fakeLedger();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      let calls = 0;
      const batcher = new PostingBatcher(options, {
        ...db.hooks,
        committed: () => (calls++ === 0 ? Promise.reject(new Error('redis down')) : Promise.resolve()),
      });
      const first = batcher.post(item('a'));
      await settle();
      db.finish(0);
      await expect(first).resolves.toEqual(posted('a'));
      const second = batcher.post(item('b'));
      await settle();
      db.finish(1);
      await expect(second).resolves.toEqual(posted('b'));
      await settle();
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('retries the items of a batch that failed as a whole one by one, so one bad item fails alone', async () => {
    const db = fakeLedger();
    const batcher = new PostingBatcher(options, db.hooks);
    const first = batcher.post(item('a'));
    const answers = Promise.allSettled(['b', 'bad', 'c'].map((id) => batcher.post(item(id))));
    await settle();
    db.finish(0);
    await first;
    await settle();
    expect(db.runs[1].ids).toEqual(['b', 'bad', 'c']);
    db.runs[1].fail(new Error('violates foreign key constraint'));
    await settle();
    expect(db.failed).toEqual([3]);
    // One at a time, in order.
    expect(db.runs.slice(2).map((r) => r.ids)).toEqual([['b']]);
    db.finish(2);
    await settle();
    expect(db.runs[3].ids).toEqual(['bad']);
    db.runs[3].fail(new Error('violates foreign key constraint'));
    await settle();
    expect(db.runs[4].ids).toEqual(['c']);
    db.finish(4);
    const results = await answers;
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toEqual(
      new Error('violates foreign key constraint'),
    );
  });

  it('refuses unposted (503 ledger_busy) a posting that waited longer than the queue timeout, even while every batch is stuck', async () => {
    jest.useFakeTimers();
    try {
      const db = fakeLedger();
      const batcher = new PostingBatcher({ ...options, queueTimeoutMs: 1000 }, db.hooks);
      const stuck = batcher.post(item('a'));
      const waiting = batcher.post(item('b'));
      const outcome = waiting.catch((e: unknown) => e);
      jest.advanceTimersByTime(1002);
      const error = (await outcome) as AppError;
      expect(error).toBeInstanceOf(AppError);
      expect(error).toMatchObject({ status: 503, code: 'ledger_busy' });
      expect(batcher.waiting).toBe(0);
      // It never reached the database.
      db.finish(0);
      await stuck;
      expect(db.runs.map((r) => r.ids)).toEqual([['a']]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('rejects a batch whose answer does not have one outcome per item, rather than pairing them wrongly', async () => {
    const db = fakeLedger();
    const batcher = new PostingBatcher(options, db.hooks);
    const answer = batcher.post(item('a'));
    await settle();
    db.runs[0].done({ items: [], accounts: [] });
    await expect(answer).rejects.toThrow('the batch answered 0 outcomes for 1 items');
  });
});
