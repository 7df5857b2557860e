/**
 * Ledger races forced into one order, both topologies (issue 16). Each test holds a ledger row's lock in
 * a connection of its own, sends the racing requests, waits until Postgres shows each of them blocked on
 * a lock (in the order sent: a row's waiters are granted it first come, first served), or the ledger's
 * batcher shows it queued behind those, then lets go.
 * So the interleaving a storm may or may not hit happens on every run. Also: a balance cache write that
 * fails after a posting does not leave the old balance to be read.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import request from 'supertest';
import { bearer, firstAdmin, type Actor } from '../support/actors';
import {
  balanceOf,
  deposit,
  ledgerBatcher,
  openAccount,
  transfer,
  verifiedCustomer,
  type Account,
} from '../support/banking';
import { lockedQueries, lockWaiters } from '../support/lock-waits';
import { eventually } from '../support/test-env';
import type { Running } from '../support/topologies';

/** The app's SQL that the tests wait on: every posting, and an account's close. */
const POSTING = '%transactions.post_entries(%';
const CLOSING = `%SET status = 'closed'%`;

export function ledgerRaceScenarios(get: () => Running) {
  describe('ledger races', () => {
    const http = () => request(get().baseUrl);
    let admin: Actor;
    let db: Client;
    let holder: Client;
    let alice: Actor;
    let bob: Actor;

    beforeAll(async () => {
      admin = await firstAdmin(get());
      db = await get().t.db();
      holder = await get().t.db();
      alice = await verifiedCustomer(get(), admin, 'race.alice');
      bob = await verifiedCustomer(get(), admin, 'race.bob');
    });

    /** One racing request: how to send it, the app's SQL it waits in (a LIKE pattern), and what it is. */
    type Step = [request.Test, string, string];

    /**
     * Waits until `n` postings wait: each batch in flight on a row lock in Postgres (one posting each here,
     * since each is sent once the one before waits), and the postings queued in the ledger's batcher
     * behind them (LEDGER_BATCHES_IN_FLIGHT batches run at once), which go, in the order they came, once
     * a batch ends.
     */
    const postingsWaiting = (n: number, what: string) =>
      eventually(
        async () => {
          const locked = (await lockedQueries(db, POSTING)).length;
          return locked + (await ledgerBatcher(get())).waiting >= n ? true : undefined;
        },
        15000,
        what,
      );

    /**
     * Holds the row locks of these ledger accounts, sends each request in turn and waits until it waits
     * (Postgres shows one more statement like its pattern waiting on a lock; a posting may instead queue
     * in the batcher behind the batches that do), then lets go: the requests reach the rows in this order.
     * Their responses, in the same order.
     */
    const inOrder = async (accountIds: string[], steps: Step[]): Promise<request.Response[]> => {
      await holder.query('BEGIN');
      const sent: Promise<request.Response>[] = [];
      try {
        await holder.query(
          'SELECT id FROM transactions.ledger_accounts WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE',
          [accountIds],
        );
        const waiting = new Map<string, number>();
        for (const [req, pattern, what] of steps) {
          // supertest sends a request only once it is awaited or then-ed.
          sent.push(req.then((res) => res));
          waiting.set(pattern, (waiting.get(pattern) ?? 0) + 1);
          if (pattern === POSTING) await postingsWaiting(waiting.get(pattern)!, `${what} to wait`);
          else await lockWaiters(db, waiting.get(pattern)!, pattern, `${what} to wait`);
        }
      } finally {
        await holder.query('ROLLBACK');
      }
      return Promise.all(sent);
    };

    const ledgerRow = async (id: string) => {
      const r = await db.query(
        `SELECT status, balance::text AS balance FROM transactions.ledger_accounts WHERE id = $1`,
        [id],
      );
      return { status: r.rows[0].status as string, balance: Number(r.rows[0].balance) };
    };

    const verify = async () =>
      (await http().get('/admin/ledger/verify').set(bearer(admin.token)).expect(200)).body;

    const outcome = (res: request.Response) =>
      res.status === 201 || res.status === 200 ? res.status : `${res.status} ${res.body.code}`;

    const reverse = (transactionId: string, key = randomUUID()) =>
      http()
        .post(`/admin/transactions/${transactionId}/reverse`)
        .set(bearer(admin.token))
        .set('Idempotency-Key', key)
        .send({ reason: 'Test: raced reversal' });

    it('posts opposite transfers whose lock orders would cross, both of them, with no deadlock', async () => {
      const a = await openAccount(get(), alice);
      const b = await openAccount(get(), bob);
      await deposit(get(), admin, a, 1000);
      await deposit(get(), admin, b, 1000);
      // lo sorts first by id. The holder keeps hi; the transfer out of hi is queued first, then the one
      // into it. Locking each request's own accounts debit first, the first would take hi after the holder
      // and wait for lo, which the second took while waiting for hi: a deadlock. The ledger locks both in
      // id order, so the second waits for lo instead.
      const [lo, hi] = a.id < b.id ? [a, b] : [b, a];
      const ownerOf = (x: Account) => (x === a ? alice : bob);
      const results = await inOrder(
        [hi.id],
        [
          [
            transfer(get(), ownerOf(hi), {
              from_account_id: hi.id,
              to_account_id: lo.id,
              amount: 300,
              currency: 'GBP',
            }),
            POSTING,
            'the transfer out of hi',
          ],
          [
            transfer(get(), ownerOf(lo), {
              from_account_id: lo.id,
              to_account_id: hi.id,
              amount: 200,
              currency: 'GBP',
            }),
            POSTING,
            'the transfer into hi',
          ],
        ],
      );
      expect(results.map(outcome)).toEqual([201, 201]);
      expect(await ledgerRow(hi.id)).toEqual({ status: 'active', balance: 1000 - 300 + 200 });
      expect(await ledgerRow(lo.id)).toEqual({ status: 'active', balance: 1000 + 300 - 200 });
      expect(await balanceOf(get(), ownerOf(hi), hi)).toBe(900);
      expect(await balanceOf(get(), ownerOf(lo), lo)).toBe(1100);
      expect(await verify()).toMatchObject({ ok: true, mismatches: [] });
    });

    it('lets one of two bodies sent at once under one Idempotency-Key through (201) and refuses the other (422)', async () => {
      const a = await openAccount(get(), alice);
      const b = await openAccount(get(), bob);
      await deposit(get(), admin, a, 1000);
      const key = randomUUID();
      const body = { from_account_id: a.id, to_account_id: b.id, currency: 'GBP' };
      // The first request has claimed the key and waits for the account; the second, another amount
      // under the same key, arrives while the first is still undecided.
      const [won, lost] = await inOrder(
        [a.id],
        [
          [transfer(get(), alice, { ...body, amount: 100 }, key), POSTING, 'the first request'],
          [transfer(get(), alice, { ...body, amount: 250 }, key), POSTING, 'the second request'],
        ],
      );
      expect([outcome(won), outcome(lost)]).toEqual([201, '422 idempotency_key_reused']);
      expect(won.body.amount).toBe(100);
      const posted = await db.query(
        `SELECT amount::int FROM transactions.entries WHERE debit_account_id = $1 AND kind = 'transfer'`,
        [a.id],
      );
      expect(posted.rows).toEqual([{ amount: 100 }]);
      expect(await balanceOf(get(), alice, a)).toBe(900);
      expect(await balanceOf(get(), bob, b)).toBe(100);
      // The key keeps the winner's answer.
      const replay = await transfer(get(), alice, { ...body, amount: 100 }, key).expect(201);
      expect([replay.body.id, replay.headers['idempotent-replayed']]).toEqual([won.body.id, 'true']);
    });

    it('reverses a transaction once when three reversals with their own keys race (the others 409 already_reversed)', async () => {
      const x = await openAccount(get(), alice);
      const y = await openAccount(get(), bob);
      await deposit(get(), admin, x, 1000);
      const t = await transfer(get(), alice, {
        from_account_id: x.id,
        to_account_id: y.id,
        amount: 400,
        currency: 'GBP',
      }).expect(201);
      // The payee has enough for every reversal: only the rule of one reversal per transaction refuses.
      await deposit(get(), admin, y, 1000);
      const results = await inOrder(
        [y.id],
        [1, 2, 3].map((i): Step => [reverse(t.body.id), POSTING, `reversal ${i}`]),
      );
      expect(results.map(outcome).sort()).toEqual([201, '409 already_reversed', '409 already_reversed']);
      const reversals = await db.query(`SELECT id FROM transactions.entries WHERE reverses_id = $1`, [
        t.body.id,
      ]);
      expect(reversals.rows.map((r) => r.id)).toEqual([results.find((r) => r.status === 201)!.body.id]);
      expect(await balanceOf(get(), alice, x)).toBe(1000);
      expect(await balanceOf(get(), bob, y)).toBe(1000);
      expect(await verify()).toMatchObject({ ok: true, mismatches: [] });
    });

    it("never overdraws the payee past the limit when a reversal races a payment out of the payee's account", async () => {
      // The ledger's rule: a reversal takes the money back from the payee under the funds rule like
      // any debit (balance - held - amount >= -overdraft_limit). Whichever of the two is decided first
      // posts; the other, which would overdraw, is 422 insufficient_funds.
      const x = await openAccount(get(), alice);
      const y = await openAccount(get(), bob);
      const z = await openAccount(get(), bob, 'GBP', 'savings');
      await deposit(get(), admin, x, 2000);
      await http()
        .patch(`/admin/accounts/${y.id}`)
        .set(bearer(admin.token))
        .send({ overdraft_limit: 100, reason: 'Test: limit for the race' })
        .expect(200);
      const pay = (): Step => [
        transfer(get(), bob, { from_account_id: y.id, to_account_id: z.id, amount: 550, currency: 'GBP' }),
        POSTING,
        'the payment',
      ];
      const race = async (first: 'reversal' | 'payment') => {
        const t = await transfer(get(), alice, {
          from_account_id: x.id,
          to_account_id: y.id,
          amount: 600,
          currency: 'GBP',
        }).expect(201);
        const reversal: Step = [reverse(t.body.id), POSTING, 'the reversal'];
        const [r, p] =
          first === 'reversal'
            ? await inOrder([y.id], [reversal, pay()])
            : (await inOrder([y.id], [pay(), reversal])).reverse();
        return { reversal: outcome(r), payment: outcome(p), payee: await ledgerRow(y.id) };
      };
      // Reversal first: y goes back to 0, and the payment would take it to -550.
      expect(await race('reversal')).toEqual({
        reversal: 201,
        payment: '422 insufficient_funds',
        payee: { status: 'active', balance: 0 },
      });
      // Payment first: y keeps 50, and the reversal would take it to -550.
      expect(await race('payment')).toEqual({
        reversal: '422 insufficient_funds',
        payment: 201,
        payee: { status: 'active', balance: 50 },
      });
      expect(await balanceOf(get(), bob, y)).toBe(50);
      expect(await balanceOf(get(), bob, z)).toBe(550);
      expect(await balanceOf(get(), alice, x)).toBe(2000 - 600);
      expect(await verify()).toMatchObject({ ok: true, mismatches: [] });
    });

    it('closes an account at zero with a racing transfer into it refused, or keeps it open holding the money', async () => {
      const w = await openAccount(get(), alice);
      await deposit(get(), admin, w, 1000);
      const race = async (first: 'close' | 'transfer') => {
        const z = await openAccount(get(), bob, 'GBP', 'savings');
        const close: Step = [
          http().post(`/accounts/${z.id}/close`).set(bearer(bob.token)),
          CLOSING,
          'the close',
        ];
        const pay: Step = [
          transfer(get(), alice, {
            from_account_id: w.id,
            to_account_id: z.id,
            amount: 250,
            currency: 'GBP',
          }),
          POSTING,
          'the transfer',
        ];
        const [c, p] =
          first === 'close'
            ? await inOrder([z.id], [close, pay])
            : (await inOrder([z.id], [pay, close])).reverse();
        return { close: outcome(c), transfer: outcome(p), account: await ledgerRow(z.id) };
      };
      expect(await race('close')).toEqual({
        close: 200,
        transfer: '409 account_closed',
        account: { status: 'closed', balance: 0 },
      });
      expect(await race('transfer')).toEqual({
        close: '409 balance_not_zero',
        transfer: 201,
        account: { status: 'active', balance: 250 },
      });
      expect(await balanceOf(get(), alice, w)).toBe(750);
      expect(await verify()).toMatchObject({ ok: true, mismatches: [] });
    });

    it('reads the right balances after a posting whose balance cache write failed', async () => {
      const p = await openAccount(get(), alice);
      const q = await openAccount(get(), bob);
      await deposit(get(), admin, p, 1000);
      // Both balances are cached now: p's 1000, q's 0.
      expect(await balanceOf(get(), alice, p)).toBe(1000);
      expect(await balanceOf(get(), bob, q)).toBe(0);
      // Poison the payer's key with a list: the posting's cache write (one script for both accounts,
      // payer first) fails on it with WRONGTYPE, before it reaches q's entry, which still says 0.
      const redis = await get().t.redis();
      const prefix = get().t.env.REDIS_KEY_PREFIX;
      await redis.del(`${prefix}balance:${p.id}`);
      await redis.rpush(`${prefix}balance:${p.id}`, 'not a balance');
      await expect(
        redis.eval(`return redis.call('GET', KEYS[1])`, 1, `${prefix}balance:${p.id}`),
      ).rejects.toThrow(/WRONGTYPE/);
      await transfer(get(), alice, {
        from_account_id: p.id,
        to_account_id: q.id,
        amount: 300,
        currency: 'GBP',
      }).expect(201);
      expect(await balanceOf(get(), bob, q)).toBe(300);
      expect(await balanceOf(get(), alice, p)).toBe(700);
      expect(await ledgerRow(q.id)).toEqual({ status: 'active', balance: 300 });
    });
  });
}
