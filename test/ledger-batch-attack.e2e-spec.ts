/**
 * Hostile requests against the batched ledger and the verification routes (issue 17's security review),
 * on a monolith with one batch in flight, so that requests sent while a test holds a ledger row lock
 * queue and go as one batch once it is let go:
 * - bodies that would raise inside transactions.post_entries (NUL and lone surrogates in the reference,
 *   amounts past 2^53 or 2^63, unknown currencies) are 400s naming the field, never a 500;
 * - in one batch with other customers' transfers: another owner's account as the source is 404, a key
 *   reused by another owner is that owner's own, and each request gets its own outcome and replay header;
 * - a posting that waited past LEDGER_QUEUE_TIMEOUT_MS is 503 ledger_busy in the one error shape, with
 *   Retry-After, and nothing was posted for it;
 * - the verification routes: roles, bad ids and modes, one background run at a time, the OpenAPI document;
 *   and GET /admin/ledger/verify one at a time in a process: twelve asked at once (each waiting here on
 *   the checkpoints' lock, as a full run at a million entries holds its connection for a minute) would
 *   otherwise hold more connections than the pool has, and a customer's transfer got 503.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import request from 'supertest';
import { bearer, firstAdmin, newCustomer, type Actor } from './support/actors';
import {
  deposit,
  ledgerBatcher,
  openAccount,
  postDeposit,
  promote,
  transfer,
  verifiedCustomer,
  type Account,
} from './support/banking';
import { lockWaiters } from './support/lock-waits';
import { eventually } from './support/test-env';
import { startTopology, type Running } from './support/topologies';

/** What each hostile request got, printed for the review (nothing is asserted on it). */
const note = (line: string) => process.stdout.write(`  ${line}\n`);

