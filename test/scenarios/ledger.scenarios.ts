/**
 * Transfers, deposits, reversals, history, statements and the ledger's own check, both topologies.
 * Money is integer minor units; every money-moving POST carries an Idempotency-Key.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import request from 'supertest';
import { accountNumberFor } from '@protobank/contracts';
import { bearer, firstAdmin, newCustomer, readsFiled, type Actor } from '../support/actors';
import {
  balanceOf,
  deposit,
  openAccount,
  promote,
  transfer,
  verifiedCustomer,
  type Account,
} from '../support/banking';
import { eventually } from '../support/test-env';
import type { Running } from '../support/topologies';

export function ledgerScenarios(get: () => Running) {
  const http = () => request(get().baseUrl);
  let admin: Actor;
  let db: Client;
  let alice: Actor;
  let bob: Actor;

  beforeAll(async () => {
    admin = await firstAdmin(get());
    db = await get().t.db();
    alice = await verifiedCustomer(get(), admin, 'ledger.alice');
    bob = await verifiedCustomer(get(), admin, 'ledger.bob');
  });

  const verify = async () =>
    (await http().get('/admin/ledger/verify').set(bearer(admin.token)).expect(200)).body;

  describe('transfers', () => {
    let a: Account;
    let b: Account;
    beforeAll(async () => {
      a = await openAccount(get(), alice);
      b = await openAccount(get(), bob);
      await deposit(get(), admin, a, 100000);
    });

    it('moves money by account id and by account number, and records transaction.created', async () => {
      const byId = await transfer(get(), alice, {
        from_account_id: a.id,
        to_account_id: b.id,
        amount: 2550,
        currency: 'GBP',
        reference: 'Dinner',
      }).expect(201);
      expect(byId.body).toMatchObject({
        kind: 'transfer',
        status: 'posted',
        amount: 2550,
        currency: 'GBP',
        from_account_id: a.id,
        to_account_id: b.id,
        reference: 'Dinner',
        reverses_id: null,
      });
      const byNumber = await transfer(get(), alice, {
        from_account_id: a.id,
        to_account_number: b.account_number,
        amount: 450,
        currency: 'GBP',
      }).expect(201);
      expect(byNumber.body.to_account_id).toBe(b.id);
      expect(await balanceOf(get(), alice, a)).toBe(100000 - 3000);
      expect(await balanceOf(get(), bob, b)).toBe(3000);
      const [event] = (
        await db.query(`SELECT payload FROM transactions.outbox WHERE payload->>'transaction_id' = $1`, [
          byId.body.id,
        ])
      ).rows;
      expect(event.payload).toMatchObject({
        transaction_id: byId.body.id,
        kind: 'transfer',
        from_account_id: a.id,
        from_owner_id: alice.id,
        to_account_id: b.id,
        to_owner_id: bob.id,
        amount: 2550,
        currency: 'GBP',
        reference: 'Dinner',
        merchant: null,
        category: null,
        created_at: byId.body.created_at,
      });
      // The relay publishes it (in-process or to RabbitMQ), woken at once after the commit.
      await eventually(
        async () => {
          const r = await db.query('SELECT published_at FROM transactions.outbox WHERE id = $1', [
            event.payload.event_id,
          ]);
          return r.rows[0].published_at ?? undefined;
        },
        10000,
        'transaction.created to be published',
      );
    });

    it('requires an Idempotency-Key, replays the first response for the same key and body, refuses another body', async () => {
      const body = { from_account_id: a.id, to_account_id: b.id, amount: 100, currency: 'GBP' };
      const missing = await http().post('/transactions').set(bearer(alice.token)).send(body).expect(400);
      expect(missing.body.details[0].field).toBe('Idempotency-Key');
      const key = randomUUID();
      const before = await balanceOf(get(), alice, a);
      const first = await transfer(get(), alice, body, key).expect(201);
      expect(first.headers['idempotent-replayed']).toBeUndefined();
      const again = await transfer(get(), alice, body, key).expect(201);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.body).toEqual(first.body);
      const other = await transfer(get(), alice, { ...body, amount: 101 }, key).expect(422);
      expect(other.body.code).toBe('idempotency_key_reused');
      expect(await balanceOf(get(), alice, a)).toBe(before - 100);
      // A refused request replays its refusal too, and the key stays spent.
      const poorKey = randomUUID();
      const poor = { ...body, amount: 99999999 };
      expect((await transfer(get(), alice, poor, poorKey).expect(422)).body.code).toBe('insufficient_funds');
      const replay = await transfer(get(), alice, poor, poorKey).expect(422);
      expect([replay.body.code, replay.headers['idempotent-replayed']]).toEqual([
        'insufficient_funds',
        'true',
      ]);
      // Keys are per customer: Bob's use of the same key is his own.
      await deposit(get(), admin, b, 100);
      await transfer(
        get(),
        bob,
        { from_account_id: b.id, to_account_id: a.id, amount: 100, currency: 'GBP' },
        key,
      ).expect(201);
    });

    it('moves money once for concurrent requests with one key', async () => {
      const key = randomUUID();
      const body = { from_account_id: a.id, to_account_id: b.id, amount: 7, currency: 'GBP' };
      const before = await balanceOf(get(), alice, a);
      const results = await Promise.all(Array.from({ length: 10 }, () => transfer(get(), alice, body, key)));
      expect(results.map((r) => r.status)).toEqual(Array(10).fill(201));
      expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
      expect(results.filter((r) => r.headers['idempotent-replayed'] === 'true')).toHaveLength(9);
      expect(await balanceOf(get(), alice, a)).toBe(before - 7);
    });

    it('rejects bad amounts and currencies with 400 naming the field, moving nothing', async () => {
      const before = await balanceOf(get(), alice, a);
      const cases: [unknown, string][] = [
        ['100', 'amount'],
        [25.5, 'amount'],
        [-5, 'amount'],
        [0, 'amount'],
        [100000001, 'amount'], // above MAX_AMOUNT (100000000 by default)
        [null, 'amount'],
      ];
      for (const [amount, field] of cases) {
        const res = await transfer(get(), alice, {
          from_account_id: a.id,
          to_account_id: b.id,
          amount,
          currency: 'GBP',
        });
        expect({
          amount,
          status: res.status,
          fields: res.body.details?.map((d: { field: string }) => d.field),
        }).toEqual({
          amount,
          status: 400,
          fields: expect.arrayContaining([field]),
        });
      }
      for (const currency of ['gbp', 'XYZ', 826, undefined]) {
        const res = await transfer(get(), alice, {
          from_account_id: a.id,
          to_account_id: b.id,
          amount: 1,
          currency,
        });
        expect({ currency, status: res.status, field: res.body.details?.[0]?.field }).toEqual({
          currency,
          status: 400,
          field: 'currency',
        });
      }
      const both = await transfer(get(), alice, {
        from_account_id: a.id,
        to_account_id: b.id,
        to_account_number: b.account_number,
        amount: 1,
        currency: 'GBP',
      }).expect(400);
      expect(both.body.details[0].field).toBe('to_account_id');
      await transfer(get(), alice, { from_account_id: a.id, amount: 1, currency: 'GBP' }).expect(400);
      expect(await balanceOf(get(), alice, a)).toBe(before);
    });

    it('refuses a mistyped account number (check digit), an unknown one, the same account, another currency', async () => {
      const n = b.account_number;
      const typo = n.slice(0, 7) + String((Number(n[7]) + 1) % 10);
      const bad = await transfer(get(), alice, {
        from_account_id: a.id,
        to_account_number: typo,
        amount: 1,
        currency: 'GBP',
      });
      expect([bad.status, bad.body.details[0].field]).toEqual([400, 'to_account_number']);
      const unissued = accountNumberFor('990001', 9999990) ?? accountNumberFor('990001', 9999991)!;
      const unknown = await transfer(get(), alice, {
        from_account_id: a.id,
        to_account_number: unissued,
        amount: 1,
        currency: 'GBP',
      });
      expect([unknown.status, unknown.body.details[0].field]).toEqual([404, 'to_account_number']);
      const unknownId = await transfer(get(), alice, {
        from_account_id: a.id,
        to_account_id: randomUUID(),
        amount: 1,
        currency: 'GBP',
      });
      expect([unknownId.status, unknownId.body.details[0].field]).toEqual([404, 'to_account_id']);
      const same = await transfer(get(), alice, {
        from_account_id: a.id,
        to_account_id: a.id,
        amount: 1,
        currency: 'GBP',
      });
      expect([same.status, same.body.code]).toEqual([422, 'same_account']);
      // Another customer's account as both sides, by id or by its number: not found, as with any other
      // destination (same_account would confirm which number that id has).
      for (const to of [{ to_account_id: b.id }, { to_account_number: b.account_number }]) {
        const theirs = await transfer(get(), alice, {
          from_account_id: b.id,
          ...to,
          amount: 1,
          currency: 'GBP',
        });
        expect([theirs.status, theirs.body.code, theirs.body.details[0].field]).toEqual([
          404,
          'not_found',
          'from_account_id',
        ]);
      }
      const eur = await transfer(get(), alice, {
        from_account_id: a.id,
        to_account_id: b.id,
        amount: 1,
        currency: 'EUR',
      });
      expect([eur.status, eur.body.code]).toEqual([422, 'currency_mismatch']);
      const bobEur = await openAccount(get(), bob, 'EUR');
      const cross = await transfer(get(), alice, {
        from_account_id: a.id,
        to_account_id: bobEur.id,
        amount: 1,
        currency: 'GBP',
      });
      expect([cross.status, cross.body.code]).toEqual([422, 'currency_mismatch']);
    });

    it("answers 404 for a transfer out of another customer's account and moves nothing", async () => {
      const before = await balanceOf(get(), alice, a);
      const res = await transfer(get(), bob, {
        from_account_id: a.id,
        to_account_id: b.id,
        amount: 1,
        currency: 'GBP',
      });
      expect([res.status, res.body.details[0].field]).toEqual([404, 'from_account_id']);
      expect(await balanceOf(get(), alice, a)).toBe(before);
    });

    it('moves a zero-decimal currency (JPY) in whole yen', async () => {
      const jy = await openAccount(get(), alice, 'JPY');
      const jb = await openAccount(get(), bob, 'JPY');
      await deposit(get(), admin, jy, 5000);
      await transfer(get(), alice, {
        from_account_id: jy.id,
        to_account_id: jb.id,
        amount: 2550,
        currency: 'JPY',
      }).expect(201);
      expect(await balanceOf(get(), bob, jb)).toBe(2550);
      const csv = await http()
        .get(`/accounts/${jb.id}/statement`)
        .set(bearer(bob.token))
        .set('Accept', 'text/csv')
        .expect(200);
      expect(csv.text).toContain(',2550,2550,JPY');
    });
  });

  describe('history and statements', () => {
    it('lists an account newest first with the balance after each, paged by cursor and filtered by date', async () => {
      const c = await verifiedCustomer(get(), admin, 'history');
      const x = await openAccount(get(), c);
      const y = await openAccount(get(), c, 'GBP', 'savings');
      await deposit(get(), admin, x, 1000);
      for (let i = 1; i <= 5; i++) {
        await transfer(get(), c, {
          from_account_id: x.id,
          to_account_id: y.id,
          amount: i * 10,
          currency: 'GBP',
          reference: `t${i}`,
        }).expect(201);
      }
      const page1 = await http()
        .get(`/transactions?account_id=${x.id}&limit=4`)
        .set(bearer(c.token))
        .expect(200);
      expect(page1.body.data.map((t: { reference: string }) => t.reference)).toEqual([
        't5',
        't4',
        't3',
        't2',
      ]);
      expect(page1.body.data[0]).toMatchObject({ direction: 'debit', amount: 50, balance_after: 1000 - 150 });
      const page2 = await http()
        .get(`/transactions?account_id=${x.id}&limit=4&cursor=${page1.body.next_cursor}`)
        .set(bearer(c.token))
        .expect(200);
      expect(
        page2.body.data.map((t: { reference: string | null; kind: string }) => t.reference ?? t.kind),
      ).toEqual(['t1', 'Test funding']);
      expect(page2.body.next_cursor).toBeNull();
      const credit = await http()
        .get(`/transactions?account_id=${y.id}&limit=1`)
        .set(bearer(c.token))
        .expect(200);
      expect(credit.body.data[0]).toMatchObject({ direction: 'credit', amount: 50, balance_after: 150 });
      const future = await http()
        .get(`/transactions?account_id=${x.id}&from=2999-01-01`)
        .set(bearer(c.token))
        .expect(200);
      expect(future.body.data).toEqual([]);
      const today = new Date().toISOString().slice(0, 10);
      const todays = await http()
        .get(`/transactions?account_id=${x.id}&from=${today}&to=${today}`)
        .set(bearer(c.token))
        .expect(200);
      expect(todays.body.data).toHaveLength(6);
      for (const q of [
        '',
        'account_id=nope',
        `account_id=${x.id}&cursor=garbage`,
        // a version cursor with an element more than the API writes
        `account_id=${x.id}&cursor=${Buffer.from('["5",1]').toString('base64url')}`,
        `account_id=${x.id}&from=2026-02-30`,
        `account_id=${x.id}&from=2026-12-02&to=2026-12-01`,
        `account_id=${x.id}&limit=1000`,
      ]) {
        const res = await http().get(`/transactions?${q}`).set(bearer(c.token));
        expect({ q, status: res.status }).toEqual({ q, status: 400 });
      }
      await http().get(`/transactions?account_id=${x.id}`).set(bearer(alice.token)).expect(404);
      await http().get(`/transactions?account_id=${x.id}`).set(bearer(admin.token)).expect(200);
      const one = page1.body.data[0];
      expect((await http().get(`/transactions/${one.id}`).set(bearer(c.token)).expect(200)).body.id).toBe(
        one.id,
      );
      await http().get(`/transactions/${one.id}`).set(bearer(alice.token)).expect(404);
      await http().get(`/transactions/${one.id}`).set(bearer(admin.token)).expect(200);
      await http().get(`/transactions/${randomUUID()}`).set(bearer(c.token)).expect(404);
    });

    it('gives a statement with opening balance, running balances and closing balance, as JSON and CSV', async () => {
      const c = await verifiedCustomer(get(), admin, 'statement');
      const x = await openAccount(get(), c);
      const y = await openAccount(get(), c, 'GBP', 'savings');
      await deposit(get(), admin, x, 10000);
      const [{ now: mark }] = (await db.query(`SELECT clock_timestamp() AS now`)).rows;
      await new Promise((r) => setTimeout(r, 5));
      await transfer(get(), c, {
        from_account_id: x.id,
        to_account_id: y.id,
        amount: 2550,
        currency: 'GBP',
        reference: 'Rent, "Nov"',
      }).expect(201);
      await transfer(get(), c, {
        from_account_id: y.id,
        to_account_id: x.id,
        amount: 50,
        currency: 'GBP',
      }).expect(201);
      const from = new Date(mark).toISOString();
      const json = await http()
        .get(`/accounts/${x.id}/statement?from=${from}`)
        .set(bearer(c.token))
        .expect(200);
      expect(json.body).toMatchObject({
        account_id: x.id,
        currency: 'GBP',
        opening_balance: 10000,
        closing_balance: 7500,
        entries: [
          expect.objectContaining({
            kind: 'transfer',
            amount: -2550,
            balance: 7450,
            reference: 'Rent, "Nov"',
            merchant: null,
          }),
          expect.objectContaining({ kind: 'transfer', amount: 50, balance: 7500, merchant: null }),
        ],
      });
      const whole = await http().get(`/accounts/${x.id}/statement`).set(bearer(c.token)).expect(200);
      expect([whole.body.opening_balance, whole.body.entries.length, whole.body.closing_balance]).toEqual([
        0, 3, 7500,
      ]);
      const csv = await http()
        .get(`/accounts/${x.id}/statement?from=${from}`)
        .set(bearer(c.token))
        .set('Accept', 'text/csv')
        .expect(200);
      expect(csv.headers['content-type']).toContain('text/csv');
      expect(csv.headers['content-disposition']).toContain(`statement-${x.account_number}-`);
      // Dates are bank days (Europe/London): July 2026 runs from 23:00 UTC on 30 June (summer time) to
      // 23:00 UTC on 31 July, and its CSV is named by its first and last day.
      const july = `/accounts/${x.id}/statement?from=2026-07-01&to=2026-07-31`;
      const julyJson = await http().get(july).set(bearer(c.token)).expect(200);
      expect([julyJson.body.from, julyJson.body.to]).toEqual([
        '2026-06-30T23:00:00.000Z',
        '2026-07-31T23:00:00.000Z',
      ]);
      const julyCsv = await http().get(july).set(bearer(c.token)).set('Accept', 'text/csv').expect(200);
      expect(julyCsv.headers['content-disposition']).toContain(
        `statement-${x.account_number}-2026-07-01-2026-07-31.csv`,
      );
      const lines = csv.text.trim().split('\r\n');
      expect(lines[0]).toBe('date,transaction_id,kind,reference,amount,balance,currency,time,merchant');
      expect(lines[1]).toContain(',opening_balance,,,100.00,GBP');
      expect(lines[2]).toContain(',transfer,"Rent, ""Nov""",-25.50,74.50,GBP,');
      expect(lines[3]).toContain(',transfer,,0.50,75.00,GBP');
      expect(lines[4]).toContain(',closing_balance,,,75.00,GBP');
      // Each line is dated by its bank day (Europe/London); its UTC instant is the column before the last.
      const londonDay = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London' });
      for (const line of lines.slice(2, 4)) {
        const cells = line.split(',');
        expect(cells[0]).toBe(londonDay.format(new Date(cells.at(-2)!)));
      }
      await http().get(`/accounts/${x.id}/statement?from=yesterday`).set(bearer(c.token)).expect(400);
      // Only `to`, a date: the statement of its month (this one, so far); it used to be 400.
      const [{ today }] = (
        await db.query(`SELECT to_char(now() AT TIME ZONE 'Europe/London', 'YYYY-MM-DD') AS today`)
      ).rows;
      const toOnly = await http()
        .get(`/accounts/${x.id}/statement?to=${today}`)
        .set(bearer(c.token))
        .expect(200);
      expect([toOnly.body.opening_balance, toOnly.body.entries.length, toOnly.body.closing_balance]).toEqual([
        0, 3, 7500,
      ]);
      // Only `from`, past now: 400 naming `from`, the field sent.
      const future = await http()
        .get(`/accounts/${x.id}/statement?from=2999-01-01`)
        .set(bearer(c.token))
        .expect(400);
      expect(future.body.details.map((d: { field: string }) => d.field)).toEqual(['from']);
    });

    it('refuses a statement of more than 5,000 lines (422 statement_too_large), filing no staff read for it', async () => {
      const c = await verifiedCustomer(get(), admin, 'statement.long');
      const x = await openAccount(get(), c);
      const y = await openAccount(get(), c, 'GBP', 'savings');
      await deposit(get(), admin, x, 10000);
      // 5,000 transfers of 1p from x to y, through the posting function in one statement (as the bench's
      // preload grows the ledger); their events marked published, so no consumer has 10,000 to work
      // through. The ledger stays one that verifies: every posting is the function's.
      await db.query('BEGIN');
      const posted = await db.query(
        `SELECT count(*)::int AS n
           FROM jsonb_array_elements(transactions.post_entries((
                  SELECT jsonb_agg(jsonb_build_object(
                           'entry_id', gen_random_uuid(), 'kind', 'transfer', 'debit', $1::uuid, 'credit', $2::uuid,
                           'amount', 1, 'currency', 'GBP', 'initiated_by', $3::uuid, 'debit_owner', $3::uuid,
                           'idem_owner', $3::uuid, 'idem_key', 'long-statement-' || g, 'request_hash', md5(g::text),
                           'headers', '{}'::jsonb) ORDER BY g)
                    FROM generate_series(1, 5000) g)) -> 'items') i
          WHERE i ->> 'outcome' = 'posted'`,
        [x.id, y.id, c.id],
      );
      // Written in this transaction (created_at = now(), its start): no relay has seen them.
      await db.query(
        `UPDATE transactions.outbox SET published_at = clock_timestamp()
          WHERE published_at IS NULL AND created_at = now() AND payload->>'from_account_id' = $1`,
        [x.id],
      );
      await db.query('COMMIT');
      expect(posted.rows[0].n).toBe(5000);
      // With the deposit, 5,001 lines this month: one too many, for the owner and for staff alike.
      const tooLarge = await http().get(`/accounts/${x.id}/statement`).set(bearer(c.token)).expect(422);
      expect(tooLarge.body.code).toBe('statement_too_large');
      const clerk = await promote(get(), admin, await newCustomer(get(), 'statement.clerk'));
      await http().get(`/accounts/${x.id}/statement`).set(bearer(clerk.token)).expect(422);
      const statementReads = () =>
        readsFiled(get(), admin, { actorId: clerk.id, ownerId: c.id, viewed: 'statement' });
      expect(await statementReads()).toBe(0);
      // A month with none of them answers, and that read is filed.
      const july = await http()
        .get(`/accounts/${x.id}/statement?from=2026-07-01&to=2026-07-31`)
        .set(bearer(clerk.token))
        .expect(200);
      expect(july.body.entries).toEqual([]);
      expect(await statementReads()).toBe(1);
      // Once its owner is a colleague, the clerk is refused before the ledger is asked: a 403, not the 422
      // that would tell them how busy the account was in any period they chose.
      await promote(get(), admin, c);
      const refused = await http().get(`/accounts/${x.id}/statement`).set(bearer(clerk.token)).expect(403);
      expect(refused.body.code).toBe('colleague_account');
      await http().get(`/accounts/${x.id}/statement`).set(bearer(admin.token)).expect(422);
      expect(await statementReads()).toBe(1);
    });

    it('answers at most 60 statements a minute to one customer, then 429 with Retry-After; a malformed request (400) does not count', async () => {
      const c = await verifiedCustomer(get(), admin, 'statements.limit');
      const x = await openAccount(get(), c);
      // An impossible date (the pipes), an unknown parameter (refused before them), a period ending before it starts.
      for (const query of ['from=2026-02-30', 'colour=red', 'from=2026-06-01&to=2026-05-01']) {
        for (let i = 0; i < 10; i++) {
          const bad = await http().get(`/accounts/${x.id}/statement?${query}`).set(bearer(c.token));
          expect([query, bad.status]).toEqual([query, 400]);
        }
      }
      const statuses: number[] = [];
      for (let i = 0; i < 60; i++) {
        statuses.push((await http().get(`/accounts/${x.id}/statement`).set(bearer(c.token))).status);
      }
      expect(new Set(statuses)).toEqual(new Set([200]));
      const limited = await http().get(`/accounts/${x.id}/statement`).set(bearer(c.token)).expect(429);
      expect(limited.body.code).toBe('rate_limited');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      // Another customer is not held back by it.
      const d = await verifiedCustomer(get(), admin, 'statements.other');
      const y = await openAccount(get(), d);
      await http().get(`/accounts/${y.id}/statement`).set(bearer(d.token)).expect(200);
    });
  });

  describe('staff: deposits, reversals, verify', () => {
    it('lets only staff deposit, in the account currency, never into their own account', async () => {
      const c = await verifiedCustomer(get(), admin, 'dep');
      const x = await openAccount(get(), c);
      const body = {
        account_id: x.id,
        amount: 500,
        currency: 'GBP',
        reason: 'Cash paid in at branch',
        reference: 'Cash paid in',
      };
      await http()
        .post('/admin/deposits')
        .set(bearer(c.token))
        .set('Idempotency-Key', randomUUID())
        .send(body)
        .expect(403);
      await http().post('/admin/deposits').set(bearer(admin.token)).send(body).expect(400);
      const eur = await http()
        .post('/admin/deposits')
        .set(bearer(admin.token))
        .set('Idempotency-Key', randomUUID())
        .send({ ...body, currency: 'EUR' });
      expect([eur.status, eur.body.code]).toEqual([422, 'currency_mismatch']);
      const missing = await http()
        .post('/admin/deposits')
        .set(bearer(admin.token))
        .set('Idempotency-Key', randomUUID())
        .send({ ...body, account_id: randomUUID() });
      expect([missing.status, missing.body.details[0].field]).toEqual([404, 'account_id']);
      const key = randomUUID();
      const first = await http()
        .post('/admin/deposits')
        .set(bearer(admin.token))
        .set('Idempotency-Key', key)
        .send(body)
        .expect(201);
      expect(first.body).toMatchObject({ kind: 'deposit', amount: 500, to_account_id: x.id });
      const again = await http()
        .post('/admin/deposits')
        .set(bearer(admin.token))
        .set('Idempotency-Key', key)
        .send(body)
        .expect(201);
      expect([again.body.id, again.headers['idempotent-replayed']]).toEqual([first.body.id, 'true']);
      expect(await balanceOf(get(), c, x)).toBe(500);
      // A system account (the cash shard the deposit came from) is not a place customers can pay.
      const toCash = await transfer(get(), c, {
        from_account_id: x.id,
        to_account_id: first.body.from_account_id,
        amount: 1,
        currency: 'GBP',
      });
      expect(toCash.status).toBe(404);
      // A staff member opens an account of their own, and cannot fund it.
      const staffer = await verifiedCustomer(get(), admin, 'staffer');
      await http()
        .patch(`/admin/users/${staffer.id}`)
        .set(bearer(admin.token))
        .send({ role: 'staff', reason: 'Test: staff change' })
        .expect(200);
      // The role change ends the staffer's sessions when auth takes its event (at once in the monolith,
      // over RabbitMQ in split): log in again only after that, as the staffer would be told to.
      await eventually(
        async () =>
          (await http().get('/users/me').set(bearer(staffer.token))).status === 401 ? true : undefined,
        10000,
        "the staffer's old session to end",
      );
      const relog = await http()
        .post('/auth/login')
        .send({ email: staffer.email, password: 'correct horse battery staple' })
        .expect(200);
      const own = await http()
        .post('/accounts')
        .set(bearer(relog.body.access_token))
        .send({ type: 'current', currency: 'GBP' })
        .expect(201);
      const self = await http()
        .post('/admin/deposits')
        .set(bearer(relog.body.access_token))
        .set('Idempotency-Key', randomUUID())
        .send({ ...body, account_id: own.body.id });
      expect([self.status, self.body.code]).toEqual([403, 'own_account']);
    });

    it('reverses a transaction once with a reversing entry, even on a frozen account', async () => {
      const c = await verifiedCustomer(get(), admin, 'rev.c');
      const d = await verifiedCustomer(get(), admin, 'rev.d');
      const x = await openAccount(get(), c);
      const y = await openAccount(get(), d);
      await deposit(get(), admin, x, 1000);
      const tBody = { from_account_id: x.id, to_account_id: y.id, amount: 600, currency: 'GBP' };
      const tKey = randomUUID();
      const t = await transfer(get(), c, tBody, tKey).expect(201);
      await http()
        .post(`/admin/accounts/${y.id}/freeze`)
        .set(bearer(admin.token))
        .send({ reason: 'Payee under investigation' })
        .expect(200);
      const path = `/admin/transactions/${t.body.id}/reverse`;
      await http()
        .post(path)
        .set(bearer(c.token))
        .set('Idempotency-Key', randomUUID())
        .send({ reason: 'Sent in error' })
        .expect(403);
      const noReason = await http()
        .post(path)
        .set(bearer(admin.token))
        .set('Idempotency-Key', randomUUID())
        .send({});
      expect([noReason.status, noReason.body.details[0].field]).toEqual([400, 'reason']);
      const rev = await http()
        .post(path)
        .set(bearer(admin.token))
        .set('Idempotency-Key', randomUUID())
        .send({ reason: 'Sent in error' })
        .expect(201);
      expect(rev.body).toMatchObject({
        kind: 'reversal',
        amount: 600,
        from_account_id: y.id,
        to_account_id: x.id,
        reverses_id: t.body.id,
        // The reason is for the audit trail; both customers read a neutral reference.
        reference: `Reversal of ${t.body.id}`,
      });
      expect(await balanceOf(get(), c, x)).toBe(1000);
      expect(await balanceOf(get(), d, y)).toBe(0);
      const original = await http().get(`/transactions/${t.body.id}`).set(bearer(c.token)).expect(200);
      expect(original.body).toMatchObject({ status: 'reversed', reversed_by_id: rev.body.id });
      // The transfer's retry answers what the entry is now, as reading it does: reversed.
      const retried = await transfer(get(), c, tBody, tKey).expect(201);
      expect(retried.headers['idempotent-replayed']).toBe('true');
      expect(retried.body).toEqual(original.body);
      const twice = await http()
        .post(path)
        .set(bearer(admin.token))
        .set('Idempotency-Key', randomUUID())
        .send({ reason: 'Sent in error' });
      expect([twice.status, twice.body.code]).toEqual([409, 'already_reversed']);
      const ofReversal = await http()
        .post(`/admin/transactions/${rev.body.id}/reverse`)
        .set(bearer(admin.token))
        .set('Idempotency-Key', randomUUID())
        .send({ reason: 'Sent in error' });
      expect([ofReversal.status, ofReversal.body.code]).toEqual([422, 'not_reversible']);
      await http()
        .post(`/admin/transactions/${randomUUID()}/reverse`)
        .set(bearer(admin.token))
        .set('Idempotency-Key', randomUUID())
        .send({ reason: 'Sent in error' })
        .expect(404);
      // The ledger is append-only: the database itself refuses edits.
      await expect(db.query('UPDATE transactions.postings SET amount = 1')).rejects.toThrow(/append-only/);
      await expect(db.query('DELETE FROM transactions.entries')).rejects.toThrow(/append-only/);
    });

    it('verifies the ledger: staff only, and clean', async () => {
      await http().get('/admin/ledger/verify').set(bearer(alice.token)).expect(403);
      await deposit(get(), admin, await openAccount(get(), alice), 100);
      const report = await verify();
      expect(report).toMatchObject({ ok: true, mismatches: [] });
      expect(report.checked_entries).toBeGreaterThan(0);
      expect(report.checked_accounts).toBeGreaterThan(192);
    });
  });

  describe('under concurrency', () => {
    it('keeps every invariant through 240 simultaneous transfers over four accounts', async () => {
      const owners = [alice, bob];
      const accounts = [
        await openAccount(get(), alice),
        await openAccount(get(), alice, 'GBP', 'savings'),
        await openAccount(get(), bob),
        await openAccount(get(), bob, 'GBP', 'savings'),
      ];
      const ownerOf = (i: number) => owners[i < 2 ? 0 : 1];
      const limits = [2000, 0, 500, 0]; // overdrafts are arranged on current accounts only
      for (let i = 0; i < 4; i++) {
        await deposit(get(), admin, accounts[i], 3000);
        if (limits[i]) {
          await http()
            .patch(`/admin/accounts/${accounts[i].id}`)
            .set(bearer(admin.token))
            .send({ overdraft_limit: limits[i], reason: 'Concurrency test limit' })
            .expect(200);
        }
      }
      const total = async () => {
        const r = await db.query(
          'SELECT sum(balance)::bigint AS s FROM transactions.ledger_accounts WHERE id = ANY($1::uuid[])',
          [accounts.map((x) => x.id)],
        );
        return Number(r.rows[0].s);
      };
      expect(await total()).toBe(12000);
      // Each balance is in the cache as the storm starts: every posting must bring it up to date.
      for (let i = 0; i < 4; i++) expect(await balanceOf(get(), ownerOf(i), accounts[i])).toBe(3000);

      // 240 requests: mostly from Alice's accounts to Bob's, far beyond what Alice holds (so most of
      // them overdraw), some the other way at the same time (opposite lock orders), and 40 sharing 10
      // keys (4 identical requests per key).
      const requests: { from: number; to: number; amount: number; key: string }[] = [];
      for (let n = 0; n < 200; n++) {
        const back = n % 5 === 0;
        const from = back ? 2 + (n % 2) : n % 2;
        const to = back ? n % 2 : 2 + ((n >> 1) % 2);
        requests.push({ from, to, amount: 300 + ((n * 37) % 900), key: randomUUID() });
      }
      for (let k = 0; k < 10; k++) {
        const shared = { from: k % 2, to: 2 + (k % 2), amount: 333, key: `shared-${randomUUID()}` };
        for (let copy = 0; copy < 4; copy++) requests.push(shared);
      }
      const responses = await Promise.all(
        requests.map((r) =>
          transfer(
            get(),
            ownerOf(r.from),
            {
              from_account_id: accounts[r.from].id,
              to_account_id: accounts[r.to].id,
              amount: r.amount,
              currency: 'GBP',
            },
            r.key,
          ),
        ),
      );
      const outcomes: Record<string, number> = {};
      for (const res of responses) {
        const label = `${res.status} ${res.status === 201 ? '' : res.body.code}`.trim();
        outcomes[label] = (outcomes[label] ?? 0) + 1;
      }
      // Only successes and refusals for funds: no 5xx, no deadlock, no conflict.
      expect(Object.keys(outcomes).sort()).toEqual(['201', '422 insufficient_funds']);
      expect(outcomes['422 insufficient_funds']).toBeGreaterThan(100);
      expect(outcomes['201']).toBeGreaterThan(10);

      // Each key moved money at most once, and every response for one key is the same.
      const byKey = new Map<string, Set<string>>();
      responses.forEach((res, i) => {
        const set = byKey.get(requests[i].key) ?? new Set<string>();
        set.add(res.status === 201 ? res.body.id : res.body.code);
        byKey.set(requests[i].key, set);
      });
      expect([...byKey.values()].every((s) => s.size === 1)).toBe(true);
      const entryIds = new Set(responses.filter((r) => r.status === 201).map((r) => r.body.id as string));
      const keysThatMoved = new Set(requests.filter((_, n) => responses[n].status === 201).map((r) => r.key));
      expect(entryIds.size).toBe(keysThatMoved.size);
      const posted = await db.query(
        `SELECT count(*)::int AS n FROM transactions.entries WHERE kind = 'transfer' AND (debit_account_id = ANY($1::uuid[]))`,
        [accounts.map((x) => x.id)],
      );
      expect(posted.rows[0].n).toBe(entryIds.size);

      // Money conserved, no balance below its limit, the balance read through the API (the cache, which
      // 240 racing postings wrote after their commits) is the ledger row's, and the ledger recomputes clean.
      expect(await total()).toBe(12000);
      for (let i = 0; i < 4; i++) {
        const [row] = (
          await db.query('SELECT balance::text AS balance FROM transactions.ledger_accounts WHERE id = $1', [
            accounts[i].id,
          ])
        ).rows;
        const read = (
          await http()
            .get(`/accounts/${accounts[i].id}/balance`)
            .set(bearer(ownerOf(i).token))
            .expect(200)
        ).body;
        const ledger = Number(row.balance);
        expect({
          i,
          balance: read.balance,
          available: read.available_balance,
          ok: ledger >= -limits[i],
        }).toEqual({ i, balance: ledger, available: Math.max(0, ledger + limits[i]), ok: true });
      }
      expect(await verify()).toMatchObject({ ok: true, mismatches: [] });
    });
  });
}
