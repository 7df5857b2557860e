/**
 * Payments, both topologies: payees, one-off scheduled payments and standing orders paid by the due sweep
 * through the ledger, exactly once per due date. The topologies run with PAYMENTS_TEST_ENV (every day a
 * working day, so "today" is always a paying day); a later date is brought forward by moving a
 * payment's next attempt in the database, as the passing of time would.
 */
import { accountNumberFor, type TransactionReversedEvent } from '@protobank/contracts';
import { randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import request from 'supertest';
import { bearer, firstAdmin, newCustomer, pageThrough, readsFiled, type Actor } from '../support/actors';
import { balanceOf, deposit, openAccount, promote, verifiedCustomer, type Account } from '../support/banking';
import { securityEventsCounted } from '../support/security-events';
import { eventually, metricValue, scrapeMetrics } from '../support/test-env';
import type { Running } from '../support/topologies';

export const PAYMENTS_TEST_ENV = {
  BANK_WEEKEND: 'none',
  BANK_TIME_ZONE: 'Europe/London',
  // Set-ups a customer may make in 24 hours: reached by the caps test, past its 100 open ones.
  PAYMENT_ORDERS_PER_DAY: '120',
};

/** Today in the bank's time zone (PAYMENTS_TEST_ENV's). */
export const today = (at = new Date()) =>
  new Intl.DateTimeFormat('en-CA', {
    timeZone: 'Europe/London',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(at);
export const plusDays = (date: string, days: number) =>
  new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
/** The same day next month, or that month's last day (what a monthly order started today pays on next). */
const nextMonth = (date: string) => {
  const [y, m, d] = date.split('-').map(Number);
  const last = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  return new Date(Date.UTC(y, m, Math.min(d, last))).toISOString().slice(0, 10);
};

/** An external bank's sort code, and numbers valid there. */
export const EXTERNAL_SORT_CODE = '200000';
export const externalNumber = (serial: number) =>
  accountNumberFor(EXTERNAL_SORT_CODE, serial) ?? accountNumberFor(EXTERNAL_SORT_CODE, serial + 1)!;

export function paymentsScenarios(get: () => Running) {
  describe('payments', () => {
    const http = () => request(get().baseUrl);
    let admin: Actor;
    let db: Client;
    let alice: Actor;
    let bob: Actor;
    let a: Account;
    let b: Account;
    let sortCode: string;

    const post = (who: Actor, path: string, body: Record<string, unknown>, key: string = randomUUID()) =>
      http().post(path).set(bearer(who.token)).set('Idempotency-Key', key).send(body);
    const payee = async (who: Actor, body: Record<string, unknown>) =>
      (await http().post('/payees').set(bearer(who.token)).send(body).expect(201)).body as {
        id: string;
        type: string;
      };
    /** payments_amount_minor_total in GBP for `outcome`, on the app running the sweeps. */
    const paymentsAmount = async (outcome: string) =>
      metricValue(
        await scrapeMetrics(get().t, get().services.payments ?? get().baseUrl),
        'payments_amount_minor_total',
        { outcome, currency: 'GBP' },
      );
    const runDue = () => http().post('/admin/payments/run-due').set(bearer(admin.token)).expect(200);
    /** An order's first payment once a sweep has refused it for funds (retrying). */
    const firstRefusal = (who: Actor, orderId: string) =>
      eventually(
        async () => {
          const [x] = await orderPayments(who, orderId);
          return x?.status === 'retrying' ? x : undefined;
        },
        60_000,
        'the first refusal',
      );
    /** Brings each of a payment's PAYMENT_RETRY_ATTEMPTS (3) retries due, and runs a sweep for it. */
    const retryUntilSpent = async (paymentId: string) => {
      for (let i = 0; i < 3; i++) {
        await db.query(
          `UPDATE payments.payments SET next_attempt_at = now() - interval '1 second' WHERE id = $1`,
          [paymentId],
        );
        await runDue();
      }
    };
    const scheduledPayment = (who: Actor, id: string) =>
      http().get(`/scheduled-payments/${id}`).set(bearer(who.token)).expect(200);
    /** The customer's payment.failed notice, once it is stored. */
    const failedNotice = (who: Actor) =>
      eventually(
        async () => {
          const r = await db.query(
            `SELECT body FROM notifications.notifications WHERE user_id = $1 AND type = 'payment.failed'`,
            [who.id],
          );
          return r.rows[0] as { body: string } | undefined;
        },
        15_000,
        `${who.email}'s payment.failed notification`,
      );
    const orderPayments = async (who: Actor, id: string) =>
      (await http().get(`/standing-orders/${id}/payments`).set(bearer(who.token)).expect(200)).body.data as {
        id: string;
        status: string;
        attempts: number;
        due_date: string;
        transaction_id: string | null;
        failure_reason: string | null;
        reversed_by_id: string | null;
      }[];
    /** Ledger entries of payments from this account with this reference (references are unique per test). */
    const entriesOf = async (account: Account, reference: string) =>
      (
        await db.query(
          `SELECT count(*)::int AS n FROM transactions.entries
            WHERE debit_account_id = $1 AND reference = $2 AND kind IN ('standing_order', 'scheduled_payment')`,
          [account.id, reference],
        )
      ).rows[0].n as number;

    beforeAll(async () => {
      admin = await firstAdmin(get());
      db = await get().t.db();
      alice = await verifiedCustomer(get(), admin, 'payments.alice');
      bob = await verifiedCustomer(get(), admin, 'payments.bob');
      a = await openAccount(get(), alice);
      b = await openAccount(get(), bob);
      await deposit(get(), admin, a, 1_000_000);
      sortCode = (
        (await http().get(`/accounts/${a.id}`).set(bearer(alice.token)).expect(200)).body.sort_code as string
      ).replace(/-/g, '');
    });

    describe('payees', () => {
      it("saves internal and external payees (another bank's number under its own scheme), and refuses a bad check digit of ours (400) or an unknown internal number (422), naming account_number", async () => {
        const internal = await http()
          .post('/payees')
          .set(bearer(alice.token))
          .send({
            name: 'Bob',
            sort_code: `${sortCode.slice(0, 2)}-${sortCode.slice(2, 4)}-${sortCode.slice(4)}`,
            account_number: b.account_number,
          })
          .expect(201);
        expect(internal.body).toMatchObject({
          name: 'Bob',
          sort_code: sortCode,
          account_number: b.account_number,
          reference: null,
          type: 'internal',
        });
        expect(internal.body).not.toHaveProperty('account_id');
        const number = externalNumber(1234567);
        const external = await http()
          .post('/payees')
          .set(bearer(alice.token))
          .send({
            name: 'Landlord',
            sort_code: EXTERNAL_SORT_CODE,
            account_number: number,
            reference: 'FLAT 2',
          })
          .expect(201);
        expect(external.body).toMatchObject({
          type: 'external',
          reference: 'FLAT 2',
          account_number: number,
        });

        const typo = `${b.account_number.slice(0, 7)}${(Number(b.account_number[7]) + 1) % 10}`;
        const bad = await http()
          .post('/payees')
          .set(bearer(alice.token))
          .send({ name: 'Typo', sort_code: sortCode, account_number: typo })
          .expect(400);
        expect(bad.body.details).toEqual([expect.objectContaining({ field: 'account_number' })]);
        // Another bank's number follows that bank's scheme, not our check digit: saved as it is.
        const theirs = `${number.slice(0, 7)}${(Number(number[7]) + 1) % 10}`;
        const elsewhere = await http()
          .post('/payees')
          .set(bearer(alice.token))
          .send({ name: 'Elsewhere', sort_code: EXTERNAL_SORT_CODE, account_number: theirs })
          .expect(201);
        expect(elsewhere.body).toMatchObject({ type: 'external', account_number: theirs });

        let unknown: string | undefined;
        for (let serial = 9_999_999; !unknown; serial--) unknown = accountNumberFor(sortCode, serial);
        const missing = await http()
          .post('/payees')
          .set(bearer(alice.token))
          .send({ name: 'Nobody', sort_code: sortCode, account_number: unknown })
          .expect(422);
        expect(missing.body).toMatchObject({ code: 'payee_account_not_found' });
        expect(missing.body.details).toEqual([expect.objectContaining({ field: 'account_number' })]);
        // A closed account cannot be paid: not saved, rather than refused at every order to it.
        const gone = await openAccount(get(), bob);
        await http().post(`/accounts/${gone.id}/close`).set(bearer(bob.token)).expect(200);
        const closed = await http()
          .post('/payees')
          .set(bearer(alice.token))
          .send({ name: 'Gone', sort_code: sortCode, account_number: gone.account_number })
          .expect(422);
        expect(closed.body).toMatchObject({
          code: 'payee_account_closed',
          details: [{ field: 'account_number', message: expect.any(String) }],
        });
        const saved = await http().get('/payees').query({ limit: 100 }).set(bearer(alice.token)).expect(200);
        expect(saved.body.data.map((p: { account_number: string }) => p.account_number)).not.toContain(
          gone.account_number,
        );

        for (const body of [
          { name: 'X', sort_code: '12345', account_number: number },
          { name: '', sort_code: EXTERNAL_SORT_CODE, account_number: number },
          { name: 'X', sort_code: EXTERNAL_SORT_CODE, account_number: '1234' },
        ]) {
          await http().post('/payees').set(bearer(alice.token)).send(body).expect(400);
        }
        // 64 characters but 124 UTF-16 units: still checked for hidden characters (a right-to-left override).
        const longInUnits = await http()
          .post('/payees')
          .set(bearer(alice.token))
          .send({
            name: `Bob\u202E${'🙂'.repeat(60)}`,
            sort_code: sortCode,
            account_number: b.account_number,
          })
          .expect(400);
        expect(longInUnits.body.details).toEqual([
          { field: 'name', message: expect.stringContaining('bidirectional') },
        ]);

        const list = await http().get('/payees').set(bearer(alice.token)).expect(200);
        expect(list.body.data.map((p: { id: string }) => p.id)).toEqual(
          expect.arrayContaining([internal.body.id, external.body.id]),
        );
        await http().get(`/payees/${internal.body.id}`).set(bearer(alice.token)).expect(200);
        await http().get(`/payees/${internal.body.id}`).set(bearer(bob.token)).expect(404);
        await http().delete(`/payees/${internal.body.id}`).set(bearer(bob.token)).expect(404);
      });

      it("keeps an external payee's name and reference to what the payment schemes carry, on the payee, its orders and their changes; an internal payee's may be any plain text", async () => {
        const refused = (res: request.Response, field = 'reference') =>
          expect([res.status, res.body.details]).toEqual([
            400,
            [
              {
                field,
                message: `an external payee's ${field} is sent through the payment scheme: letters A-Z, digits, spaces and / - ? : ( ) . , ' + & only`,
              },
            ],
          ]);
        const externalPayee = {
          name: 'Cafe Rouge',
          sort_code: EXTERNAL_SORT_CODE,
          account_number: externalNumber(4400001),
        };
        for (const name of ['Straße', 'カフェ', '. - /', 'Καφέ']) {
          refused(
            await http()
              .post('/payees')
              .set(bearer(alice.token))
              .send({ ...externalPayee, name }),
            'name',
          );
        }
        for (const reference of ['CAFÉ ☕', 'RENT 😀', '家賃', '(-)', 'Bob “B”']) {
          refused(
            await http()
              .post('/payees')
              .set(bearer(alice.token))
              .send({ ...externalPayee, reference }),
          );
        }
        const cafe = await payee(alice, { ...externalPayee, reference: "INV/1-A(O'N)+&.,?:" });
        const internal = await payee(alice, {
          name: 'Bob',
          sort_code: sortCode,
          account_number: b.account_number,
        });
        const order = {
          from_account_id: a.id,
          amount: 100,
          currency: 'GBP',
          frequency: 'monthly',
          start_date: plusDays(today(), 20),
        };
        refused(await post(alice, '/standing-orders', { ...order, payee_id: cafe.id, reference: 'ΚΑΦΕ' }));
        refused(
          await post(alice, '/scheduled-payments', {
            from_account_id: a.id,
            payee_id: cafe.id,
            amount: 100,
            currency: 'GBP',
            reference: 'RENT 😀',
            pay_on: plusDays(today(), 20),
          }),
        );
        const toCafe = await post(alice, '/standing-orders', { ...order, payee_id: cafe.id }).expect(201);
        refused(
          await http()
            .patch(`/standing-orders/${toCafe.body.id}`)
            .set(bearer(alice.token))
            .send({ reference: 'CAFÉ ☕' }),
        );
        expect(
          (await http().get(`/standing-orders/${toCafe.body.id}`).set(bearer(alice.token))).body,
        ).toMatchObject({
          reference: "INV/1-A(O'N)+&.,?:",
        });
        // An order set up before the rule keeps its reference: suspended, it is resumed with it.
        await db.query(
          `UPDATE payments.standing_orders SET reference = 'CAFÉ', status = 'suspended',
                  status_reason = 'consecutive_failures' WHERE id = $1`,
          [toCafe.body.id],
        );
        const resumed = await http()
          .post(`/standing-orders/${toCafe.body.id}/resume`)
          .set(bearer(alice.token))
          .expect(200);
        expect(resumed.body).toMatchObject({ status: 'active', reference: 'CAFÉ' });
        // A payee saved before it keeps its reference; a new order to it gives one of its own.
        await db.query(`UPDATE payments.payees SET reference = 'CAFÉ ☕' WHERE id = $1`, [cafe.id]);
        const fromOldPayee = await post(alice, '/standing-orders', { ...order, payee_id: cafe.id });
        expect([fromOldPayee.status, fromOldPayee.body.details]).toEqual([
          400,
          [
            {
              field: 'reference',
              message: `this payee's saved reference (give a reference of the order's own) is sent through the payment scheme: letters A-Z, digits, spaces and / - ? : ( ) . , ' + & only`,
            },
          ],
        ]);
        const withOwn = await post(alice, '/standing-orders', {
          ...order,
          payee_id: cafe.id,
          reference: 'CAFE',
        }).expect(201);
        // What every bank maps is mapped, not refused: accents off Latin letters, typographic apostrophes
        // and dashes (as a phone types them), other spaces. The payee and its orders keep what is carried.
        const mapped = await payee(alice, {
          ...externalPayee,
          account_number: externalNumber(4400002),
          name: 'Zoë O’Neill–Brontë',
          reference: 'CAFÉ\u00A0– 12',
        });
        expect(mapped).toMatchObject({ name: "Zoe O'Neill-Bronte", reference: 'CAFE - 12' });
        const toMapped = await post(alice, '/standing-orders', { ...order, payee_id: mapped.id }).expect(201);
        expect(toMapped.body.reference).toBe('CAFE - 12');
        const renamed = await http()
          .patch(`/standing-orders/${toMapped.body.id}`)
          .set(bearer(alice.token))
          .send({ reference: 'Zoë’s rent' })
          .expect(200);
        expect(renamed.body.reference).toBe("Zoe's rent");
        const once = await post(alice, '/scheduled-payments', {
          from_account_id: a.id,
          payee_id: mapped.id,
          amount: 100,
          currency: 'GBP',
          reference: 'Déc—12',
          pay_on: plusDays(today(), 20),
        }).expect(201);
        expect(once.body.reference).toBe('Dec-12');
        // A payee saved before the rule with a reference that maps: a new order to it carries the mapped one.
        await db.query(`UPDATE payments.payees SET reference = 'CAFÉ’S' WHERE id = $1`, [mapped.id]);
        const fromMapped = await post(alice, '/standing-orders', { ...order, payee_id: mapped.id }).expect(
          201,
        );
        expect(fromMapped.body.reference).toBe("CAFE'S");
        await http().post(`/scheduled-payments/${once.body.id}/cancel`).set(bearer(alice.token)).expect(200);
        // Within the bank a reference is any plain text.
        const toBobCafe = await post(alice, '/standing-orders', {
          ...order,
          payee_id: internal.id,
          reference: 'CAFÉ 😀',
        }).expect(201);
        for (const id of [
          toCafe.body.id,
          toBobCafe.body.id,
          withOwn.body.id,
          toMapped.body.id,
          fromMapped.body.id,
        ]) {
          await http().post(`/standing-orders/${id}/cancel`).set(bearer(alice.token)).expect(200);
        }
      });

      it('saves 30 payees an hour, then 429 with Retry-After; a malformed request (400) does not count, a refused lookup (422) does', async () => {
        const dora = await verifiedCustomer(get(), admin, 'payments.dora');
        const save = (body: object) => http().post('/payees').set(bearer(dora.token)).send(body);
        // Malformed: no account_number, an unknown field (refused before the pipes), a bad check digit of ours.
        const typo = `${b.account_number.slice(0, 7)}${(Number(b.account_number[7]) + 1) % 10}`;
        for (const body of [
          ...Array.from({ length: 30 }, () => ({ name: 'Landlord', sort_code: EXTERNAL_SORT_CODE })),
          { name: 'Landlord', sort_code: EXTERNAL_SORT_CODE, account_number: externalNumber(4000001), x: 1 },
          { name: 'Typo', sort_code: sortCode, account_number: typo },
        ]) {
          expect((await save(body)).status).toBe(400);
        }
        let unknown: string | undefined;
        for (let serial = 9_999_998; !unknown; serial--) unknown = accountNumberFor(sortCode, serial);
        const missing = await save({ name: 'Nobody', sort_code: sortCode, account_number: unknown });
        expect([missing.status, missing.body.code]).toEqual([422, 'payee_account_not_found']);
        const saved: number[] = [];
        for (let i = 0; i < 29; i++) {
          const r = await save({
            name: `Payee ${i}`,
            sort_code: EXTERNAL_SORT_CODE,
            account_number: externalNumber(4000002 + i),
          });
          saved.push(r.status);
        }
        expect(new Set(saved)).toEqual(new Set([201]));
        const limited = await save({
          name: 'One more',
          sort_code: EXTERNAL_SORT_CODE,
          account_number: externalNumber(4000100),
        });
        expect([limited.status, limited.body.code]).toEqual([429, 'rate_limited']);
        expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
        // Past the limit a malformed request is refused as any other, before it is read.
        expect((await save({ name: 'Landlord', sort_code: EXTERNAL_SORT_CODE })).status).toBe(429);
        const kept = await db.query(
          `SELECT count(*)::int AS n FROM payments.payees WHERE owner_id = $1 AND deleted_at IS NULL`,
          [dora.id],
        );
        expect(kept.rows[0].n).toBe(29);
      });

      it("keeps the 200-payee cap when saves race (one after another under the customer's lock)", async () => {
        const carol = await verifiedCustomer(get(), admin, 'payments.carol');
        // 199 saved already (as the API would have saved them, over months).
        await db.query(
          `INSERT INTO payments.payees (id, owner_id, name, sort_code, account_number, type)
           SELECT gen_random_uuid(), $1, 'Payee ' || i, $2, $3, 'external' FROM generate_series(1, 199) i`,
          [carol.id, EXTERNAL_SORT_CODE, externalNumber(3000001)],
        );
        const saves = await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            http()
              .post('/payees')
              .set(bearer(carol.token))
              .send({
                name: `Race ${i}`,
                sort_code: EXTERNAL_SORT_CODE,
                account_number: externalNumber(3000101),
              }),
          ),
        );
        expect(saves.map((r) => r.status).sort()).toEqual([201, 422, 422, 422, 422, 422, 422, 422]);
        expect(saves.filter((r) => r.status === 422).map((r) => r.body.code)).toEqual(
          Array(7).fill('too_many_payees'),
        );
        const kept = await db.query(
          `SELECT count(*)::int AS n FROM payments.payees WHERE owner_id = $1 AND deleted_at IS NULL`,
          [carol.id],
        );
        expect(kept.rows[0].n).toBe(200);
      });

      it('deleting a payee cancels its active orders and says how many', async () => {
        const p = await payee(alice, {
          name: 'Gym',
          sort_code: EXTERNAL_SORT_CODE,
          account_number: externalNumber(2000001),
        });
        const order = await post(alice, '/standing-orders', {
          from_account_id: a.id,
          payee_id: p.id,
          amount: 3000,
          currency: 'GBP',
          reference: 'GYM',
          frequency: 'monthly',
          start_date: plusDays(today(), 3),
        }).expect(201);
        const res = await http().delete(`/payees/${p.id}`).set(bearer(alice.token)).expect(200);
        expect(res.body).toEqual({
          id: p.id,
          deleted: true,
          cancelled_standing_orders: 1,
          cancelled_scheduled_payments: 0,
        });
        const after = await http()
          .get(`/standing-orders/${order.body.id}`)
          .set(bearer(alice.token))
          .expect(200);
        expect(after.body).toMatchObject({ status: 'cancelled', status_reason: 'payee_deleted' });
        await http().get(`/payees/${p.id}`).set(bearer(alice.token)).expect(404);
      });

      it("changes a payee's name and reference (an external payee's as the scheme carries them), never where it pays; its orders show the new name and keep their reference", async () => {
        const carol = await verifiedCustomer(get(), admin, 'payee.edit');
        const from = await openAccount(get(), carol);
        const edit = (who: Actor, id: string, body: unknown) =>
          http()
            .patch(`/payees/${id}`)
            .set(bearer(who.token))
            .send(body as object);
        const read = async (id: string) =>
          (await http().get(`/payees/${id}`).set(bearer(carol.token)).expect(200)).body;
        const gym = await payee(carol, {
          name: 'Gym',
          sort_code: EXTERNAL_SORT_CODE,
          account_number: externalNumber(7300001),
          reference: 'GYM 1',
        });
        const saved = await read(gym.id);
        // Set up without a reference of its own: it takes the payee's, as it is now.
        const order = await post(carol, '/standing-orders', {
          from_account_id: from.id,
          payee_id: gym.id,
          amount: 3000,
          currency: 'GBP',
          frequency: 'monthly',
          start_date: plusDays(today(), 3),
        }).expect(201);
        expect(order.body).toMatchObject({ payee_name: 'Gym', reference: 'GYM 1' });

        const res = await edit(carol, gym.id, { name: 'Zoë’s Gym', reference: 'GYM–2' }).expect(200);
        expect(res.body).toEqual({ ...saved, name: "Zoe's Gym", reference: 'GYM-2' });
        expect(await read(gym.id)).toEqual(res.body);
        const after = await http()
          .get(`/standing-orders/${order.body.id}`)
          .set(bearer(carol.token))
          .expect(200);
        expect(after.body).toMatchObject({ payee_name: "Zoe's Gym", reference: 'GYM 1', status: 'active' });
        // null removes the reference; a field left out is left as it is.
        await edit(carol, gym.id, { reference: null }).expect(200);
        expect(await read(gym.id)).toEqual({ ...saved, name: "Zoe's Gym", reference: null });

        const refusals: Array<[string, unknown, string | string[], string?]> = [
          ['nothing to change', {}, 'body'],
          ['a name the scheme cannot carry', { name: 'カフェ' }, 'name', 'scheme'],
          // Each named at once, the good one not saved.
          [
            'both, the scheme carrying neither',
            { name: 'A £', reference: 'B £' },
            ['name', 'reference'],
            'scheme',
          ],
          ['a good name and a bad reference', { name: 'Fine', reference: 'B £' }, 'reference', 'scheme'],
          ['an empty name', { name: '  ' }, 'name'],
          ['a null name', { name: null }, 'name'],
          ['a reference too long', { reference: 'R'.repeat(19) }, 'reference'],
          ['a new sort code', { sort_code: '300000' }, 'sort_code'],
          ['a new account number', { account_number: externalNumber(7300002) }, 'account_number'],
        ];
        for (const [what, body, field, scheme] of refusals) {
          const refused = await edit(carol, gym.id, body);
          expect({
            what,
            status: refused.status,
            fields: refused.body.details?.map((d: { field: string }) => d.field),
          }).toEqual({ what, status: 400, fields: [field].flat() });
          if (scheme) expect(refused.body.details[0].message).toContain('sent through the payment scheme');
        }
        expect(await read(gym.id)).toEqual({ ...saved, name: "Zoe's Gym", reference: null });

        // An internal payee's stay in the bank: any plain text.
        const internal = await payee(carol, {
          name: 'Bob',
          sort_code: sortCode,
          account_number: b.account_number,
        });
        const home = await edit(carol, internal.id, { name: 'Bob 🏠', reference: 'Rent – May' }).expect(200);
        expect(home.body).toMatchObject({ name: 'Bob 🏠', reference: 'Rent – May', type: 'internal' });

        // Another customer's payee, one that does not exist and one deleted: 404, nothing changed.
        await http().delete(`/payees/${internal.id}`).set(bearer(carol.token)).expect(200);
        for (const [who, id] of [
          [bob, gym.id],
          [admin, gym.id],
          [carol, randomUUID()],
          [carol, internal.id],
        ] as Array<[Actor, string]>) {
          const res = await edit(who, id, { name: 'Taken' });
          expect([res.status, res.body.details]).toEqual([404, [{ field: 'id', message: 'no such payee' }]]);
        }
        expect((await read(gym.id)).name).toBe("Zoe's Gym");
      });
    });

    describe('scheduled payments', () => {
      let toBob: string;
      beforeAll(async () => {
        toBob = (await payee(alice, { name: 'Bob', sort_code: sortCode, account_number: b.account_number }))
          .id;
      });

      it('pays a payment scheduled for today within a minute, without a staff sweep, and lists it in GET /payments', async () => {
        const [before, bobBefore] = [await balanceOf(get(), alice, a), await balanceOf(get(), bob, b)];
        const paidBefore = await paymentsAmount('paid');
        const created = await post(alice, '/scheduled-payments', {
          from_account_id: a.id,
          payee_id: toBob,
          amount: 1250,
          currency: 'GBP',
          reference: 'LUNCH',
          pay_on: today(),
        }).expect(201);
        expect(created.body).toMatchObject({
          status: 'scheduled',
          pay_on: today(),
          payee_name: 'Bob',
          amount: 1250,
        });
        const paid = await eventually(
          async () => {
            const r = await scheduledPayment(alice, created.body.id);
            return r.body.status === 'paid' ? r.body : undefined;
          },
          60_000,
          'the payment for today',
        );
        expect(paid.payment).toMatchObject({
          status: 'paid',
          attempts: 1,
          late: false,
          failure_reason: null,
        });
        expect(paid.payment.transaction_id).toEqual(expect.any(String));
        expect(await balanceOf(get(), alice, a)).toBe(before - 1250);
        expect(await balanceOf(get(), bob, b)).toBe(bobBefore + 1250);
        // Counted once recorded (other payments may be paid meanwhile: at least this one).
        expect((await paymentsAmount('paid')) - paidBefore).toBeGreaterThanOrEqual(1250);
        const history = await http().get(`/payments?account_id=${a.id}`).set(bearer(alice.token)).expect(200);
        expect(history.body.data[0]).toMatchObject({
          id: paid.payment.id,
          status: 'paid',
          source: 'scheduled_payment',
        });
        await http().get(`/payments?account_id=${b.id}`).set(bearer(alice.token)).expect(404);
        // Run: it can no longer be cancelled.
        const late = await http()
          .post(`/scheduled-payments/${created.body.id}/cancel`)
          .set(bearer(alice.token))
          .expect(409);
        expect(late.body.code).toBe('payment_already_run');
      });

      it('hands the scheme adapter a name and reference saved before the scheme rule as the scheme carries them (payment.sent)', async () => {
        const old = await payee(alice, {
          name: 'Old Landlord',
          sort_code: EXTERNAL_SORT_CODE,
          account_number: externalNumber(4600001),
        });
        const created = await post(alice, '/scheduled-payments', {
          from_account_id: a.id,
          payee_id: old.id,
          amount: 100,
          currency: 'GBP',
          reference: 'RENT',
          pay_on: plusDays(today(), 20),
        }).expect(201);
        // As saved before 2026-12-06: any plain text, now due.
        await db.query(`UPDATE payments.payees SET name = 'Zoë’s ☕ 家 Landlord' WHERE id = $1`, [old.id]);
        await db.query(
          `UPDATE payments.payments SET reference = '家賃 ☕', due_date = $2, pay_on = $2, next_attempt_at = now()
            WHERE order_id = $1`,
          [created.body.id, today()],
        );
        await db.query(
          `UPDATE payments.scheduled_payments SET reference = '家賃 ☕', pay_on = $2 WHERE id = $1`,
          [created.body.id, today()],
        );
        await runDue();
        const sent = await eventually(
          async () =>
            (
              await db.query(
                `SELECT o.payload FROM payments.outbox o JOIN payments.payments p ON p.id::text = o.payload->>'payment_id'
                  WHERE o.name = 'payment.sent' AND p.order_id = $1`,
                [created.body.id],
              )
            ).rows[0]?.payload as Record<string, unknown> | undefined,
          30_000,
          'payment.sent',
        );
        expect(sent).toMatchObject({ payee_name: "Zoe's Landlord", reference: 'PAYMENT', amount: 100 });
        // The customer's own record keeps what they saved.
        expect((await scheduledPayment(alice, created.body.id)).body).toMatchObject({
          status: 'paid',
          reference: '家賃 ☕',
        });
      });

      it('shows a scheduled payment and a standing-order payment that staff reversed as reversed, not paid', async () => {
        const [before, bobBefore] = [await balanceOf(get(), alice, a), await balanceOf(get(), bob, b)];
        const scheduled = await post(alice, '/scheduled-payments', {
          from_account_id: a.id,
          payee_id: toBob,
          amount: 2100,
          currency: 'GBP',
          reference: 'SENT IN ERROR',
          pay_on: today(),
        }).expect(201);
        const standing = await post(alice, '/standing-orders', {
          from_account_id: a.id,
          payee_id: toBob,
          amount: 3300,
          currency: 'GBP',
          reference: 'WRONG PAYEE',
          frequency: 'weekly',
          start_date: today(),
        }).expect(201);
        const paid = await eventually(
          async () => {
            const [one, [two]] = [
              (await scheduledPayment(alice, scheduled.body.id)).body,
              await orderPayments(alice, standing.body.id),
            ];
            return one.status === 'paid' && two?.status === 'paid'
              ? { scheduled: one.payment.transaction_id as string, standing: two.transaction_id! }
              : undefined;
          },
          60_000,
          'both payments for today',
        );
        const reverse = (transactionId: string) =>
          http()
            .post(`/admin/transactions/${transactionId}/reverse`)
            .set(bearer(admin.token))
            .set('Idempotency-Key', randomUUID())
            .send({ reason: 'Customer dispute upheld' })
            .expect(201);
        const reversals = {
          scheduled: (await reverse(paid.scheduled)).body.id as string,
          standing: (await reverse(paid.standing)).body.id as string,
        };
        expect(await balanceOf(get(), alice, a)).toBe(before);
        expect(await balanceOf(get(), bob, b)).toBe(bobBefore);

        // The event the ledger builds in SQL is exactly a TransactionReversedEvent.
        const event = await db.query(
          `SELECT payload FROM transactions.outbox WHERE name = 'transaction.reversed' AND payload->>'transaction_id' = $1`,
          [paid.scheduled],
        );
        const payload = (event.rows[0] as { payload: TransactionReversedEvent }).payload;
        const expected: TransactionReversedEvent = {
          event_id: payload.event_id,
          occurred_at: payload.reversed_at,
          transaction_id: paid.scheduled,
          kind: 'scheduled_payment',
          reversal_id: reversals.scheduled,
          amount: 2100,
          currency: 'GBP',
          reversed_at: payload.reversed_at,
        };
        expect(payload).toEqual(expected);
        expect(Date.parse(payload.reversed_at)).not.toBeNaN();

        const reversedScheduled = await eventually(
          async () => {
            const r = await scheduledPayment(alice, scheduled.body.id);
            return r.body.status === 'reversed' ? r.body : undefined;
          },
          15_000,
          'the scheduled payment to read reversed',
        );
        expect(reversedScheduled.payment).toMatchObject({
          status: 'reversed',
          transaction_id: paid.scheduled,
          reversed_by_id: reversals.scheduled,
          reversed_at: payload.reversed_at,
        });
        const byStatus = async (status: string) =>
          (
            await http().get(`/scheduled-payments?status=${status}`).set(bearer(alice.token)).expect(200)
          ).body.data.map((x: { id: string }) => x.id) as string[];
        expect(await byStatus('reversed')).toContain(scheduled.body.id);
        expect(await byStatus('paid')).not.toContain(scheduled.body.id);

        const [reversedStanding] = await eventually(
          async () => {
            const r = await orderPayments(alice, standing.body.id);
            return r[0]?.status === 'reversed' ? r : undefined;
          },
          15_000,
          "the standing order's payment to read reversed",
        );
        expect(reversedStanding).toMatchObject({
          transaction_id: paid.standing,
          reversed_by_id: reversals.standing,
        });
        // The order itself goes on (its next date is paid as usual): staff reversed one payment of it.
        const order = await http()
          .get(`/standing-orders/${standing.body.id}`)
          .set(bearer(alice.token))
          .expect(200);
        expect(order.body).toMatchObject({ status: 'active', payments_made: 1 });

        const history = (
          await http().get(`/payments?account_id=${a.id}`).set(bearer(alice.token)).expect(200)
        ).body.data as { transaction_id: string; status: string; reversed_by_id: string | null }[];
        expect(
          history
            .filter((x) => x.transaction_id === paid.scheduled || x.transaction_id === paid.standing)
            .map((x) => [x.transaction_id, x.status, x.reversed_by_id])
            .sort(),
        ).toEqual(
          [
            [paid.scheduled, 'reversed', reversals.scheduled],
            [paid.standing, 'reversed', reversals.standing],
          ].sort(),
        );
        // Once per entry, as the ledger reversed it once.
        const kept = await db.query(
          `SELECT count(*)::int AS n FROM payments.reversals WHERE transaction_id = ANY ($1)`,
          [[paid.scheduled, paid.standing]],
        );
        expect(kept.rows[0].n).toBe(2);
        await http().post(`/standing-orders/${standing.body.id}/cancel`).set(bearer(alice.token)).expect(200);
      });

      it('cancels a payment before it runs (then 409), and replays the same Idempotency-Key', async () => {
        const key = randomUUID();
        const body = {
          from_account_id: a.id,
          payee_id: toBob,
          amount: 700,
          currency: 'GBP',
          reference: 'LATER',
          pay_on: plusDays(today(), 10),
        };
        const created = await post(alice, '/scheduled-payments', body, key).expect(201);
        const again = await post(alice, '/scheduled-payments', body, key).expect(201);
        expect(again.headers['idempotent-replayed']).toBe('true');
        expect(again.body.id).toBe(created.body.id);
        const reused = await post(alice, '/scheduled-payments', { ...body, amount: 701 }, key).expect(422);
        expect(reused.body.code).toBe('idempotency_key_reused');

        await http().post(`/scheduled-payments/${created.body.id}/cancel`).set(bearer(bob.token)).expect(404);
        const cancelled = await http()
          .post(`/scheduled-payments/${created.body.id}/cancel`)
          .set(bearer(alice.token))
          .expect(200);
        expect(cancelled.body).toMatchObject({ status: 'cancelled', payment: { status: 'skipped' } });
        const twice = await http()
          .post(`/scheduled-payments/${created.body.id}/cancel`)
          .set(bearer(alice.token))
          .expect(409);
        expect(twice.body.code).toBe('already_cancelled');
        const list = await http()
          .get('/scheduled-payments?status=cancelled')
          .set(bearer(alice.token))
          .expect(200);
        expect(list.body.data.map((s: { id: string }) => s.id)).toContain(created.body.id);
      });

      it("pays with the payee's own reference when the order gives none", async () => {
        const landlord = await payee(alice, {
          name: 'Landlord',
          sort_code: EXTERNAL_SORT_CODE,
          account_number: externalNumber(7654321),
          reference: 'FLAT 9 RENT',
        });
        const base = { from_account_id: a.id, payee_id: landlord.id, amount: 100, currency: 'GBP' };
        const scheduled = await post(alice, '/scheduled-payments', {
          ...base,
          pay_on: plusDays(today(), 30),
        }).expect(201);
        expect(scheduled.body.reference).toBe('FLAT 9 RENT');
        const order = await post(alice, '/standing-orders', {
          ...base,
          frequency: 'monthly',
          start_date: plusDays(today(), 30),
          reference: 'OWN REF',
        }).expect(201);
        expect(order.body.reference).toBe('OWN REF');
        for (const path of [
          `/scheduled-payments/${scheduled.body.id}`,
          `/standing-orders/${order.body.id}`,
        ]) {
          await http().post(`${path}/cancel`).set(bearer(alice.token)).expect(200);
        }
      });

      it('refuses bad orders with the field named and nothing created', async () => {
        const base = {
          from_account_id: a.id,
          payee_id: toBob,
          amount: 100,
          currency: 'GBP',
          reference: 'X',
          pay_on: today(),
        };
        const cases: [Record<string, unknown>, number, string][] = [
          [{ pay_on: plusDays(today(), -1) }, 400, 'pay_on'],
          [{ pay_on: plusDays(today(), 400) }, 400, 'pay_on'],
          [{ pay_on: '2026-02-30' }, 400, 'pay_on'],
          [{ amount: 1.5 }, 400, 'amount'],
          [{ amount: -5 }, 400, 'amount'],
          [{ currency: 'EUR' }, 422, 'currency'],
          [{ from_account_id: b.id }, 404, 'from_account_id'],
          [{ payee_id: randomUUID() }, 404, 'payee_id'],
          [{ reference: 'x'.repeat(19) }, 400, 'reference'],
          // None given, and the payee has none of its own to use.
          [{ reference: undefined }, 400, 'reference'],
        ];
        const count = async () =>
          (
            await db.query(`SELECT count(*)::int AS n FROM payments.scheduled_payments WHERE owner_id = $1`, [
              alice.id,
            ])
          ).rows[0].n;
        const before = await count();
        for (const [change, status, field] of cases) {
          const res = await post(alice, '/scheduled-payments', { ...base, ...change }).expect(status);
          expect(res.body.details).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
        }
        await http().post('/scheduled-payments').set(bearer(alice.token)).send(base).expect(400); // no key
        // An external payee is reached by a sort code and account number, through the UK's domestic
        // schemes: in GBP only, also from an account in the order's currency.
        const euros = await openAccount(get(), alice, 'EUR');
        await deposit(get(), admin, euros, 10_000);
        const abroad = await payee(alice, {
          name: 'Sort code payee',
          sort_code: EXTERNAL_SORT_CODE,
          account_number: externalNumber(5000001),
        });
        for (const path of ['/scheduled-payments', '/standing-orders']) {
          const order =
            path === '/scheduled-payments'
              ? { pay_on: today() }
              : { frequency: 'monthly', start_date: plusDays(today(), 1) };
          const res = await post(alice, path, {
            from_account_id: euros.id,
            payee_id: abroad.id,
            amount: 100,
            currency: 'EUR',
            reference: 'X',
            ...order,
          }).expect(422);
          expect([res.body.code, res.body.details]).toEqual([
            'currency_not_supported',
            [
              {
                field: 'currency',
                message: 'an external payee (sort code and account number) is paid in GBP only',
              },
            ],
          ]);
        }
        expect(await count()).toBe(before);
        expect(await balanceOf(get(), alice, euros)).toBe(10_000);
      });
    });

    describe('standing orders', () => {
      let landlord: string;
      beforeAll(async () => {
        landlord = (
          await payee(alice, {
            name: 'Landlord',
            sort_code: EXTERNAL_SORT_CODE,
            account_number: externalNumber(3000001),
          })
        ).id;
      });
      /** A new customer (`tag`) with an empty account and an external payee (`payeeName`, number `serial`). */
      const customerWithPayee = async (tag: string, payeeName: string, serial: number) => {
        const who = await verifiedCustomer(get(), admin, tag);
        const account = await openAccount(get(), who);
        const p = await payee(who, {
          name: payeeName,
          sort_code: EXTERNAL_SORT_CODE,
          account_number: externalNumber(serial),
        });
        return { who, account, payeeId: p.id };
      };
      /** Staff freeze (or unfreeze) an account. */
      const setFrozen = (account: Account, frozen: boolean) =>
        http()
          .post(`/admin/accounts/${account.id}/${frozen ? 'freeze' : 'unfreeze'}`)
          .set(bearer(admin.token))
          .send({ reason: frozen ? 'Suspected account takeover' : 'Cleared after review' })
          .expect(200);
      /**
       * A new customer (`tag`) with an empty account, and a standing order from it to an external payee
       * starting today: its first date is refused for funds.
       */
      const unfundedOrder = async (
        tag: string,
        payeeName: string,
        serial: number,
        order: Record<string, unknown>,
      ) => {
        const { who, account, payeeId } = await customerWithPayee(tag, payeeName, serial);
        const created = await post(who, '/standing-orders', {
          from_account_id: account.id,
          payee_id: payeeId,
          currency: 'GBP',
          start_date: today(),
          ...order,
        }).expect(201);
        return { who, account, id: created.body.id as string };
      };
      /** Two dates failed before the one due now: its failure is the third in a row (the suspension limit). */
      const twoFailuresBefore = (orderId: string) =>
        db.query(`UPDATE payments.standing_orders SET consecutive_failures = 2 WHERE id = $1`, [orderId]);

      it('pays an order starting today at once, advances next_payment_date by its frequency, and sends external payments on (payment.sent)', async () => {
        const before = await balanceOf(get(), alice, a);
        const created = await post(alice, '/standing-orders', {
          from_account_id: a.id,
          payee_id: landlord,
          amount: 50_000,
          currency: 'GBP',
          reference: 'RENT',
          frequency: 'monthly',
          start_date: today(),
          count: 12,
        }).expect(201);
        expect(created.body).toMatchObject({
          status: 'active',
          frequency: 'monthly',
          payments_made: 0,
          count: 12,
        });
        const paid = await eventually(
          async () => {
            const r = await http()
              .get(`/standing-orders/${created.body.id}`)
              .set(bearer(alice.token))
              .expect(200);
            return r.body.payments_made === 1 ? r.body : undefined;
          },
          60_000,
          'the first payment of the standing order',
        );
        expect(paid).toMatchObject({
          status: 'active',
          next_payment_date: nextMonth(today()),
          consecutive_failures: 0,
        });
        expect(paid.last_executed_at).toEqual(expect.any(String));
        const payments = await orderPayments(alice, created.body.id);
        expect(payments).toEqual([
          expect.objectContaining({
            due_date: today(),
            status: 'paid',
            attempts: 1,
            transaction_id: expect.any(String),
          }),
        ]);
        expect(await balanceOf(get(), alice, a)).toBe(before - 50_000);
        const sent = await db.query(
          `SELECT payload FROM payments.outbox WHERE name = 'payment.sent' AND payload->>'payment_id' = $1`,
          [payments[0].id],
        );
        expect(sent.rows[0].payload).toMatchObject({
          transaction_id: payments[0].transaction_id,
          amount: 50_000,
          currency: 'GBP',
          payee_name: 'Landlord',
          payee_sort_code: EXTERNAL_SORT_CODE,
          payee_account_number: externalNumber(3000001),
          reference: 'RENT',
        });
        // Analytics counts it under its own category, with the payee as who was paid (what the
        // recurring-payee insight groups by).
        const movement = await eventually(
          async () =>
            (
              await db.query(
                `SELECT category, merchant, kind, direction, amount::int AS amount FROM analytics.movements
                  WHERE transaction_id = $1`,
                [payments[0].transaction_id],
              )
            ).rows[0] as Record<string, unknown> | undefined,
          15_000,
          'analytics to count the payment',
        );
        expect(movement).toEqual({
          category: 'standing_orders',
          merchant: 'Landlord',
          kind: 'standing_order',
          direction: 'out',
          amount: 50_000,
        });
        // The statement names who was paid.
        const statement = await http()
          .get(`/accounts/${a.id}/statement`)
          .set(bearer(alice.token))
          .expect(200);
        expect(
          (statement.body.entries as { transaction_id: string }[]).find(
            (e) => e.transaction_id === payments[0].transaction_id,
          ),
        ).toMatchObject({ kind: 'standing_order', reference: 'RENT', merchant: 'Landlord', amount: -50_000 });
        // A sweep now finds nothing more to pay for it.
        await runDue();
        expect(await entriesOf(a, 'RENT')).toBe(1);
        // Sent through the scheme, it is not staff's to reverse: the customer would be paid back while the
        // scheme still settles it. Nothing moves.
        const reversal = await http()
          .post(`/admin/transactions/${payments[0].transaction_id}/reverse`)
          .set(bearer(admin.token))
          .set('Idempotency-Key', randomUUID())
          .send({ reason: 'Customer says it was sent in error' });
        expect([reversal.status, reversal.body.code]).toEqual([409, 'payment_sent_externally']);
        expect(await balanceOf(get(), alice, a)).toBe(before - 50_000);
        const reversed = await db.query(`SELECT 1 FROM transactions.entries WHERE reverses_id = $1`, [
          payments[0].transaction_id,
        ]);
        expect(reversed.rows).toEqual([]);
        // A reversal decided before the rule (here: while the ledger did not know the account as outbound
        // clearing) is replayed to its retry, not refused; a new one still is.
        const clearing = (
          await db.query(`SELECT credit_account_id FROM transactions.entries WHERE id = $1`, [
            payments[0].transaction_id,
          ])
        ).rows[0].credit_account_id as string;
        const key = randomUUID();
        const reverse = (k: string) =>
          http()
            .post(`/admin/transactions/${payments[0].transaction_id}/reverse`)
            .set(bearer(admin.token))
            .set('Idempotency-Key', k)
            .send({ reason: 'Decided before the rule' });
        let first: request.Response;
        await db.query(
          `UPDATE transactions.ledger_accounts SET system_code = 'before_the_rule' WHERE id = $1`,
          [clearing],
        );
        try {
          first = await reverse(key).expect(201);
        } finally {
          await db.query(
            `UPDATE transactions.ledger_accounts SET system_code = 'outbound_clearing' WHERE id = $1`,
            [clearing],
          );
        }
        const retried = await reverse(key).expect(201);
        expect([retried.body.id, retried.headers['idempotent-replayed']]).toEqual([first.body.id, 'true']);
        const again = await http()
          .post(`/admin/transactions/${payments[0].transaction_id}/reverse`)
          .set(bearer(admin.token))
          .set('Idempotency-Key', randomUUID())
          .send({ reason: 'Decided before the rule' });
        expect([again.status, again.body.code]).toEqual([409, 'payment_sent_externally']);
        expect(await balanceOf(get(), alice, a)).toBe(before);
        const verify = await http().get('/admin/ledger/verify').set(bearer(admin.token)).expect(200);
        expect(verify.body).toMatchObject({ ok: true });
      });

      it("refuses staff a reversal of their own external payment as own_account (logged), and a colleague's as colleague_account, before telling what kind of payment it was", async () => {
        const clerk = await promote(get(), admin, await verifiedCustomer(get(), admin, 'payments.clerk'));
        const account = await openAccount(get(), clerk);
        await deposit(get(), admin, account, 1_000);
        const rent = await payee(clerk, {
          name: 'Clerk Landlord',
          sort_code: EXTERNAL_SORT_CODE,
          account_number: externalNumber(4500001),
        });
        const scheduled = await post(clerk, '/scheduled-payments', {
          from_account_id: account.id,
          payee_id: rent.id,
          amount: 100,
          currency: 'GBP',
          reference: 'RENT',
          pay_on: today(),
        }).expect(201);
        const transactionId = await eventually(
          async () => {
            const r = (await scheduledPayment(clerk, scheduled.body.id)).body;
            return r.status === 'paid' ? (r.payment.transaction_id as string) : undefined;
          },
          60_000,
          "the clerk's payment",
        );
        const reverse = (who: Actor) =>
          http()
            .post(`/admin/transactions/${transactionId}/reverse`)
            .set(bearer(who.token))
            .set('Idempotency-Key', randomUUID())
            .send({ reason: 'Sent to the wrong landlord' });
        const ownRefusals = () => securityEventsCounted(get(), 'transactions', 'own_account_refused');
        const before = await ownRefusals();
        const own = await reverse(clerk);
        expect([own.status, own.body.code]).toEqual([403, 'own_account']);
        expect((await ownRefusals()) - before).toBe(1);
        const colleague = await promote(get(), admin, await newCustomer(get(), 'payments.colleague'));
        const other = await reverse(colleague);
        expect([other.status, other.body.code]).toEqual([403, 'colleague_account']);
        expect(await balanceOf(get(), clerk, account)).toBe(900);
      });

      it('retries a payment without enough money, then fails it for its date: nothing moves, the customer is told, the order stays active', async () => {
        const [retryingBefore, failedBefore] = [
          await paymentsAmount('retrying'),
          await paymentsAmount('failed'),
        ];
        const {
          who: carol,
          account: c,
          id: orderId,
        } = await unfundedOrder('payments.carol', 'Landlord', 4000001, {
          amount: 5000,
          reference: 'RENT',
          frequency: 'weekly',
        });
        const first = await firstRefusal(carol, orderId);
        expect(first).toMatchObject({
          attempts: 1,
          failure_reason: 'insufficient_funds',
          transaction_id: null,
        });
        // Three retries (PAYMENT_RETRY_ATTEMPTS): each time the retry comes due, a sweep tries again.
        await retryUntilSpent(first.id);
        // Three attempts to retry and one failure, of 50.00 each.
        expect((await paymentsAmount('retrying')) - retryingBefore).toBeGreaterThanOrEqual(15000);
        expect((await paymentsAmount('failed')) - failedBefore).toBeGreaterThanOrEqual(5000);
        const [failed] = await orderPayments(carol, orderId);
        expect(failed).toMatchObject({
          status: 'failed',
          attempts: 4,
          failure_reason: 'insufficient_funds',
          transaction_id: null,
        });
        expect(await balanceOf(get(), carol, c)).toBe(0);
        expect(await entriesOf(c, 'RENT')).toBe(0);
        const after = await http().get(`/standing-orders/${orderId}`).set(bearer(carol.token)).expect(200);
        expect(after.body).toMatchObject({
          status: 'active',
          consecutive_failures: 1,
          payments_made: 0,
          next_payment_date: plusDays(today(), 7),
        });
        const notice = await failedNotice(carol);
        expect(notice.body).toContain('£50.00');
        expect(notice.body).toContain('Landlord');
        const failedIds = async (who: Actor) =>
          (
            await http().get('/admin/payments/failed?limit=100').set(bearer(who.token)).expect(200)
          ).body.data.map((x: { id: string }) => x.id) as string[];
        const staff = await promote(get(), admin, await newCustomer(get(), 'payments.clerk'));
        expect(await failedIds(admin)).toContain(failed.id);
        expect(await failedIds(staff)).toContain(failed.id);
        // Each list filed as a read of carol's failed payments, before it was shown.
        const carolsRead = (who: Actor) =>
          readsFiled(get(), admin, { actorId: who.id, ownerId: carol.id, viewed: 'failed_payments' });
        expect(await carolsRead(admin)).toBe(1);
        expect(await carolsRead(staff)).toBe(1);
        await http().get('/admin/payments/failed').set(bearer(carol.token)).expect(403);
        // Once carol is staff herself, a colleague's list leaves her payments out; an admin's and her own
        // still show them.
        const colleague = await promote(get(), admin, carol);
        // Page after page: not shown, no cursor points at it, and nothing more filed for her.
        const { ids, cursors } = await pageThrough(get(), staff, '/admin/payments/failed');
        expect(ids).not.toContain(failed.id);
        expect(cursors.filter((c) => c.includes(failed.id))).toEqual([]);
        expect(await carolsRead(staff)).toBe(1);
        expect(await failedIds(admin)).toContain(failed.id);
        expect(await failedIds(colleague)).toContain(failed.id);
        // An admin's read of a colleague's is filed; her own list is not a read of her.
        expect(await carolsRead(admin)).toBe(2);
        expect(await carolsRead(colleague)).toBe(0);
        const refused = await http()
          .get(`/admin/standing-orders?owner_id=${carol.id}`)
          .set(bearer(staff.token))
          .expect(403);
        expect(refused.body.code).toBe('colleague_account');
      });

      it('completes an order whose last date fails, rather than suspending it with nothing left to pay', async () => {
        const { who: dora, id: orderId } = await unfundedOrder('payments.dora', 'Gym', 4000002, {
          amount: 2500,
          reference: 'GYM',
          frequency: 'monthly',
          count: 1,
        });
        await twoFailuresBefore(orderId);
        await retryUntilSpent((await firstRefusal(dora, orderId)).id);
        expect((await orderPayments(dora, orderId)).map((x) => x.status)).toEqual(['failed']);
        const after = await http().get(`/standing-orders/${orderId}`).set(bearer(dora.token)).expect(200);
        expect(after.body).toMatchObject({ status: 'completed', next_payment_date: null });
        const notice = await failedNotice(dora);
        expect(notice.body).toContain('has now ended');
        expect(notice.body).not.toContain('suspended');
      });

      it('ends an order to an external payee in another currency than GBP, set up before that was refused: nothing paid, the customer told', async () => {
        const {
          who: yuki,
          account: pounds,
          payeeId,
        } = await customerWithPayee('payments.yuki', 'Tokyo supplier', 4000010);
        const dollars = await openAccount(get(), yuki, 'USD');
        await deposit(get(), admin, dollars, 10_000);
        const created = await post(yuki, '/standing-orders', {
          from_account_id: pounds.id,
          payee_id: payeeId,
          amount: 2_000,
          currency: 'GBP',
          reference: 'INVOICE',
          frequency: 'monthly',
          start_date: plusDays(today(), 1),
        }).expect(201);
        const orderId = created.body.id as string;
        // As such an order was stored before order-checks refused it: from a USD account, in USD, due today.
        await db.query(
          `UPDATE payments.standing_orders
              SET from_account_id = $2, currency = 'USD', start_date = $3, next_payment_date = $3
            WHERE id = $1`,
          [orderId, dollars.id, today()],
        );
        await runDue();
        const [payment] = await orderPayments(yuki, orderId);
        expect(payment).toMatchObject({
          status: 'failed',
          failure_reason: 'currency_not_supported',
          transaction_id: null,
        });
        const order = await http().get(`/standing-orders/${orderId}`).set(bearer(yuki.token)).expect(200);
        expect(order.body).toMatchObject({ status: 'cancelled', next_payment_date: null });
        expect(await balanceOf(get(), yuki, dollars)).toBe(10_000);
        expect(await entriesOf(dollars, 'INVOICE')).toBe(0);
        const notice = await failedNotice(yuki);
        expect(notice.body).toContain('we pay accounts at other banks in GBP only');
      });

      it('resumes a suspended order from its next date (not the failed one); only its owner, only a suspended one', async () => {
        const {
          who: erin,
          account: e,
          id: orderId,
        } = await unfundedOrder('payments.erin', 'Allotment', 4000003, {
          amount: 1200,
          reference: 'PLOT',
          frequency: 'weekly',
        });
        const url = `/standing-orders/${orderId}`;
        await twoFailuresBefore(orderId);
        const failed = await firstRefusal(erin, orderId);
        await retryUntilSpent(failed.id);
        const suspended = (await http().get(url).set(bearer(erin.token)).expect(200)).body;
        expect(suspended).toMatchObject({
          status: 'suspended',
          status_reason: 'consecutive_failures',
          next_payment_date: null,
        });
        // A suspended order cannot be changed, and is nobody else's to resume (404, as for any other's).
        await http().patch(url).set(bearer(erin.token)).send({ amount: 900 }).expect(409);
        const stranger = await http().post(`${url}/resume`).set(bearer(bob.token)).expect(404);
        expect(stranger.body.code).toBe('not_found');

        // Not while its account is frozen: its payments would fail again at once. Nothing changes.
        await setFrozen(e, true);
        const frozen = await http().post(`${url}/resume`).set(bearer(erin.token)).expect(409);
        expect(frozen.body.code).toBe('account_frozen');
        expect((await http().get(url).set(bearer(erin.token)).expect(200)).body.status).toBe('suspended');
        await setFrozen(e, false);
        const resumed = await http().post(`${url}/resume`).set(bearer(erin.token)).expect(200);
        // From its next date: today's failed one is not tried again (a resume on a due date pays that day:
        // the sixteen-month schedule test, whose clock moves).
        expect(resumed.body).toMatchObject({
          status: 'active',
          status_reason: null,
          consecutive_failures: 0,
          next_payment_date: plusDays(today(), 7),
        });
        await runDue();
        expect((await orderPayments(erin, orderId)).map((x) => [x.due_date, x.status])).toEqual([
          [today(), 'failed'],
        ]);
        const again = await http().post(`${url}/resume`).set(bearer(erin.token)).expect(409);
        expect(again.body.code).toBe('order_not_suspended');

        // Suspended again, with its end date passed meanwhile: nothing left to resume, and nothing changes.
        await db.query(
          `UPDATE payments.standing_orders SET status = 'suspended', status_reason = 'consecutive_failures',
                  next_payment_date = NULL, end_date = $2 WHERE id = $1`,
          [orderId, today()],
        );
        const finished = await http().post(`${url}/resume`).set(bearer(erin.token)).expect(409);
        expect(finished.body.code).toBe('order_finished');
        expect((await http().get(url).set(bearer(erin.token)).expect(200)).body).toMatchObject({
          status: 'suspended',
          next_payment_date: null,
        });
        // A cancelled order is not resumed either.
        await http().post(`${url}/cancel`).set(bearer(erin.token)).expect(200);
        const cancelled = await http().post(`${url}/resume`).set(bearer(erin.token)).expect(409);
        expect(cancelled.body.code).toBe('order_not_suspended');
      });

      it('refuses an order paid today from a frozen account (409 account_frozen, nothing set up, the key not spent); one for a later day is set up', async () => {
        const { who: fay, account: f, payeeId } = await customerWithPayee('payments.fay', 'Florist', 4000004);
        await deposit(get(), admin, f, 5000);
        await setFrozen(f, true);
        const order = {
          from_account_id: f.id,
          payee_id: payeeId,
          amount: 700,
          currency: 'GBP',
          reference: 'FLOWERS',
        };
        const key = randomUUID();
        const dueToday = [
          await post(fay, '/standing-orders', { ...order, frequency: 'monthly', start_date: today() }),
          await post(fay, '/scheduled-payments', { ...order, pay_on: today() }, key),
        ];
        expect(dueToday.map((r) => [r.status, r.body.code])).toEqual(Array(2).fill([409, 'account_frozen']));
        for (const path of ['/standing-orders', '/scheduled-payments'])
          expect((await http().get(path).set(bearer(fay.token)).expect(200)).body.data).toEqual([]);
        // A first payment on a later day is set up: the account may be unfrozen by then.
        const tomorrow = plusDays(today(), 1);
        await post(fay, '/standing-orders', { ...order, frequency: 'monthly', start_date: tomorrow }).expect(
          201,
        );
        await post(fay, '/scheduled-payments', { ...order, pay_on: tomorrow }).expect(201);
        // Unfrozen, the refused request's key is still the client's to send again: it is set up now.
        await setFrozen(f, false);
        const retried = await post(fay, '/scheduled-payments', { ...order, pay_on: today() }, key).expect(
          201,
        );
        expect(retried.body).toMatchObject({ pay_on: today(), amount: 700 });
      });

      it("changes an order from its next payment on, cancels it (then 409), and shows staff a customer's orders", async () => {
        const order = await post(alice, '/standing-orders', {
          from_account_id: a.id,
          payee_id: landlord,
          amount: 1000,
          currency: 'GBP',
          reference: 'SAVE',
          frequency: 'quarterly',
          start_date: plusDays(today(), 2),
        }).expect(201);
        const changed = await http()
          .patch(`/standing-orders/${order.body.id}`)
          .set(bearer(alice.token))
          .send({ amount: 1500, reference: 'SAVE MORE' })
          .expect(200);
        expect(changed.body).toMatchObject({
          amount: 1500,
          reference: 'SAVE MORE',
          next_payment_date: plusDays(today(), 2),
        });
        // An end date on the next payment keeps that one, and none after it.
        const ended = await http()
          .patch(`/standing-orders/${order.body.id}`)
          .set(bearer(alice.token))
          .send({ end_date: plusDays(today(), 2) })
          .expect(200);
        expect(ended.body).toMatchObject({
          status: 'active',
          next_payment_date: plusDays(today(), 2),
          end_date: plusDays(today(), 2),
        });
        const nothing = await http()
          .patch(`/standing-orders/${order.body.id}`)
          .set(bearer(alice.token))
          .send({})
          .expect(400);
        expect(nothing.body.details).toEqual([
          { field: 'body', message: 'give at least one of amount, reference, end_date' },
        ]);
        await http()
          .patch(`/standing-orders/${order.body.id}`)
          .set(bearer(bob.token))
          .send({ amount: 1 })
          .expect(404);

        const staff = await http()
          .get(`/admin/standing-orders?owner_id=${alice.id}`)
          .set(bearer(admin.token))
          .expect(200);
        expect(staff.body.data.map((o: { id: string }) => o.id)).toContain(order.body.id);
        await http().get(`/admin/standing-orders?owner_id=${alice.id}`).set(bearer(bob.token)).expect(403);

        await http().post(`/standing-orders/${order.body.id}/cancel`).set(bearer(bob.token)).expect(404);
        const cancelled = await http()
          .post(`/standing-orders/${order.body.id}/cancel`)
          .set(bearer(alice.token))
          .expect(200);
        expect(cancelled.body).toMatchObject({
          status: 'cancelled',
          status_reason: 'customer',
          next_payment_date: null,
        });
        await http().post(`/standing-orders/${order.body.id}/cancel`).set(bearer(alice.token)).expect(409);
        await http()
          .patch(`/standing-orders/${order.body.id}`)
          .set(bearer(alice.token))
          .send({ amount: 1 })
          .expect(409);
      });

      it('refuses a new end date in the past (it would fall before payments made), changing nothing', async () => {
        const order = await post(alice, '/standing-orders', {
          from_account_id: a.id,
          payee_id: landlord,
          amount: 1000,
          currency: 'GBP',
          reference: 'ENDS',
          frequency: 'weekly',
          start_date: plusDays(today(), 1),
        }).expect(201);
        // As if it had started two weeks ago (and paid since): yesterday is after its start.
        await db.query(`UPDATE payments.standing_orders SET start_date = $2 WHERE id = $1`, [
          order.body.id,
          plusDays(today(), -14),
        ]);
        const past = await http()
          .patch(`/standing-orders/${order.body.id}`)
          .set(bearer(alice.token))
          .send({ end_date: plusDays(today(), -1) })
          .expect(400);
        expect(past.body.details).toEqual([
          {
            field: 'end_date',
            message: 'end_date must not be in the past (cancel the order to stop a payment already due)',
          },
        ]);
        const after = await http()
          .get(`/standing-orders/${order.body.id}`)
          .set(bearer(alice.token))
          .expect(200);
        expect(after.body).toMatchObject({ status: 'active', end_date: null });
      });

      it("answers 404 for another customer's order, payments and payee", async () => {
        const order = await post(alice, '/standing-orders', {
          from_account_id: a.id,
          payee_id: landlord,
          amount: 1000,
          currency: 'GBP',
          reference: 'MINE',
          frequency: 'yearly',
          start_date: plusDays(today(), 30),
        }).expect(201);
        for (const path of [
          `/standing-orders/${order.body.id}`,
          `/standing-orders/${order.body.id}/payments`,
          `/payees/${landlord}`,
        ]) {
          await http().get(path).set(bearer(bob.token)).expect(404);
        }
        const theirs = await post(bob, '/standing-orders', {
          from_account_id: b.id,
          payee_id: landlord,
          amount: 1000,
          currency: 'GBP',
          reference: 'NOT MINE',
          frequency: 'yearly',
          start_date: plusDays(today(), 30),
        }).expect(404);
        expect(theirs.body.details).toEqual([expect.objectContaining({ field: 'payee_id' })]);
        const list = await http().get('/standing-orders').set(bearer(bob.token)).expect(200);
        expect(list.body.data).toEqual([]);
      });

      it('pays once when staff run the due sweep from two clients at the same time', async () => {
        const orders: string[] = [];
        for (let i = 0; i < 6; i++) {
          const o = await post(alice, '/scheduled-payments', {
            from_account_id: a.id,
            payee_id: landlord,
            amount: 100 + i,
            currency: 'GBP',
            reference: `RACE ${i}`,
            pay_on: plusDays(today(), 1),
          }).expect(201);
          orders.push(o.body.id);
        }
        const before = await balanceOf(get(), alice, a);
        // Tomorrow comes: their time has come.
        await db.query(
          `UPDATE payments.payments SET next_attempt_at = now() - interval '1 second' WHERE order_id = ANY($1::uuid[])`,
          [orders],
        );
        const [one, two] = await Promise.all([runDue(), runDue()]);
        expect(one.body.paid + two.body.paid).toBeLessThanOrEqual(6);
        for (const [i, id] of orders.entries()) {
          expect((await scheduledPayment(alice, id)).body.status).toBe('paid');
          expect(await entriesOf(a, `RACE ${i}`)).toBe(1);
        }
        expect(await balanceOf(get(), alice, a)).toBe(before - (100 + 101 + 102 + 103 + 104 + 105));
      });
    });
    describe('abuse and races', () => {
      /** A customer of their own (payee creation is rate-limited per customer), with an account. */
      const fresh = async (tag: string, funds = 0) => {
        const who = await verifiedCustomer(get(), admin, `payments.${tag}`);
        const account = await openAccount(get(), who);
        if (funds) await deposit(get(), admin, account, funds);
        return { who, account };
      };
      const externalPayee = (who: Actor, serial: number, name = 'Payee') =>
        payee(who, { name, sort_code: EXTERNAL_SORT_CODE, account_number: externalNumber(serial) });

      it('never leaves an order set up while its payee was being deleted able to pay it', async () => {
        const { who, account } = await fresh('deleting');
        for (let i = 0; i < 12; i++) {
          const p = await externalPayee(who, 6_000_000 + i * 10);
          const [path, body] =
            i % 2
              ? ['/standing-orders', { frequency: 'monthly', start_date: plusDays(today(), 3) }]
              : ['/scheduled-payments', { pay_on: plusDays(today(), 3) }];
          const [created, deleted] = await Promise.all([
            post(who, path, {
              from_account_id: account.id,
              payee_id: p.id,
              amount: 100,
              currency: 'GBP',
              reference: 'RACE',
              ...body,
            }),
            new Promise((resolve) => setTimeout(resolve, i % 6)).then(() =>
              http().delete(`/payees/${p.id}`).set(bearer(who.token)).expect(200),
            ),
          ]);
          // Either the deletion came first (404 naming payee_id) or it cancelled the new order too.
          if (created.status === 404) {
            expect(created.body.details).toEqual([expect.objectContaining({ field: 'payee_id' })]);
            continue;
          }
          expect(created.status).toBe(201);
          const order = await http().get(`${path}/${created.body.id}`).set(bearer(who.token)).expect(200);
          expect(order.body).toMatchObject({ status: 'cancelled', status_reason: 'payee_deleted' });
          expect(deleted.body.cancelled_standing_orders + deleted.body.cancelled_scheduled_payments).toBe(1);
        }
      });

      it('caps the standing orders and scheduled payments a customer keeps open, and sets up in a day, also when created in parallel', async () => {
        const { who, account } = await fresh('capped');
        const p = await externalPayee(who, 6_100_000);
        const bodies: [string, Record<string, unknown>, string][] = [
          [
            '/standing-orders',
            { frequency: 'monthly', start_date: plusDays(today(), 3) },
            'too_many_standing_orders',
          ],
          ['/scheduled-payments', { pay_on: plusDays(today(), 3) }, 'too_many_scheduled_payments'],
        ];
        for (const [path, extra, code] of bodies) {
          const body = {
            from_account_id: account.id,
            payee_id: p.id,
            amount: 100,
            currency: 'GBP',
            reference: 'CAP',
            ...extra,
          };
          const results = await Promise.all(Array.from({ length: 110 }, () => post(who, path, body)));
          const created = results.filter((r) => r.status === 201);
          expect(created).toHaveLength(100);
          for (const r of results.filter((x) => x.status !== 201)) {
            expect(r.status).toBe(422);
            expect(r.body.code).toBe(code);
          }
          // A cancelled one no longer counts.
          await http().post(`${path}/${created[0].body.id}/cancel`).set(bearer(who.token)).expect(200);
          const last = randomUUID();
          const again = await post(who, path, body, last).expect(201);
          expect((await post(who, path, body).expect(422)).body.code).toBe(code);
          // Setting up and cancelling in a loop: PAYMENT_ORDERS_PER_DAY (120 here) set up in 24 hours,
          // cancelled ones too. 101 are set up so far; with all of them cancelled, 19 more are taken.
          for (const id of [...created.slice(1).map((r) => r.body.id as string), again.body.id as string]) {
            await http().post(`${path}/${id}/cancel`).set(bearer(who.token)).expect(200);
          }
          // The first of them set up an hour ago: refused, one may be set up again when it is a day old.
          const table = path === '/standing-orders' ? 'standing_orders' : 'scheduled_payments';
          await db.query(
            `UPDATE payments.${table} SET created_at = created_at - interval '1 hour' WHERE id = $1`,
            [created[0].body.id],
          );
          const more = await Promise.all(Array.from({ length: 25 }, () => post(who, path, body)));
          expect(more.filter((r) => r.status === 201)).toHaveLength(19);
          for (const r of more.filter((x) => x.status !== 201)) {
            expect(r.status).toBe(429);
            expect(r.body.code).toBe('rate_limited');
            const retryAfter = Number(r.headers['retry-after']);
            expect(retryAfter).toBeGreaterThan(23 * 3600 - 600);
            expect(retryAfter).toBeLessThanOrEqual(23 * 3600);
          }
          // A retry with a key already used is answered as before, not refused: it sets nothing up.
          const replay = await post(who, path, body, last).expect(201);
          expect(replay.headers['idempotent-replayed']).toBe('true');
          expect(replay.body.id).toBe(again.body.id);
        }
      });

      it('replays a creation retried with its Idempotency-Key whatever changed since (here: the payee deleted)', async () => {
        const { who, account } = await fresh('replaying');
        const p = await externalPayee(who, 6_200_000);
        const key = randomUUID();
        const body = {
          from_account_id: account.id,
          payee_id: p.id,
          amount: 100,
          currency: 'GBP',
          reference: 'RETRY',
          pay_on: plusDays(today(), 3),
        };
        const first = await post(who, '/scheduled-payments', body, key).expect(201);
        await http().delete(`/payees/${p.id}`).set(bearer(who.token)).expect(200);
        const again = await post(who, '/scheduled-payments', body, key).expect(201);
        expect(again.headers['idempotent-replayed']).toBe('true');
        expect(again.body).toMatchObject({
          id: first.body.id,
          status: 'cancelled',
          status_reason: 'payee_deleted',
        });
        expect(
          (await post(who, '/scheduled-payments', { ...body, amount: 101 }, key).expect(422)).body.code,
        ).toBe('idempotency_key_reused');
      });

      it('does not retry, later, an attempt that was in flight when its order was cancelled or its payee deleted', async () => {
        const { who, account } = await fresh('inflight');
        const gym = await externalPayee(who, 6_300_000, 'Gym');
        const club = await externalPayee(who, 6_400_000, 'Club');
        const order = await post(who, '/standing-orders', {
          from_account_id: account.id,
          payee_id: gym.id,
          amount: 500,
          currency: 'GBP',
          reference: 'STOPPED',
          frequency: 'monthly',
          start_date: plusDays(today(), 1),
        }).expect(201);
        const once = await post(who, '/scheduled-payments', {
          from_account_id: account.id,
          payee_id: club.id,
          amount: 700,
          currency: 'GBP',
          reference: 'STOPPED',
          pay_on: plusDays(today(), 1),
        }).expect(201);
        // Its date comes, and a sweep has claimed both payments (processing) when the customer stops them.
        await db.query(
          `UPDATE payments.standing_orders SET start_date = $2, next_payment_date = $2 WHERE id = $1`,
          [order.body.id, today()],
        );
        await runDue();
        await db.query(
          `UPDATE payments.payments SET status = 'processing', next_attempt_at = now() - interval '1 second'
            WHERE order_id = ANY($1::uuid[])`,
          [[order.body.id, once.body.id]],
        );
        await http().post(`/standing-orders/${order.body.id}/cancel`).set(bearer(who.token)).expect(200);
        // The scheduled payment being paid is left to its attempt.
        await http().delete(`/payees/${club.id}`).set(bearer(who.token)).expect(200);
        // The attempts are refused (no money): neither is kept for a retry.
        await runDue();
        const [stopped] = await orderPayments(who, order.body.id);
        expect(stopped).toMatchObject({
          status: 'skipped',
          failure_reason: 'insufficient_funds',
          transaction_id: null,
        });
        const oneOff = (await scheduledPayment(who, once.body.id)).body;
        expect(oneOff).toMatchObject({
          status: 'cancelled',
          status_reason: 'payee_deleted',
          payment: { status: 'skipped' },
        });
        // Money arrives and the retry time passes: nothing is paid.
        await deposit(get(), admin, account, 10_000);
        await db.query(
          `UPDATE payments.payments SET next_attempt_at = now() - interval '1 second' WHERE owner_id = $1`,
          [who.id],
        );
        await runDue();
        expect(await entriesOf(account, 'STOPPED')).toBe(0);
        expect(await balanceOf(get(), who, account)).toBe(10_000);
      });

      it('audits every staff run of the due sweep, and many at once leave the app serving', async () => {
        // Earlier scenarios ran the sweep as this admin too (their entries may still be arriving): count the
        // entries of sweeps made from now on. An entry carries its action's time, from the same database.
        const [{ start }] = (await db.query(`SELECT clock_timestamp() AS start`)).rows as { start: Date }[];
        const sweepsAudited = async () =>
          (
            (
              await http()
                .get('/admin/audit')
                .query({ action: 'due_sweep_run', actor_id: admin.id, limit: 100 })
                .set(bearer(admin.token))
                .expect(200)
            ).body.data as { created_at: string; reason: string | null }[]
          ).filter((e) => new Date(e.created_at) >= start);
        /** Those entries once there are at least `count`. */
        const sweepsAuditedAtLeast = (count: number) =>
          eventually(
            async () => {
              const audited = await sweepsAudited();
              return audited.length >= count ? audited : undefined;
            },
            15_000,
            `${count} audit entries of the sweeps`,
          );
        const runs = await Promise.all(
          Array.from({ length: 15 }, () => http().post('/admin/payments/run-due').set(bearer(admin.token))),
        );
        // Waiting sweeps used to hold a database connection each: the pool ran dry for everyone.
        await http().get('/payees').set(bearer(alice.token)).expect(200);
        expect(runs.map((r) => r.status)).toEqual(runs.map(() => 200));
        const entries = await sweepsAuditedAtLeast(15);
        expect(entries).toHaveLength(15);
        expect(entries[0]).toMatchObject({
          actor_id: admin.id,
          actor_role: 'admin',
          action: 'due_sweep_run',
          target_user_id: null,
          resource_type: 'payment_sweep',
          before: null,
          after: { scheduled: expect.any(Number), paid: expect.any(Number), errors: 0 },
          reason: null,
        });
        // A reason, when given, is kept with the entry; one that is no reason is a 400 naming it, and no sweep runs.
        const bad = await http()
          .post('/admin/payments/run-due')
          .set(bearer(admin.token))
          .send({ reason: 'x' })
          .expect(400);
        expect(bad.body.details).toEqual([expect.objectContaining({ field: 'reason' })]);
        const why = `Payments missed in the outage ${randomUUID()}`;
        await http()
          .post('/admin/payments/run-due')
          .set(bearer(admin.token))
          .send({ reason: why })
          .expect(200);
        const withReason = await sweepsAuditedAtLeast(16);
        expect(withReason.filter((e) => e.reason === why)).toHaveLength(1);
        expect(withReason).toHaveLength(16);
        await http().post('/admin/payments/run-due').set(bearer(alice.token)).expect(403);
      });
    });
  });
}
