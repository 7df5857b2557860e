/**
 * transactions.card_calls' lock order (libs/transactions/sql/card_calls_v02.sql), straight in SQL on a
 * migrated scratch database: two interleavings, each forced with a session of the test's own that holds
 * one batch up mid-way, which deadlocked batches before their locks were taken as they are now.
 * - Two batches naming the same network transaction ids (a network's retries, here for other cards) in
 *   crossed order: each used to claim one id and wait for the other's (40P01 on `holds`' unique index).
 *   Now they take turns on the ids' advisory locks, and both answer.
 * - A batch releasing a hold that committed after the batch took its locks: the release used to lock that
 *   hold and its account out of order, and an innocent batch waiting on the batch's rows got 40P01. Now
 *   the batch stops with 40001 before that item (the application then runs its calls one by one), and
 *   the other batch answers.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Client } from 'pg';
import { lockWaiters } from '../support/lock-waits';
import { processes } from '../support/processes';
import { createTestEnv, type TestEnv } from '../support/test-env';

interface Account {
  id: string;
  owner: string;
  card: string;
}

type Item = Record<string, unknown>;
interface Answer {
  items?: Record<string, unknown>[];
  error?: string;
}

describe('card_calls lock order', () => {
  let t: TestEnv;
  let db: Client;
  const sessions: Client[] = [];
  const session = async () => {
    const c = await t.db();
    sessions.push(c);
    return c;
  };

  beforeAll(async () => {
    t = await createTestEnv('card_call_locks');
    await processes.runOnce('migrate', t.env, { logFile: join(t.logDir, 'migrate.log') });
    db = await session();
  }, 120_000);

  afterAll(async () => {
    for (const c of sessions) await c.end().catch(() => undefined);
    await t?.cleanup();
  });

  /** A customer's ledger row funded from cash, by SQL through post_entry, with a card id of its own. */
  const account = async (): Promise<Account> => {
    const a = { id: randomUUID(), owner: randomUUID(), card: randomUUID() };
    await db.query(
      `INSERT INTO transactions.ledger_accounts (id, kind, owner_id, currency, overdraft_limit)
       VALUES ($1, 'customer', $2, 'GBP', 0)`,
      [a.id, a.owner],
    );
    const { rows } = await db.query(
      `SELECT p.outcome FROM transactions.ledger_accounts c,
              transactions.post_entry(gen_random_uuid(), 'deposit', c.id, $1, 100000, 'GBP', NULL, NULL, NULL,
                                      NULL, NULL, NULL, NULL, false, NULL, NULL, NULL, NULL) p
        WHERE c.system_code = 'cash' AND c.currency = 'GBP' AND c.shard = 0`,
      [a.id],
    );
    expect(rows[0].outcome).toBe('posted');
    return a;
  };
  /** `n` such accounts, made one after the other (one session runs one query at a time). */
  const accounts = async (n: number): Promise<Account[]> => {
    const made: Account[] = [];
    for (let i = 0; i < n; i++) made.push(await account());
    return made;
  };
  const auth = (a: Account, networkId: string, amount: number, holdId = randomUUID()): Item => ({
    call: 'authorise',
    hold_id: holdId,
    network_transaction_id: networkId,
    card_id: a.card,
    account: a.id,
    owner: a.owner,
    amount: String(amount),
    currency: 'GBP',
    merchant_name: 'Tesco',
    category: 'groceries',
    daily_limit: null,
    monthly_limit: null,
    expires_at: new Date(Date.now() + 86_400_000).toISOString(),
    time_zone: 'Europe/London',
  });
  const release = (holdId: string, amount: number | null, networkId: string | null = null): Item => ({
    call: 'release',
    hold_id: holdId,
    amount: amount === null ? null : String(amount),
    reason: 'reversed',
    network_transaction_id: networkId,
  });
  const calls = (c: Client, items: Item[]): Promise<Answer> =>
    c.query(`SELECT transactions.card_calls($1::jsonb) AS r`, [JSON.stringify(items)]).then(
      (res) => res.rows[0].r as Answer,
      (err: { code?: string }) => ({ error: err.code ?? String(err) }),
    );
  const approved = async (a: Account, amount: number) => {
    const answer = await calls(db, [auth(a, `auth-${randomUUID()}`, amount)]);
    expect(answer.items?.[0]).toMatchObject({ outcome: 'approved' });
    return answer.items![0].hold_id as string;
  };

  it('lets two batches naming the same network ids in crossed order take turns, not deadlock', async () => {
    const [x, y, z, w, k1, k2] = await accounts(6);
    const [h1, h2] = [await approved(k1, 100), await approved(k2, 100)];
    // Holds each batch up at its second item: a partial release whose network id this session claimed.
    const holder = await session();
    const [r1, r2] = [`rev-${randomUUID()}`, `rev-${randomUUID()}`];
    await holder.query('BEGIN');
    await holder.query(
      `INSERT INTO transactions.hold_releases (network_transaction_id, hold_id, requested, created_at)
       VALUES ($1, $2, 1, now()), ($3, $4, 1, now())`,
      [r1, h1, r2, h2],
    );
    const [n, m] = [`auth-${randomUUID()}`, `auth-${randomUUID()}`];
    const p = calls(await session(), [auth(x, n, 10), release(h1, 1, r1), auth(y, m, 10)]);
    await lockWaiters(db, 1, '%card_calls%', 'the first batch held up');
    const q = calls(await session(), [auth(z, m, 10), release(h2, 1, r2), auth(w, n, 10)]);
    await lockWaiters(db, 2, '%card_calls%', 'the second batch waiting');
    await holder.query('ROLLBACK');
    const [first, second] = await Promise.all([p, q]);
    expect(first.error).toBeUndefined();
    expect(second.error).toBeUndefined();
    // Whichever went first authorised both ids; the other replays them for its own accounts' items.
    const outcomes = [...first.items!, ...second.items!].map((i) => i.outcome ?? i.status);
    expect(outcomes.filter((o) => o === 'approved')).toHaveLength(4);
  });

  it('stops a batch whose hold appeared after it took its locks, so no other batch deadlocks on it', async () => {
    const [x, y] = (await accounts(2)).sort((a, b) => (a.id < b.id ? -1 : 1));
    const k = await account();
    // An authorisation on x, decided and not yet committed.
    const late = await session();
    const hold = randomUUID();
    await late.query('BEGIN');
    const decided = await calls(late, [auth(x, `auth-${randomUUID()}`, 50, hold)]);
    expect(decided.items?.[0]).toMatchObject({ outcome: 'approved' });
    // Batch B locks y (and k), is held up at its second item (its network id claimed by this session's
    // uncommitted hold), and then releases the late hold.
    const holder = await session();
    const claimed = `auth-${randomUUID()}`;
    await holder.query('BEGIN');
    await holder.query(
      `INSERT INTO transactions.holds (id, network_transaction_id, account_id, owner_id, card_id, amount,
                                       remaining, currency, merchant_name, category, status, decline_reason,
                                       expires_at, created_at, updated_at)
       VALUES (gen_random_uuid(), $1, $2, $3, gen_random_uuid(), 1, 0, 'GBP', 'Tesco', 'groceries',
               'declined', 'insufficient_funds', now(), now(), now())`,
      [claimed, k.id, k.owner],
    );
    const b = calls(await session(), [
      auth(y, `auth-${randomUUID()}`, 10),
      auth(k, claimed, 5),
      release(hold, null),
    ]);
    await lockWaiters(db, 1, '%card_calls%', 'batch B held up');
    await late.query('COMMIT');
    // Batch C wants x, then y (id order): y is B's until B ends.
    const c = calls(await session(), [
      auth(x, `auth-${randomUUID()}`, 10),
      auth(y, `auth-${randomUUID()}`, 10),
    ]);
    await lockWaiters(db, 2, '%card_calls%', 'batch C waiting for y');
    await holder.query('ROLLBACK');
    const [stopped, other] = await Promise.all([b, c]);
    expect(stopped).toEqual({ error: '40001' });
    expect(other.error).toBeUndefined();
    expect(other.items?.map((i) => i.outcome)).toEqual(['approved', 'approved']);
    // Alone, the release finds the hold and gives it back.
    const alone = await calls(db, [release(hold, null)]);
    expect(alone.items?.[0]).toMatchObject({ status: 'reversed', released: '50' });
  });
});
