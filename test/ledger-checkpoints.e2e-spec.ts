/**
 * The ledger verification from checkpoints (GET /admin/ledger/verify, issue 17) on a monolith with the
 * periodic run off, so that every run is one this suite asked for:
 * - an incremental run after new entries answers exactly what a full run answers, and moves the checkpoint;
 * - a posting changed after the checkpoint (its append-only trigger disabled here), an account row changed
 *   (no trigger guards it) and an entry with no postings are found by the next incremental run;
 * - a posting changed before the checkpoint is found by the full run only (what the incremental run
 *   cannot see, by design: see the README);
 * - a posting whose transaction began before a verification's snapshot and commits after it (held open
 *   here across the verification) is verified by the next run, and transfers through the API during
 *   verifications leave checkpoints from which every next run is clean.
 * The entries are posted by SQL through transactions.post_entry (the function every posting runs), with
 * their events deleted in the same transaction: nothing downstream needs them. A [figure] line prints an
 * incremental run after 10,000 entries (those written in one statement, see bulk()) and after 100
 * against a full run; nothing is asserted on time.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import request from 'supertest';
import { bearer, firstAdmin, type Actor } from './support/actors';
import { deposit, openAccount, transfer, verifiedCustomer } from './support/banking';
import { lockWaiters } from './support/lock-waits';
import { eventually } from './support/test-env';
import { startTopology, type Running } from './support/topologies';

interface Verification {
  ok: boolean;
  checked_accounts: number;
  checked_entries: number;
  mismatches: Record<string, string>[];
  mode: 'incremental' | 'full';
  since: string | null;
  new_entries: number;
  checkpointed: boolean;
}

describe('ledger verification from checkpoints', () => {
  let running: Running;
  let admin: Actor;
  let db: Client;
  /** Ledger rows of this suite's SQL postings (customer rows with no customer account behind them). */
  let accounts: string[];

  beforeAll(async () => {
    running = await startTopology('monolith', { LEDGER_VERIFY_INTERVAL_MINUTES: '0' });
    admin = await firstAdmin(running);
    db = await running.t.db();
    accounts = (
      await db.query(
        `INSERT INTO transactions.ledger_accounts (id, kind, owner_id, currency, overdraft_limit)
         SELECT gen_random_uuid(), 'customer', gen_random_uuid(), 'GBP', 1000000000000
           FROM generate_series(1, 40)
         RETURNING id`,
      )
    ).rows.map((r: { id: string }) => r.id);
  }, 120_000);
  afterAll(async () => {
    await running?.stop();
  });

  const verify = async (mode?: 'full' | 'incremental'): Promise<Verification> =>
    (
      await request(running.baseUrl)
        .get('/admin/ledger/verify')
        .query(mode ? { mode } : {})
        .set(bearer(admin.token))
        .expect(200)
    ).body as Verification;

  /** What two runs must agree on (mode, since and new_entries say how each got there). */
  const verdict = (v: Verification) => ({
    ok: v.ok,
    checked_accounts: v.checked_accounts,
    checked_entries: v.checked_entries,
    mismatches: v.mismatches,
  });

  /** Posts n transfers between this suite's accounts, in one transaction; answers their entry ids. */
  async function grow(n: number): Promise<string[]> {
    await db.query('BEGIN');
    try {
      const rows = (
        await db.query(
          `SELECT r.entry_id, r.outcome FROM generate_series(0, $2::int - 1) i,
             LATERAL transactions.post_entry(gen_random_uuid(), 'transfer',
               ($1::uuid[])[1 + i % cardinality($1::uuid[])],
               ($1::uuid[])[1 + (i + 1 + (i / cardinality($1::uuid[])) % (cardinality($1::uuid[]) - 1))
                                  % cardinality($1::uuid[])],
               1 + i % 97, 'GBP', NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, NULL, NULL, NULL, '{}') r`,
          [accounts, n],
        )
      ).rows as { entry_id: string; outcome: string }[];
      expect(rows.filter((r) => r.outcome !== 'posted')).toEqual([]);
      await db.query(`DELETE FROM transactions.outbox WHERE payload->>'from_account_id' = ANY($1::text[])`, [
        accounts,
      ]);
      await db.query('COMMIT');
      return rows.map((r) => r.entry_id);
    } catch (err) {
      await db.query('ROLLBACK');
      throw err;
    }
  }

  /** Runs `change` on the ledger with its append-only triggers off (the tamper the triggers prevent). */
  async function behindTheTriggers(change: string, params: unknown[] = []): Promise<void> {
    await db.query('BEGIN');
    await db.query('ALTER TABLE transactions.postings DISABLE TRIGGER postings_append_only');
    await db.query('ALTER TABLE transactions.entries DISABLE TRIGGER entries_append_only');
    await db.query(change, params);
    await db.query('ALTER TABLE transactions.postings ENABLE TRIGGER postings_append_only');
    await db.query('ALTER TABLE transactions.entries ENABLE TRIGGER entries_append_only');
    await db.query('COMMIT');
  }

  const lastPosting = async (account: string) =>
    (
      await db.query(
        `SELECT account_version::text AS version, balance_after::text AS balance_after
           FROM transactions.postings WHERE account_id = $1 ORDER BY account_version DESC LIMIT 1`,
        [account],
      )
    ).rows[0] as { version: string; balance_after: string };

  it('starts full, then verifies only what is new, answering what a full run answers', async () => {
    await grow(500);
    const first = await verify();
    expect(first).toMatchObject({ ok: true, mode: 'full', since: null, checkpointed: true });
    expect(first.new_entries).toBe(first.checked_entries);
    expect(first.checked_entries).toBeGreaterThanOrEqual(500);

    await grow(1500);
    const next = await verify();
    expect(next).toMatchObject({ ok: true, mode: 'incremental', new_entries: 1500, checkpointed: true });
    expect(next.since).toEqual(expect.any(String));
    expect(next.checked_entries).toBe(first.checked_entries + 1500);
    // And on from the checkpoint an incremental run wrote.
    await grow(300);
    const again = await verify();
    expect(again).toMatchObject({
      ok: true,
      mode: 'incremental',
      new_entries: 300,
      since: expect.any(String),
    });
    expect(again.since! > next.since!).toBe(true);
    expect(again.checked_entries).toBe(next.checked_entries + 300);
    const full = await verify('full');
    expect(full.mode).toBe('full');
    expect(verdict(full)).toEqual(verdict(again));

    // Nothing new: an incremental run reads nothing and still agrees.
    const idle = await verify();
    expect(idle).toMatchObject({ mode: 'incremental', new_entries: 0 });
    expect(verdict(idle)).toEqual(verdict(full));

    // Staff's entries through the API too (a customer account, a deposit from a cash shard).
    const carol = await verifiedCustomer(running, admin, 'checkpoints.carol');
    await deposit(running, admin, await openAccount(running, carol), 2500);
    const after = await verify();
    expect(after).toMatchObject({ ok: true, mode: 'incremental', new_entries: 1 });
    expect(verdict(after)).toEqual(verdict(await verify('full')));
  });

  it('refuses a mode it does not know, naming the field', async () => {
    const res = await request(running.baseUrl)
      .get('/admin/ledger/verify')
      .query({ mode: 'quick' })
      .set(bearer(admin.token))
      .expect(400);
    expect(JSON.stringify(res.body.details)).toContain('mode');
  });

  it('finds a posting changed after the checkpoint in the next incremental run, as the full run does', async () => {
    await verify();
    await grow(200);
    const account = accounts[3];
    const { version, balance_after } = await lastPosting(account);
    await behindTheTriggers(
      `UPDATE transactions.postings SET balance_after = balance_after + 1
        WHERE account_id = $1 AND account_version = $2`,
      [account, version],
    );
    try {
      const found = await verify();
      expect(found).toMatchObject({ ok: false, mode: 'incremental', checkpointed: false });
      expect(found.mismatches).toEqual([
        {
          type: 'running_balance',
          account_id: account,
          account_version: version,
          expected: balance_after,
          actual: String(BigInt(balance_after) + 1n),
        },
      ]);
      expect(verdict(await verify('full'))).toEqual(verdict(found));
      // Not checkpointed: the next run still finds it.
      expect((await verify()).mismatches).toEqual(found.mismatches);
    } finally {
      await behindTheTriggers(
        `UPDATE transactions.postings SET balance_after = balance_after - 1
          WHERE account_id = $1 AND account_version = $2`,
        [account, version],
      );
    }
    expect(await verify()).toMatchObject({ ok: true, mode: 'incremental', new_entries: 200 });
  });

  it('finds a changed amount after the checkpoint: the entry, the chain and the balance', async () => {
    await verify();
    const [entry] = await grow(1);
    await behindTheTriggers(
      `UPDATE transactions.postings SET amount = amount * 2 WHERE entry_id = $1 AND amount > 0`,
      [entry],
    );
    try {
      const found = await verify();
      expect(found.ok).toBe(false);
      expect(found.mismatches.map((m) => m.type).sort()).toEqual([
        'account_balance',
        'entry_unbalanced',
        'running_balance',
      ]);
      expect(verdict(await verify('full'))).toEqual(verdict(found));
    } finally {
      await behindTheTriggers(
        `UPDATE transactions.postings SET amount = amount / 2 WHERE entry_id = $1 AND amount > 0`,
        [entry],
      );
    }
    expect((await verify()).ok).toBe(true);
  });

  it('finds an account row changed after the checkpoint with nothing posted to it since', async () => {
    await grow(40);
    await verify();
    const account = accounts[7];
    await db.query('UPDATE transactions.ledger_accounts SET balance = balance + 1 WHERE id = $1', [account]);
    try {
      const found = await verify();
      expect(found).toMatchObject({ ok: false, mode: 'incremental', new_entries: 0 });
      expect(found.mismatches).toContainEqual(
        expect.objectContaining({ type: 'account_balance', account_id: account }),
      );
      expect(verdict(await verify('full'))).toEqual(verdict(found));
    } finally {
      await db.query('UPDATE transactions.ledger_accounts SET balance = balance - 1 WHERE id = $1', [
        account,
      ]);
    }
    expect((await verify()).ok).toBe(true);
  });

  it('finds an entry with no postings written after the checkpoint', async () => {
    await verify();
    const id = randomUUID();
    await db.query(
      `INSERT INTO transactions.entries (id, kind, debit_account_id, credit_account_id, amount, currency, created_at)
       VALUES ($1, 'transfer', $2, $3, 100, 'GBP', clock_timestamp())`,
      [id, accounts[0], accounts[1]],
    );
    try {
      const found = await verify();
      expect(found).toMatchObject({ ok: false, mode: 'incremental' });
      expect(found.mismatches).toEqual([
        { type: 'entry_unbalanced', entry_id: id, currency: 'GBP', expected: '0', actual: '0' },
      ]);
    } finally {
      await behindTheTriggers('DELETE FROM transactions.entries WHERE id = $1', [id]);
    }
    expect((await verify()).ok).toBe(true);
  });

  it('leaves a posting changed before the checkpoint to the full run', async () => {
    await grow(100);
    await verify();
    const account = accounts[11];
    const { version, balance_after } = await lastPosting(account);
    await behindTheTriggers(
      `UPDATE transactions.postings SET balance_after = balance_after + 1
        WHERE account_id = $1 AND account_version = $2`,
      [account, version],
    );
    try {
      // The incremental run starts from the checkpointed state of that account: it does not read the
      // posting again (the triggers refuse the change; a full run is the check for one behind them).
      expect(await verify()).toMatchObject({ ok: true, mode: 'incremental', new_entries: 0 });
      const full = await verify('full');
      expect(full).toMatchObject({ ok: false, mode: 'full', checkpointed: false });
      expect(full.mismatches).toEqual([
        {
          type: 'running_balance',
          account_id: account,
          account_version: version,
          expected: balance_after,
          actual: String(BigInt(balance_after) + 1n),
        },
      ]);
    } finally {
      await behindTheTriggers(
        `UPDATE transactions.postings SET balance_after = balance_after - 1
          WHERE account_id = $1 AND account_version = $2`,
        [account, version],
      );
    }
    expect((await verify('full')).ok).toBe(true);
  });

  it('verifies in the next run a posting whose transaction began before the snapshot and committed after it', async () => {
    await verify();
    // A posting made and held open across a verification: its transaction began (and took its time,
    // created_at) before the verification's snapshot, and commits after the checkpoint is written.
    const open = await running.t.db();
    try {
      await open.query('BEGIN');
      const [{ entry_id }] = (
        await open.query(
          `SELECT entry_id FROM transactions.post_entry(gen_random_uuid(), 'transfer', $1, $2, 7, 'GBP',
             NULL, NULL, NULL, NULL, NULL, NULL, NULL, false, NULL, NULL, NULL, '{}')`,
          [accounts[20], accounts[21]],
        )
      ).rows as { entry_id: string }[];
      await open.query(`DELETE FROM transactions.outbox WHERE payload->>'transaction_id' = $1`, [entry_id]);
      const during = await verify();
      expect(during).toMatchObject({ ok: true, new_entries: 0, checkpointed: true });
      await open.query('COMMIT');
      // Created before that checkpoint's snapshot: a position kept as a time would have missed it.
      const { created_at } = (
        await db.query(`SELECT created_at FROM transactions.entries WHERE id = $1`, [entry_id])
      ).rows[0] as { created_at: Date };
      expect(created_at.getTime()).toBeLessThan((await lastCheckpointAsOf()).getTime());
      const next = await verify();
      expect(next).toMatchObject({ ok: true, mode: 'incremental', new_entries: 1 });
      expect(next.checked_entries).toBe(during.checked_entries + 1);
      expect(verdict(next)).toEqual(verdict(await verify('full')));
    } finally {
      await open.end();
    }
  });

  /** The as_of of the newest checkpoint: when its snapshot was taken. */
  const lastCheckpointAsOf = async () =>
    (
      (await db.query(`SELECT as_of FROM transactions.ledger_checkpoints ORDER BY seq DESC LIMIT 1`))
        .rows[0] as {
        as_of: Date;
      }
    ).as_of;

  it('leaves checkpoints from which the next run is clean while transfers go on through the API', async () => {
    const dave = await verifiedCustomer(running, admin, 'checkpoints.dave');
    const erin = await verifiedCustomer(running, admin, 'checkpoints.erin');
    const from = await openAccount(running, dave);
    const to = await openAccount(running, erin);
    await deposit(running, admin, from, 100_000);
    await verify();
    let stop = false;
    let posted = 0;
    const load = (async () => {
      while (!stop) {
        const batch = await Promise.all(
          Array.from({ length: 4 }, () =>
            transfer(running, dave, {
              from_account_id: from.id,
              to_account_id: to.id,
              amount: 1,
              currency: 'GBP',
            }),
          ),
        );
        for (const res of batch) {
          expect(res.status).toBe(201);
          posted++;
        }
      }
    })();
    const runs: Verification[] = [];
    try {
      // Each run while transfers commit: clean, and a checkpoint the next one continues from.
      while (runs.length < 6 || posted < 40) runs.push(await verify());
    } finally {
      stop = true;
      await load;
    }
    expect(runs.every((r) => r.ok && r.mode === 'incremental' && r.checkpointed)).toBe(true);
    const last = await verify();
    expect(last.ok).toBe(true);
    const full = await verify('full');
    expect(verdict(full)).toEqual(verdict(last));
    // Every transfer counted exactly once across the runs (plus the deposit before the first).
    const counted = runs.reduce((n, r) => n + r.new_entries, 0) + last.new_entries;
    expect(counted).toBe(posted);
  });

  it('runs a verification in the background: 202 at once, its result by id, one at a time', async () => {
    await grow(50);
    const jobs = () => request(running.baseUrl);
    const holder = await running.t.db();
    try {
      await holder.query('BEGIN');
      // The checkpoints' lock, as an incremental run writing its checkpoint holds it: a full run asked
      // for only reads, and does not wait for it (nor hold incremental runs off while it lasts).
      await holder.query('LOCK TABLE transactions.ledger_checkpoints IN EXCLUSIVE MODE');
      expect(await verify('full')).toMatchObject({ ok: true, mode: 'full', checkpointed: false });
      // The entries held here: the background run waits on them, running, until let go.
      await holder.query('LOCK TABLE transactions.entries IN ACCESS EXCLUSIVE MODE');
      const started = await jobs().post('/admin/ledger/verifications').set(bearer(admin.token)).expect(202);
      expect(started.body).toMatchObject({
        mode: 'full',
        status: 'running',
        requested_by: admin.id,
        finished_at: null,
        result: null,
        error: null,
      });
      await lockWaiters(db, 1, '%FROM transactions.entries%', 'the background run to wait');
      const second = await jobs()
        .post('/admin/ledger/verifications')
        .query({ mode: 'incremental' })
        .set(bearer(admin.token))
        .expect(409);
      expect(second.body.code).toBe('verification_running');
      expect(
        (
          await jobs()
            .get(`/admin/ledger/verifications/${started.body.id}`)
            .set(bearer(admin.token))
            .expect(200)
        ).body.status,
      ).toBe('running');
      await holder.query('ROLLBACK');
      const done = await eventually(
        async () => {
          const res = await jobs()
            .get(`/admin/ledger/verifications/${started.body.id}`)
            .set(bearer(admin.token))
            .expect(200);
          return res.body.status === 'running'
            ? undefined
            : (res.body as { status: string; result: Verification });
        },
        30_000,
        'the background verification to end',
      );
      expect(done).toMatchObject({
        status: 'completed',
        mode: 'full',
        error: null,
        finished_at: expect.any(String),
      });
      expect(done.result).toMatchObject({ ok: true, mode: 'full', checkpointed: false });
      expect(verdict(done.result)).toEqual(verdict(await verify()));
    } finally {
      await holder.end();
    }
    // An incremental one on request; then another may start.
    const next = await jobs()
      .post('/admin/ledger/verifications')
      .query({ mode: 'incremental' })
      .set(bearer(admin.token))
      .expect(202);
    expect(next.body.mode).toBe('incremental');
    await jobs().get(`/admin/ledger/verifications/${randomUUID()}`).set(bearer(admin.token)).expect(404);
    await jobs().get('/admin/ledger/verifications/not-a-uuid').set(bearer(admin.token)).expect(400);
    await jobs()
      .post('/admin/ledger/verifications')
      .query({ mode: 'quick' })
      .set(bearer(admin.token))
      .expect(400);
    await eventually(
      async () =>
        (await jobs().get(`/admin/ledger/verifications/${next.body.id}`).set(bearer(admin.token))).body
          .status === 'completed'
          ? true
          : undefined,
      30_000,
      'the incremental background verification to complete',
    );
  });

  /**
   * n entries between this suite's accounts written in one statement, for the figure: the rows
   * post_entry would write (each account's versions and balance_after chain continued, its row moved on)
   * without its checks and events, about ten times faster than n calls of it.
   */
  async function bulk(n: number): Promise<void> {
    await db.query(
      `WITH a AS (SELECT * FROM transactions.ledger_accounts WHERE id = ANY($1::uuid[]) FOR UPDATE),
       src AS (SELECT i, gen_random_uuid() AS id, ($1::uuid[])[1 + i % 40] AS debit,
                      ($1::uuid[])[1 + (i + 1 + (i / 40) % 39) % 40] AS credit, 1 + i % 97 AS amount
                 FROM generate_series(0, $2::int - 1) i),
       e AS (INSERT INTO transactions.entries (id, kind, debit_account_id, credit_account_id, amount, currency, created_at)
             SELECT id, 'transfer', debit, credit, amount, 'GBP', date_trunc('milliseconds', clock_timestamp())
               FROM src),
       legs AS (SELECT i, id, debit AS account_id, -amount AS amount FROM src
                UNION ALL SELECT i, id, credit, amount FROM src),
       p AS (INSERT INTO transactions.postings
                    (account_id, account_version, entry_id, amount, currency, balance_after, created_at)
             SELECT l.account_id, a.version + row_number() OVER w, l.id, l.amount, 'GBP',
                    a.balance + sum(l.amount) OVER w, date_trunc('milliseconds', clock_timestamp())
               FROM legs l JOIN a ON a.id = l.account_id
             WINDOW w AS (PARTITION BY l.account_id ORDER BY l.i)
             RETURNING account_id, account_version, balance_after)
       UPDATE transactions.ledger_accounts x SET balance = t.balance_after, version = t.account_version
         FROM (SELECT DISTINCT ON (account_id) * FROM p ORDER BY account_id, account_version DESC) t
        WHERE x.id = t.account_id`,
      [accounts, n],
    );
  }

  it('prints an incremental run after 10,000 and after 100 new entries against a full run', async () => {
    expect(accounts).toHaveLength(40);
    // A ledger of some size first (a full run's time grows with it; an incremental run's does not).
    await bulk(40_000);
    await verify();
    await bulk(10_000);
    const timed = async (mode: 'incremental' | 'full') => {
      const started = process.hrtime.bigint();
      const v = await verify(mode);
      return { v, ms: Number(process.hrtime.bigint() - started) / 1e6 };
    };
    const many = await timed('incremental');
    expect(many.v).toMatchObject({ ok: true, mode: 'incremental', new_entries: 10_000 });
    const full = await timed('full');
    expect(verdict(full.v)).toEqual(verdict(many.v));
    await grow(100);
    const few = await timed('incremental');
    expect(few.v).toMatchObject({ ok: true, mode: 'incremental', new_entries: 100 });
    process.stdout.write(
      `  [figure] ledger verify at ${full.v.checked_entries} entries, ${full.v.checked_accounts} accounts: ` +
        `full ${full.ms.toFixed(0)} ms; incremental over 10,000 new entries ${many.ms.toFixed(0)} ms, ` +
        `over 100 new entries ${few.ms.toFixed(0)} ms (over HTTP)\n`,
    );
  });
});
