/**
 * Accounts, both topologies: opening (KYC-verified customers only) with checked numbers, reading (own
 * accounts only; staff any), the cached balance that a posting updates before it answers, staff
 * freezes and overdraft limits, closing at zero.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import request from 'supertest';
import { isValidAccountNumber } from '@protobank/contracts';
import { asReviewed, bearer, firstAdmin, newCustomer, type Actor } from '../support/actors';
import {
  type Account,
  balanceOf,
  deposit,
  issueCard,
  openAccount,
  submitKyc,
  transfer,
  verifiedCustomer,
} from '../support/banking';
import { lockWaiters } from '../support/lock-waits';
import { eventually } from '../support/test-env';
import { EXTERNAL_SORT_CODE, externalNumber, plusDays, today } from './payments.scenarios';
import type { Running } from '../support/topologies';

export function accountsScenarios(get: () => Running) {
  const http = () => request(get().baseUrl);
  let admin: Actor;
  let db: Client;

  beforeAll(async () => {
    admin = await firstAdmin(get());
    db = await get().t.db();
  });

  describe('opening accounts', () => {
    it('refuses a customer whose KYC is not submitted, pending or rejected (403 kyc_required), opening nothing', async () => {
      const c = await newCustomer(get(), 'nokyc');
      const refused = async (state: string) => {
        // The state is read back through the API first, so each refusal is for the state it names.
        await http()
          .get('/users/me/kyc')
          .set(bearer(c.token))
          .expect(200)
          .expect(({ body }) => {
            expect(body.status).toBe(state);
          });
        const res = await http()
          .post('/accounts')
          .set(bearer(c.token))
          .send({ type: 'current', currency: 'GBP' });
        expect({ state, status: res.status, code: res.body.code }).toEqual({
          state,
          status: 403,
          code: 'kyc_required',
        });
      };
      await refused('not_submitted');
      await submitKyc(get(), c);
      await refused('pending');
      await http()
        .post(`/admin/kyc/${c.id}/reject`)
        .set(bearer(admin.token))
        .send(await asReviewed(http(), admin.token, c.id))
        .send({ reason_code: 'document_unreadable', reason: 'Document image unreadable' })
        .expect(200);
      await refused('rejected');
      await http().get('/accounts').set(bearer(c.token)).expect(200, { data: [], next_cursor: null });
    });

    it('opens GBP, EUR, USD and JPY accounts with unique numbers that pass the modulus check', async () => {
      const c = await verifiedCustomer(get(), admin, 'opener');
      const opened = [];
      for (const currency of ['GBP', 'EUR', 'USD', 'JPY']) {
        const res = await http()
          .post('/accounts')
          .set(bearer(c.token))
          .send({ type: currency === 'GBP' ? 'current' : 'savings', currency, name: `My ${currency}` })
          .expect(201);
        expect(res.body).toMatchObject({
          owner_id: c.id,
          sort_code: '99-00-01',
          currency,
          name: `My ${currency}`,
          status: 'active',
          balance: 0,
          held_amount: 0,
          available_balance: 0,
          overdraft_limit: 0,
        });
        expect(isValidAccountNumber('990001', res.body.account_number)).toBe(true);
        opened.push(res.body);
      }
      expect(new Set(opened.map((a) => a.account_number)).size).toBe(4);
      const list = await http().get('/accounts').set(bearer(c.token)).expect(200);
      expect(list.body.data.map((a: { id: string }) => a.id)).toEqual(opened.map((a) => a.id));
      const res = await http()
        .post('/accounts')
        .set(bearer(c.token))
        .send({ type: 'current', currency: 'GBP' })
        .expect(201);
      expect(res.body.name).toBe('Current account');
    });

    it('names each bad field and opens nothing', async () => {
      const c = await verifiedCustomer(get(), admin, 'badopen');
      const res = await http()
        .post('/accounts')
        .set(bearer(c.token))
        .send({ type: 'checking', currency: 'XYZ', name: '', owner_id: c.id })
        .expect(400);
      expect(res.body.details.map((d: { field: string }) => d.field)).toEqual(
        expect.arrayContaining(['type', 'currency', 'name', 'owner_id']),
      );
      await http().get('/accounts').set(bearer(c.token)).expect(200, { data: [], next_cursor: null });
    });
  });

  describe('the account cap', () => {
    const cap = () => Number(get().t.env.MAX_ACCOUNTS_PER_CUSTOMER ?? 10);

    it('holds MAX_ACCOUNTS_PER_CUSTOMER against openings sent at once (409 opening_in_progress)', async () => {
      const c = await verifiedCustomer(get(), admin, 'capped');
      const open = () =>
        http().post('/accounts').set(bearer(c.token)).send({ type: 'current', currency: 'GBP' });
      // All at once: they used to count the same accounts and pass together (150 opened 111).
      const burst = await Promise.all(Array.from({ length: 40 }, open));
      const outcomes = new Set(burst.map((r) => `${r.status} ${r.body.code ?? ''}`.trim()));
      expect(
        [...outcomes].filter((o) => !['201', '409 opening_in_progress', '422 too_many_accounts'].includes(o)),
      ).toEqual([]);
      const opened = burst.filter((r) => r.status === 201).length;
      expect(opened).toBeGreaterThan(0);
      expect(opened).toBeLessThanOrEqual(cap());
      // One at a time, up to the cap and no further.
      for (let n = opened; n < cap(); n++) await open().expect(201);
      const refused = await open().expect(422);
      expect(refused.body.code).toBe('too_many_accounts');
      const list = await http().get('/accounts').set(bearer(c.token)).expect(200);
      expect(list.body.data).toHaveLength(cap());
    });
  });

  describe('reading accounts', () => {
    it("answers 404 for another customer's account and lets staff read any", async () => {
      const [alice, bob] = [
        await verifiedCustomer(get(), admin, 'reader.a'),
        await verifiedCustomer(get(), admin, 'reader.b'),
      ];
      const acc = await openAccount(get(), alice);
      // Named as any refusal names its field, and the same whether the account is another's or none.
      const notFound = {
        status: 404,
        code: 'not_found',
        details: [{ field: 'id', message: 'no such account' }],
      };
      for (const path of ['', '/balance', '/statement']) {
        const res = await http().get(`/accounts/${acc.id}${path}`).set(bearer(bob.token));
        expect({ path, ...res.body, request_id: undefined, message: undefined }).toEqual({
          path,
          ...notFound,
        });
      }
      const close = await http().post(`/accounts/${acc.id}/close`).set(bearer(bob.token)).expect(404);
      expect(close.body.details).toEqual(notFound.details);
      const none = await http().get(`/accounts/${randomUUID()}`).set(bearer(alice.token)).expect(404);
      expect(none.body.details).toEqual(notFound.details);
      await http().get('/accounts/not-a-uuid').set(bearer(alice.token)).expect(400);
      const staff = await http().get(`/accounts/${acc.id}`).set(bearer(admin.token)).expect(200);
      expect(staff.body.id).toBe(acc.id);
      const byOwner = await http()
        .get(`/admin/accounts?owner_id=${alice.id}`)
        .set(bearer(admin.token))
        .expect(200);
      expect(byOwner.body.data.map((a: { id: string }) => a.id)).toEqual([acc.id]);
      await http().get(`/admin/accounts?owner_id=${alice.id}`).set(bearer(alice.token)).expect(403);
    });
  });

  describe('renaming', () => {
    const rename = (who: Actor, id: string, body: unknown) =>
      http()
        .patch(`/accounts/${id}`)
        .set(bearer(who.token))
        .send(body as object);
    const nameOf = async (who: Actor, id: string) =>
      (await http().get(`/accounts/${id}`).set(bearer(who.token)).expect(200)).body.name;

    it("renames its owner's account (trimmed, NFC), shown wherever the account is read", async () => {
      const alice = await verifiedCustomer(get(), admin, 'rename.a');
      const acc = await openAccount(get(), alice);
      await deposit(get(), admin, acc, 500);
      const res = await rename(alice, acc.id, { name: '  Cafe\u0301 fund ' }).expect(200);
      expect(res.body).toEqual({ ...acc, name: 'Café fund', balance: 500, available_balance: 500 });
      expect(await nameOf(alice, acc.id)).toBe('Café fund');
      const list = await http().get('/accounts').set(bearer(alice.token)).expect(200);
      expect(list.body.data.map((a: { name: string }) => a.name)).toEqual(['Café fund']);
      // Staff read it too; the same name again changes nothing and answers the account.
      expect(await nameOf(admin, acc.id)).toBe('Café fund');
      await rename(alice, acc.id, { name: 'Café fund' }).expect(200);
      expect(await nameOf(alice, acc.id)).toBe('Café fund');
    });

    it('names the bad field and renames nothing', async () => {
      const alice = await verifiedCustomer(get(), admin, 'rename.bad');
      const acc = await openAccount(get(), alice);
      const bad: Array<[string, unknown, string]> = [
        ['no name', {}, 'name'],
        ['an empty one', { name: '   ' }, 'name'],
        ['61 characters', { name: 'x'.repeat(61) }, 'name'],
        ['a right-to-left override', { name: 'Bills\u202Egpj.exe' }, 'name'],
        ['a number', { name: 42 }, 'name'],
        ['null', { name: null }, 'name'],
        ['an unknown field', { name: 'Ok', owner_id: randomUUID() }, 'owner_id'],
      ];
      for (const [what, body, field] of bad) {
        const res = await rename(alice, acc.id, body);
        expect({
          what,
          status: res.status,
          fields: res.body.details?.map((d: { field: string }) => d.field),
        }).toEqual({ what, status: 400, fields: [field] });
      }
      const badId = await rename(alice, 'not-a-uuid', { name: 'Ok' });
      expect([badId.status, badId.body.details?.[0]?.field]).toEqual([400, 'id']);
      expect(await nameOf(alice, acc.id)).toBe('Current account');
    });

    it("answers 404 to anyone but the owner, staff too, for another's account as for none", async () => {
      const [alice, bob] = [
        await verifiedCustomer(get(), admin, 'rename.owner'),
        await verifiedCustomer(get(), admin, 'rename.other'),
      ];
      const acc = await openAccount(get(), alice);
      for (const [who, id] of [
        [bob, acc.id],
        [admin, acc.id],
        [alice, randomUUID()],
      ] as Array<[Actor, string]>) {
        const res = await rename(who, id, { name: 'Mine now' });
        expect([res.status, res.body.code, res.body.details]).toEqual([
          404,
          'not_found',
          [{ field: 'id', message: 'no such account' }],
        ]);
      }
      expect(await nameOf(alice, acc.id)).toBe('Current account');
    });

    it('renames a frozen account, and keeps a closed one as it closed (409 account_closed naming id)', async () => {
      const alice = await verifiedCustomer(get(), admin, 'rename.state');
      const [frozen, closing] = [await openAccount(get(), alice), await openAccount(get(), alice)];
      await http()
        .post(`/admin/accounts/${frozen.id}/freeze`)
        .set(bearer(admin.token))
        .send({ reason: 'Test: checking a payment' })
        .expect(200);
      const res = await rename(alice, frozen.id, { name: 'Frozen for now' }).expect(200);
      expect(res.body).toMatchObject({ name: 'Frozen for now', status: 'frozen' });
      await http().post(`/accounts/${closing.id}/close`).set(bearer(alice.token)).expect(200);
      const closed = await rename(alice, closing.id, { name: 'Old' });
      expect([closed.status, closed.body.code, closed.body.details]).toEqual([
        409,
        'account_closed',
        [{ field: 'id', message: 'this account is closed' }],
      ]);
      expect(await nameOf(alice, closing.id)).toBe('Current account');
    });

    it('takes turns with a close of the same account: a rename the close waited for stands, one that waited for the close is 409', async () => {
      const alice = await verifiedCustomer(get(), admin, 'rename.race');
      const [renamedFirst, closedFirst] = [await openAccount(get(), alice), await openAccount(get(), alice)];
      const holder = await get().t.db();
      const close = (id: string) =>
        http()
          .post(`/accounts/${id}/close`)
          .set(bearer(alice.token))
          .then((res) => res);
      const renameTo = (id: string, name: string) => () => rename(alice, id, { name }).then((res) => res);
      // Both hold the account's row while they read the ledger's status and write; the test holds it
      // first, sends one and then the other, each seen waiting for it (in the order sent), then lets go.
      const inTurn = async (
        id: string,
        first: () => Promise<request.Response>,
        then: () => Promise<request.Response>,
      ) => {
        const waiting = '%"accounts"."accounts"%FOR NO KEY UPDATE%';
        await holder.query('BEGIN');
        try {
          await holder.query('SELECT 1 FROM accounts.accounts WHERE id = $1 FOR UPDATE', [id]);
          const one = first();
          await lockWaiters(db, 1, waiting, 'the first request to wait for the account row');
          const two = then();
          await lockWaiters(db, 2, waiting, 'the second request to wait for the account row');
          await holder.query('COMMIT');
          return await Promise.all([one, two]);
        } finally {
          await holder.query('ROLLBACK');
        }
      };
      // Before, a rename read the status, a close committed, and the rename landed on the closed account,
      // answered as active (helper-169).
      const [renamed, closed] = await inTurn(renamedFirst.id, renameTo(renamedFirst.id, 'Renamed'), () =>
        close(renamedFirst.id),
      );
      expect([renamed.status, renamed.body.name, renamed.body.status]).toEqual([200, 'Renamed', 'active']);
      expect([closed.status, closed.body.name, closed.body.status]).toEqual([200, 'Renamed', 'closed']);
      const [closedNow, refused] = await inTurn(
        closedFirst.id,
        () => close(closedFirst.id),
        renameTo(closedFirst.id, 'Too late'),
      );
      expect([closedNow.status, closedNow.body.status]).toEqual([200, 'closed']);
      expect([refused.status, refused.body.code, refused.body.details]).toEqual([
        409,
        'account_closed',
        [{ field: 'id', message: 'this account is closed' }],
      ]);
      expect(await nameOf(alice, closedFirst.id)).toBe('Current account');
    });
  });

  describe('balance cache', () => {
    it('caches the balance for 60 s and never serves the old one after a posting', async () => {
      const alice = await verifiedCustomer(get(), admin, 'cache.a');
      const bob = await verifiedCustomer(get(), admin, 'cache.b');
      const a = await openAccount(get(), alice);
      const b = await openAccount(get(), bob);
      expect(await balanceOf(get(), alice, a)).toBe(0); // now cached
      const prefix = get().t.env.REDIS_KEY_PREFIX;
      const redis = await get().t.redis();
      const ttl = await redis.ttl(`${prefix}balance:${a.id}`);
      expect(ttl).toBeGreaterThan(50);
      expect(ttl).toBeLessThanOrEqual(60);
      await deposit(get(), admin, a, 10000);
      expect(await balanceOf(get(), alice, a)).toBe(10000);
      for (let i = 1; i <= 5; i++) {
        await transfer(get(), alice, {
          from_account_id: a.id,
          to_account_id: b.id,
          amount: 100,
          currency: 'GBP',
        }).expect(201);
        expect(await balanceOf(get(), alice, a)).toBe(10000 - i * 100);
        expect(await balanceOf(get(), bob, b)).toBe(i * 100);
      }
      const res = await http().get(`/accounts/${a.id}/balance`).set(bearer(alice.token)).expect(200);
      expect(res.body).toEqual({
        account_id: a.id,
        currency: 'GBP',
        balance: 9500,
        held_amount: 0,
        available_balance: 9500,
        as_of: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      });
    });
  });

  describe('staff controls', () => {
    it('freezes and unfreezes: nothing leaves a frozen account, payments in still land', async () => {
      const alice = await verifiedCustomer(get(), admin, 'freeze.a');
      const bob = await verifiedCustomer(get(), admin, 'freeze.b');
      const a = await openAccount(get(), alice);
      const b = await openAccount(get(), bob);
      await deposit(get(), admin, a, 5000);
      const why = { reason: 'Suspected account takeover' };
      await http().post(`/admin/accounts/${a.id}/freeze`).set(bearer(alice.token)).send(why).expect(403);
      const frozen = await http()
        .post(`/admin/accounts/${a.id}/freeze`)
        .set(bearer(admin.token))
        .send(why)
        .expect(200);
      expect(frozen.body).toMatchObject({ status: 'frozen', balance: 5000, available_balance: 0 });
      const out = await transfer(get(), alice, {
        from_account_id: a.id,
        to_account_id: b.id,
        amount: 1,
        currency: 'GBP',
      });
      expect([out.status, out.body.code]).toEqual([409, 'account_frozen']);
      expect(out.body.details).toEqual([expect.objectContaining({ field: 'from_account_id' })]);
      await deposit(get(), admin, b, 100);
      // Refusing them would tell the payer the account is frozen (and tip off its holder).
      await transfer(get(), bob, {
        from_account_id: b.id,
        to_account_id: a.id,
        amount: 1,
        currency: 'GBP',
      }).expect(201);
      const held = await http().get(`/accounts/${a.id}/balance`).set(bearer(alice.token)).expect(200);
      expect([held.body.balance, held.body.available_balance]).toEqual([5001, 0]);
      await http().post(`/admin/accounts/${a.id}/unfreeze`).set(bearer(admin.token)).send(why).expect(200);
      await transfer(get(), alice, {
        from_account_id: a.id,
        to_account_id: b.id,
        amount: 1,
        currency: 'GBP',
      }).expect(201);
      await http()
        .post(`/admin/accounts/${randomUUID()}/freeze`)
        .set(bearer(admin.token))
        .send(why)
        .expect(404);
    });

    it('sets an overdraft limit the ledger enforces to the minor unit', async () => {
      const alice = await verifiedCustomer(get(), admin, 'od.a');
      const a = await openAccount(get(), alice);
      const b = await openAccount(get(), alice, 'GBP', 'savings');
      const bad = await http()
        .patch(`/admin/accounts/${a.id}`)
        .set(bearer(admin.token))
        .send({ overdraft_limit: -1, reason: 'Agreed' });
      expect([bad.status, bad.body.details[0].field]).toEqual([400, 'overdraft_limit']);
      await http()
        .patch(`/admin/accounts/${a.id}`)
        .set(bearer(admin.token))
        .send({ overdraft_limit: '5', reason: 'Agreed' })
        .expect(400);
      // Too large is one answer, however large: the configured bound (MAX_OVERDRAFT_LIMIT), not 2^53.
      for (const overdraft_limit of [10_000_001, Number.MAX_SAFE_INTEGER, 10 ** 16]) {
        const large = await http()
          .patch(`/admin/accounts/${a.id}`)
          .set(bearer(admin.token))
          .send({ overdraft_limit, reason: 'Agreed' });
        expect([overdraft_limit, large.status, large.body.details]).toEqual([
          overdraft_limit,
          400,
          [{ field: 'overdraft_limit', message: 'overdraft_limit must not exceed 10000000 minor units' }],
        ]);
      }
      await http()
        .patch(`/admin/accounts/${a.id}`)
        .set(bearer(alice.token))
        .send({ overdraft_limit: 5000, reason: 'Agreed' })
        .expect(403);
      const res = await http()
        .patch(`/admin/accounts/${a.id}`)
        .set(bearer(admin.token))
        .send({ overdraft_limit: 5000, reason: 'Agreed' })
        .expect(200);
      expect(res.body).toMatchObject({ overdraft_limit: 5000, balance: 0, available_balance: 5000 });
      const over = await transfer(get(), alice, {
        from_account_id: a.id,
        to_account_id: b.id,
        amount: 5001,
        currency: 'GBP',
      });
      expect([over.status, over.body.code]).toEqual([422, 'insufficient_funds']);
      expect(over.body.details).toEqual([{ field: 'from_account_id', message: expect.any(String) }]);
      await transfer(get(), alice, {
        from_account_id: a.id,
        to_account_id: b.id,
        amount: 5000,
        currency: 'GBP',
      }).expect(201);
      expect(await balanceOf(get(), alice, a)).toBe(-5000);
      const none = await transfer(get(), alice, {
        from_account_id: a.id,
        to_account_id: b.id,
        amount: 1,
        currency: 'GBP',
      });
      expect(none.body.code).toBe('insufficient_funds');
    });
  });

  describe('closing', () => {
    it('closes only at a zero balance, after which no money moves in', async () => {
      const alice = await verifiedCustomer(get(), admin, 'close.a');
      const a = await openAccount(get(), alice);
      const b = await openAccount(get(), alice, 'GBP', 'savings');
      await deposit(get(), admin, a, 300);
      const notZero = await http().post(`/accounts/${a.id}/close`).set(bearer(alice.token));
      expect([notZero.status, notZero.body.code]).toEqual([409, 'balance_not_zero']);
      await transfer(get(), alice, {
        from_account_id: a.id,
        to_account_id: b.id,
        amount: 300,
        currency: 'GBP',
      }).expect(201);
      const closed = await http().post(`/accounts/${a.id}/close`).set(bearer(alice.token)).expect(200);
      expect(closed.body).toMatchObject({ status: 'closed', balance: 0, available_balance: 0 });
      const again = await http().post(`/accounts/${a.id}/close`).set(bearer(alice.token));
      expect([again.status, again.body.code]).toEqual([409, 'account_closed']);
      const into = await transfer(get(), alice, {
        from_account_id: b.id,
        to_account_id: a.id,
        amount: 1,
        currency: 'GBP',
      });
      expect([into.status, into.body.code]).toEqual([409, 'account_closed']);
      // The answer says which account is closed: the one paid into, here.
      expect(into.body.details).toEqual([{ field: 'to_account_id', message: 'this account is closed' }]);
      const outOf = await transfer(get(), alice, {
        from_account_id: a.id,
        to_account_id: b.id,
        amount: 1,
        currency: 'GBP',
      });
      expect([outOf.status, outOf.body.details]).toEqual([
        409,
        [{ field: 'from_account_id', message: 'this account is closed' }],
      ]);
      const freeze = await http()
        .post(`/admin/accounts/${a.id}/freeze`)
        .set(bearer(admin.token))
        .send({ reason: 'Closed account check' });
      expect([freeze.status, freeze.body.code]).toEqual([409, 'account_closed']);
      const [row] = (await db.query('SELECT status FROM transactions.ledger_accounts WHERE id = $1', [a.id]))
        .rows;
      expect(row.status).toBe('closed');
    });

    it("ends what would spend from a closed account: its cards and payment orders are cancelled, the others' kept", async () => {
      const carol = await verifiedCustomer(get(), admin, 'close.cascade');
      const closing = await openAccount(get(), carol);
      const kept = await openAccount(get(), carol, 'GBP', 'savings');
      const card = async (account: Account) => (await issueCard(get(), carol, account)).id;
      const [active, frozen, other] = [await card(closing), await card(closing), await card(kept)];
      await http().post(`/cards/${frozen}/freeze`).set(bearer(carol.token)).expect(200);
      const gym = (
        await http()
          .post('/payees')
          .set(bearer(carol.token))
          .send({ name: 'Gym', sort_code: EXTERNAL_SORT_CODE, account_number: externalNumber(3000001) })
          .expect(201)
      ).body.id as string;
      const order = async (path: string, account: Account, dates: Record<string, string>) =>
        (
          await http()
            .post(path)
            .set(bearer(carol.token))
            .set('Idempotency-Key', randomUUID())
            .send({
              from_account_id: account.id,
              payee_id: gym,
              amount: 2500,
              currency: 'GBP',
              reference: 'GYM',
              ...dates,
            })
            .expect(201)
        ).body.id as string;
      const monthly = { frequency: 'monthly', start_date: plusDays(today(), 5) };
      const standing = await order('/standing-orders', closing, monthly);
      const scheduled = await order('/scheduled-payments', closing, { pay_on: plusDays(today(), 7) });
      const keptOrder = await order('/standing-orders', kept, monthly);

      await http().post(`/accounts/${closing.id}/close`).set(bearer(carol.token)).expect(200);

      const cardsAfter = await eventually(
        async () => {
          const list = (await http().get('/cards').set(bearer(carol.token)).expect(200)).body.data as {
            id: string;
            status: string;
            cancel_reason: string | null;
          }[];
          const byId = new Map(list.map((c) => [c.id, [c.status, c.cancel_reason]]));
          return byId.get(active)?.[0] === 'cancelled' && byId.get(frozen)?.[0] === 'cancelled'
            ? byId
            : undefined;
        },
        15_000,
        "the closed account's cards cancelled",
      );
      expect(Object.fromEntries(cardsAfter)).toEqual({
        [active]: ['cancelled', 'account_closed'],
        [frozen]: ['cancelled', 'account_closed'],
        [other]: ['active', null],
      });
      const read = async (path: string) =>
        (await http().get(path).set(bearer(carol.token)).expect(200)).body as {
          status: string;
          status_reason: string | null;
        };
      const orders = await eventually(
        async () => {
          const now = {
            standing: await read(`/standing-orders/${standing}`),
            scheduled: await read(`/scheduled-payments/${scheduled}`),
            kept: await read(`/standing-orders/${keptOrder}`),
          };
          return now.standing.status === 'cancelled' && now.scheduled.status === 'cancelled'
            ? now
            : undefined;
        },
        15_000,
        "the closed account's orders cancelled",
      );
      expect(orders).toMatchObject({
        standing: { status: 'cancelled', status_reason: 'account_closed' },
        scheduled: { status: 'cancelled', status_reason: 'account_closed' },
        kept: { status: 'active', status_reason: null },
      });
      // Nothing is left to pay from it, and nothing new can spend from it.
      const open = await db.query(
        `SELECT count(*)::int AS n FROM payments.payments p
          WHERE p.order_id = ANY($1::uuid[]) AND p.status IN ('pending', 'retrying', 'processing')`,
        [[standing, scheduled]],
      );
      expect(open.rows[0].n).toBe(0);
      const issued = await http()
        .post('/cards')
        .set(bearer(carol.token))
        .send({ account_id: closing.id, type: 'virtual' });
      expect([issued.status, issued.body.code]).toEqual([409, 'account_closed']);
    });

    it('refuses a card, standing order or scheduled payment whose creation read the account open just before it closed (409 account_closed): each kept cancelled and named', async () => {
      const dave = await verifiedCustomer(get(), admin, 'close.race');
      const closing = await openAccount(get(), dave);
      const gym = (
        await http()
          .post('/payees')
          .set(bearer(dave.token))
          .send({
            name: 'Gym',
            sort_code: EXTERNAL_SORT_CODE,
            account_number: externalNumber(3000101),
            reference: 'GYM',
          })
          .expect(201)
      ).body.id as string;
      // The creations' own locks (cards: one issue at a time per customer; payments: one order creation),
      // held here: each request reads the account open, then waits for its lock while the account closes
      // and its account.closed handlers find nothing to cancel yet.
      const holder = await get().t.db();
      await holder.query('BEGIN');
      let card: Promise<request.Response>;
      let order: Promise<request.Response>;
      let scheduled: Promise<request.Response>;
      const orderKey = randomUUID();
      const orderBody = {
        from_account_id: closing.id,
        payee_id: gym,
        amount: 2500,
        currency: 'GBP',
        frequency: 'monthly',
        start_date: plusDays(today(), 5),
      };
      const createOrder = () =>
        http()
          .post('/standing-orders')
          .set(bearer(dave.token))
          .set('Idempotency-Key', orderKey)
          .send(orderBody);
      try {
        await holder.query(`SELECT pg_advisory_xact_lock($1, hashtext($2))`, [0x63_61_72_64, dave.id]);
        await holder.query(`SELECT pg_advisory_xact_lock($1, hashtext($2))`, [0x6f_72_64_73, dave.id]);
        card = http()
          .post('/cards')
          .set(bearer(dave.token))
          .send({ account_id: closing.id, type: 'virtual' })
          .then((res) => res);
        await lockWaiters(db, 1, '%pg_advisory_xact_lock%', 'the card issue to wait');
        order = createOrder().then((res) => res);
        await lockWaiters(db, 2, '%pg_advisory_xact_lock%', 'the order creation to wait');
        scheduled = http()
          .post('/scheduled-payments')
          .set(bearer(dave.token))
          .set('Idempotency-Key', randomUUID())
          .send({
            from_account_id: closing.id,
            payee_id: gym,
            amount: 900,
            currency: 'GBP',
            pay_on: plusDays(today(), 3),
          })
          .then((res) => res);
        await lockWaiters(db, 3, '%pg_advisory_xact_lock%', 'the scheduled payment to wait');
        await http().post(`/accounts/${closing.id}/close`).set(bearer(dave.token)).expect(200);
        await eventually(
          async () => {
            const { rows } = await db.query(
              `WITH closed AS (SELECT id FROM transactions.outbox
                                WHERE name = 'account.closed' AND payload->>'account_id' = $1)
               SELECT (SELECT count(*) FROM cards.inbox WHERE event_id IN (SELECT id FROM closed))::int
                    + (SELECT count(*) FROM payments.inbox WHERE event_id IN (SELECT id FROM closed))::int AS n`,
              [closing.id],
            );
            return rows[0].n === 2 ? true : undefined;
          },
          15_000,
          'both account.closed handlers to run',
        );
      } finally {
        await holder.query('ROLLBACK');
      }
      const [issued, created, once] = await Promise.all([card!, order!, scheduled!]);
      expect([issued.status, issued.body.code]).toEqual([409, 'account_closed']);
      expect([created.status, created.body.code]).toEqual([409, 'account_closed']);
      expect([once.status, once.body.code]).toEqual([409, 'account_closed']);
      // A retry with the same key answers as the first request did, not with the cancelled order.
      const retried = await createOrder();
      expect([retried.status, retried.body.code]).toEqual([409, 'account_closed']);
      // The card was made, so it is kept, cancelled, and the refusal names it.
      const cards = (await http().get('/cards').set(bearer(dave.token)).expect(200)).body.data as {
        id: string;
        status: string;
        cancel_reason: string;
      }[];
      expect(cards.map((c) => [c.status, c.cancel_reason])).toEqual([['cancelled', 'account_closed']]);
      expect(issued.body.details).toEqual([
        { field: 'account_id', message: `closed as card ${cards[0].id} was issued: cancelled` },
      ]);
      // The orders were made too: kept, cancelled, and each refusal names its own.
      const orders = (await http().get('/standing-orders').set(bearer(dave.token)).expect(200)).body.data as {
        id: string;
        status: string;
        status_reason: string;
      }[];
      expect(orders.map((o) => [o.status, o.status_reason])).toEqual([['cancelled', 'account_closed']]);
      expect(created.body.details).toEqual([
        {
          field: 'from_account_id',
          message: `closed as standing order ${orders[0].id} was set up: cancelled`,
        },
      ]);
      const payments = (await http().get('/scheduled-payments').set(bearer(dave.token)).expect(200)).body
        .data as { id: string; status: string; status_reason: string }[];
      expect(payments.map((p) => [p.status, p.status_reason])).toEqual([['cancelled', 'account_closed']]);
      expect(once.body.details).toEqual([
        {
          field: 'from_account_id',
          message: `closed as scheduled payment ${payments[0].id} was set up: cancelled`,
        },
      ]);
    });
  });
}