describe('batched ledger under attack', () => {
  let running: Running;
  let admin: Actor;
  let db: Client;
  /** Holds the row locks (pg_stat_activity is read by `db`: inside a transaction its snapshot stays). */
  let holder: Client;
  let alice: Actor;
  let bob: Actor;
  let aliceAcc: Account;
  let bobAcc: Account;
  let blocker: Account;
  let blockerOwner: Actor;

  beforeAll(async () => {
    running = await startTopology('monolith', {
      LEDGER_VERIFY_INTERVAL_MINUTES: '0',
      LEDGER_BATCHES_IN_FLIGHT: '1',
      // Long enough for a batch test's six requests to arrive and queue under a loaded machine (each
      // waits from its arrival until the blocked batch ends); the busy test waits this long.
      LEDGER_QUEUE_TIMEOUT_MS: '4000',
    });
    admin = await firstAdmin(running);
    db = await running.t.db();
    holder = await running.t.db();
    [alice, bob, blockerOwner] = await Promise.all(
      ['alice', 'bob', 'blocker'].map((tag) => verifiedCustomer(running, admin, tag)),
    );
    aliceAcc = await openAccount(running, alice);
    bobAcc = await openAccount(running, bob);
    blocker = await openAccount(running, blockerOwner);
    for (const a of [aliceAcc, bobAcc, blocker]) await deposit(running, admin, a, 100_000);
  }, 180_000);
  afterAll(async () => {
    await running?.stop();
  });

  /**
   * Holds the blocker's ledger row, sends one transfer from it (the batch in flight, waiting on the
   * lock), then `send()`, waits until all it sent queue behind that batch, and lets go: what `send`
   * started goes as one batch, which the batch counters show (the blocked one, then one more).
   */
  async function inOneBatch<T>(send: () => Promise<T>[]): Promise<T[]> {
    const before = await ledgerBatcher(running);
    await holder.query('BEGIN');
    await holder.query('SELECT 1 FROM transactions.ledger_accounts WHERE id = $1 FOR UPDATE', [blocker.id]);
    const first = transfer(running, blockerOwner, {
      from_account_id: blocker.id,
      to_account_id: aliceAcc.id,
      amount: 1,
      currency: 'GBP',
    }).then((r) => r);
    try {
      await lockWaiters(db, 1, '%post_entries%', 'the blocking batch to wait on the row');
      // A supertest request is sent when it is first awaited: start each now.
      const rest = send().map((r) => Promise.resolve(r));
      await eventually(
        async () => ((await ledgerBatcher(running)).waiting === rest.length ? true : undefined),
        2500,
        `${rest.length} postings queued behind the blocked batch`,
      );
      await holder.query('COMMIT');
      expect((await first).status).toBe(201);
      const answers = await Promise.all(rest);
      const after = await ledgerBatcher(running);
      expect(after.batches - before.batches).toBe(2);
      expect(after.items - before.items).toBe(1 + rest.length);
      return answers;
    } catch (err) {
      await holder.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  it('refuses bodies that could raise in SQL with 400 naming the field', async () => {
    const bad: [string, Record<string, unknown>][] = [
      ['reference', { reference: 'a\u0000b' }],
      ['reference', { reference: 'a\ud800b' }],
      ['reference', { reference: '\udc00' }],
      ['reference', { reference: 'x'.repeat(141) }],
      ['amount', { amount: 2 ** 63 }],
      ['amount', { amount: 2 ** 53 + 2 }],
      ['amount', { amount: '100' }],
      ['amount', { amount: 1.5 }],
      ['amount', { amount: 0 }],
      ['currency', { currency: 'XXX' }],
      ['currency', { currency: 'gbp' }],
      ['currency', { currency: 'GB\u0000' }],
      ['to_account_id', { to_account_id: 'not-a-uuid' }],
      ['from_account_id', { from_account_id: "' OR 1=1 --" }],
    ];
    const answers = await Promise.all(
      bad.map(([, change]) =>
        transfer(running, alice, {
          from_account_id: aliceAcc.id,
          to_account_id: bobAcc.id,
          amount: 100,
          currency: 'GBP',
          ...change,
        }),
      ),
    );
    answers.forEach((res, i) => {
      note(`[attack] ${JSON.stringify(bad[i][1]).slice(0, 60)} -> ${res.status} ${res.body.code}`);
      expect(res.status).toBe(400);
      expect(res.body.details.map((d: { field: string }) => d.field)).toContain(bad[i][0]);
    });
    const raw = await request(running.baseUrl)
      .post('/transactions')
      .set(bearer(alice.token))
      .set('Idempotency-Key', randomUUID())
      .set('Content-Type', 'application/json')
      .send(
        `{"from_account_id":"${aliceAcc.id}","to_account_id":"${bobAcc.id}","amount":100,"currency":"GBP","reference":"a\\u0000b"}`,
      );
    note(`[attack] raw \\u0000 reference -> ${raw.status} ${raw.body.code}`);
    expect(raw.status).toBe(400);
  });

  it('answers hostile deposits and reversals with a 4xx, never a 500', async () => {
    const asks: [number, () => Promise<request.Response>][] = [
      [400, () => postDeposit(running, admin, depositBody({ amount: 2 ** 63 }))],
      [400, () => postDeposit(running, admin, depositBody({ currency: 'XXX' }))],
      [400, () => postDeposit(running, admin, depositBody({ reference: 'a\u0000b' }))],
      [400, () => postDeposit(running, admin, depositBody({ reason: 'ok \ud800' }))],
      [422, () => postDeposit(running, admin, depositBody({ currency: 'EUR' }))],
      [404, () => postDeposit(running, admin, depositBody({ account_id: randomUUID() }))],
      [400, () => reverse('not-a-uuid', {})],
      [404, () => reverse(randomUUID(), {})],
      [400, () => reverse(randomUUID(), { reference: '\u0000' })],
    ];
    for (const [status, ask] of asks) {
      const res = await ask();
      note(`[attack] staff route -> ${res.status} ${res.body.code}`);
      expect(res.status).toBe(status);
    }
    const posted = await deposit(running, admin, aliceAcc, 10);
    const first = await reverse(posted.id, {});
    expect(first.status).toBe(201);
    const twice = await reverse(posted.id, {});
    expect(twice.status).toBe(409);
    const ofReversal = await reverse(first.body.id as string, {});
    expect(ofReversal.status).toBe(422);
  });

  const depositBody = (change: Record<string, unknown>) => ({
    account_id: aliceAcc.id,
    amount: 10,
    currency: 'GBP',
    reason: 'Test: hostile deposit',
    ...change,
  });
  const reverse = (id: string, body: Record<string, unknown>) =>
    request(running.baseUrl)
      .post(`/admin/transactions/${id}/reverse`)
      .set(bearer(admin.token))
      .set('Idempotency-Key', randomUUID())
      .send({ reason: 'Test: hostile reversal', ...body });

  it("keeps each request's outcome its own within one batch", async () => {
    const shared = randomUUID();
    const [steal, aliceOwn, bobSameKey, aliceAgain, missing, wrongCurrency] = await inOneBatch(() => [
      // Alice names Bob's account as the source.
      transfer(running, alice, {
        from_account_id: bobAcc.id,
        to_account_id: aliceAcc.id,
        amount: 500,
        currency: 'GBP',
      }),
      transfer(
        running,
        alice,
        { from_account_id: aliceAcc.id, to_account_id: bobAcc.id, amount: 7, currency: 'GBP' },
        shared,
      ),
      // Bob uses the same key for a different transfer: his own key, not Alice's.
      transfer(
        running,
        bob,
        { from_account_id: bobAcc.id, to_account_id: aliceAcc.id, amount: 11, currency: 'GBP' },
        shared,
      ),
      // Alice repeats her request in the same batch: a replay of hers.
      transfer(
        running,
        alice,
        { from_account_id: aliceAcc.id, to_account_id: bobAcc.id, amount: 7, currency: 'GBP' },
        shared,
      ),
      transfer(running, bob, {
        from_account_id: bobAcc.id,
        to_account_id: randomUUID(),
        amount: 1,
        currency: 'GBP',
      }),
      transfer(running, bob, {
        from_account_id: bobAcc.id,
        to_account_id: aliceAcc.id,
        amount: 1,
        currency: 'EUR',
      }),
    ]);
    for (const r of [steal, aliceOwn, bobSameKey, aliceAgain, missing, wrongCurrency]) {
      note(
        `[attack] batch item -> ${r.status} ${r.body.code ?? r.body.amount} replayed=${r.headers['idempotent-replayed']}`,
      );
    }
    expect(steal.status).toBe(404);
    expect(steal.body.details[0].field).toBe('from_account_id');
    expect(aliceOwn.status).toBe(201);
    expect(aliceOwn.body.amount).toBe(7);
    expect(bobSameKey.status).toBe(201);
    expect(bobSameKey.body.amount).toBe(11);
    expect(aliceAgain.status).toBe(201);
    expect(aliceAgain.body.id).toBe(aliceOwn.body.id);
    expect(aliceOwn.headers['idempotent-replayed']).toBeUndefined();
    expect(bobSameKey.headers['idempotent-replayed']).toBeUndefined();
    expect(aliceAgain.headers['idempotent-replayed']).toBe('true');
    expect(missing.status).toBe(404);
    expect(wrongCurrency.status).toBe(422);
    const batches = await db.query(`SELECT count(*)::int AS n FROM transactions.entries WHERE amount = 500`);
    expect(batches.rows[0].n).toBe(0);
  });

  it('answers a posting that waited too long 503 ledger_busy, and posts nothing for it', async () => {
    await holder.query('BEGIN');
    await holder.query('SELECT 1 FROM transactions.ledger_accounts WHERE id = $1 FOR UPDATE', [blocker.id]);
    const key = randomUUID();
    const reference = `busy ${randomUUID().slice(0, 8)}`;
    try {
      const stuck = transfer(running, blockerOwner, {
        from_account_id: blocker.id,
        to_account_id: aliceAcc.id,
        amount: 3,
        currency: 'GBP',
      }).then((r) => r);
      await lockWaiters(db, 1, '%post_entries%', 'the batch to wait on the row');
      const busy = await transfer(
        running,
        alice,
        { from_account_id: aliceAcc.id, to_account_id: bobAcc.id, amount: 5, currency: 'GBP', reference },
        key,
      );
      note(`[attack] queued past the timeout -> ${busy.status} ${JSON.stringify(busy.body)}`);
      expect(busy.status).toBe(503);
      expect(busy.headers['retry-after']).toBe('1');
      expect(busy.headers['cache-control']).toBe('no-store');
      expect(Object.keys(busy.body).sort()).toEqual(['code', 'details', 'message', 'request_id', 'status']);
      expect(busy.body.code).toBe('ledger_busy');
      await holder.query('COMMIT');
      expect((await stuck).status).toBe(201);
    } catch (err) {
      await holder.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
    const posted = await db.query(
      `SELECT count(*)::int AS n FROM transactions.entries WHERE reference = $1`,
      [reference],
    );
    expect(posted.rows[0].n).toBe(0);
    const keys = await db.query(
      `SELECT count(*)::int AS n FROM transactions.idempotency_keys WHERE key = $1`,
      [key],
    );
    expect(keys.rows[0].n).toBe(0);
    // The same key again posts, once.
    const retry = await transfer(
      running,
      alice,
      { from_account_id: aliceAcc.id, to_account_id: bobAcc.id, amount: 5, currency: 'GBP', reference },
      key,
    );
    expect(retry.status).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
  });

  describe('verification routes', () => {
    let customer: Actor;
    let staff: Actor;
    beforeAll(async () => {
      customer = await newCustomer(running, 'nosy');
      staff = await promote(running, admin, await newCustomer(running, 'staffer'));
    }, 60_000);

    it('roles, bad modes and ids, one background run at a time', async () => {
      const base = request(running.baseUrl);
      await base.get('/admin/ledger/verify').expect(401);
      await base.get('/admin/ledger/verify').set(bearer(customer.token)).expect(403);
      await base.post('/admin/ledger/verifications').set(bearer(customer.token)).expect(403);
      await base.get(`/admin/ledger/verifications/${randomUUID()}`).set(bearer(customer.token)).expect(403);
      for (const q of ['mode=bogus', 'mode=FULL', 'mode[]=full', 'mode=full&mode=incremental']) {
        const res = await base.get(`/admin/ledger/verify?${q}`).set(bearer(staff.token));
        note(`[attack] verify?${q} -> ${res.status} ${JSON.stringify(res.body.details)}`);
        expect(res.status).toBe(400);
        expect(res.body.details[0].field).toMatch(/^mode/);
        const post = await base.post(`/admin/ledger/verifications?${q}`).set(bearer(staff.token));
        expect(post.status).toBe(400);
      }
      const bad = await base.get('/admin/ledger/verifications/not-a-uuid').set(bearer(staff.token));
      expect(bad.status).toBe(400);
      const missing = await base.get(`/admin/ledger/verifications/${randomUUID()}`).set(bearer(staff.token));
      expect(missing.status).toBe(404);
      // The first run is held at the checkpoints (a lock taken here) so that it is still running when the
      // second is asked for: on a small ledger it could otherwise finish first.
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE transactions.ledger_checkpoints IN EXCLUSIVE MODE');
      let first: request.Response;
      let second: request.Response;
      try {
        // incremental: it takes the checkpoints' lock first (a full run takes it only to write its own).
        first = await base.post('/admin/ledger/verifications?mode=incremental').set(bearer(staff.token));
        expect(first.status).toBe(202);
        await lockWaiters(
          db,
          1,
          '%ledger_checkpoints%',
          'the first verification to wait for the checkpoints',
        );
        second = await base.post('/admin/ledger/verifications').set(bearer(admin.token));
        await holder.query('COMMIT');
      } catch (err) {
        await holder.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
      note(`[attack] two POSTs -> ${first.status} ${second.status} ${second.body.code}`);
      expect(first.headers['cache-control']).toBe('no-store');
      expect(second.status).toBe(409);
      expect(second.body.code).toBe('verification_running');
      const done = await eventually(
        async () => {
          const r = await base.get(`/admin/ledger/verifications/${first.body.id}`).set(bearer(admin.token));
          return r.body.status === 'running' ? undefined : r;
        },
        30_000,
        'the verification to finish',
      );
      note(`[attack] verification -> ${JSON.stringify(done.body)}`);
      expect(done.body.status).toBe('completed');
      expect(done.body.result.ok).toBe(true);
      expect(done.headers['cache-control']).toBe('no-store');
    });

    it('runs one verification asked over HTTP at a time: staff asking at once cannot take the postings’ connections', async () => {
      // A run writing its checkpoint (held here) makes the next ones wait, each on a pooled connection
      // (as a full run at a million entries holds one for a minute): 12 at once are more than the pool.
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE transactions.ledger_checkpoints IN EXCLUSIVE MODE');
      const asks = Array.from({ length: 12 }, () =>
        request(running.baseUrl)
          .get('/admin/ledger/verify')
          .set(bearer(staff.token))
          .then((r) => r),
      );
      try {
        await lockWaiters(db, 1, '%ledger_checkpoints%', 'a verification to wait for the checkpoints');
        // Not a timing assertion: without the limit this transfer never answers while the lock is held.
        const posted = await transfer(running, alice, {
          from_account_id: aliceAcc.id,
          to_account_id: bobAcc.id,
          amount: 1,
          currency: 'GBP',
        }).timeout({ response: 20_000 });
        expect(posted.status).toBe(201);
        await holder.query('COMMIT');
      } catch (err) {
        await holder.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
      const answers = await Promise.all(asks);
      const statuses = answers.map((r) => r.status).sort();
      note(`[attack] 12 verifications at once -> ${statuses.join(' ')}`);
      expect(statuses.filter((s) => s === 200)).toHaveLength(1);
      for (const r of answers.filter((a) => a.status !== 200)) {
        expect(r.status).toBe(409);
        expect(r.body.code).toBe('verification_running');
        expect(r.headers['retry-after']).toBeDefined();
      }
    });

    it('documents the routes and their answers in the OpenAPI document', async () => {
      const doc = (await request(running.baseUrl).get('/docs-json').expect(200)).body;
      const paths = doc.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>;
      const verify = paths['/admin/ledger/verify'].get.responses;
      const start = paths['/admin/ledger/verifications'].post.responses;
      const get = paths['/admin/ledger/verifications/{id}'].get.responses;
      note(
        `[attack] docs: verify ${Object.keys(verify)} start ${Object.keys(start)} get ${Object.keys(get)}`,
      );
      expect(Object.keys(start)).toEqual(expect.arrayContaining(['202', '400', '401', '403', '409']));
      expect(Object.keys(get)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '404']));
      expect(Object.keys(verify)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '409']));
    });
  });
});
