/**
 * Notifications, both topologies: a transfer tells each party once per enabled channel (the app's list and
 * live stream, e-mail through a real SMTP server, SMS and push through webhooks), preferences decide the
 * channels, redelivered events change nothing, failed deliveries reach staff and can be retried.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { MAX_CONTACT_IDS } from '@protobank/contracts';
import type { Client } from 'pg';
import request from 'supertest';
import {
  asReviewed,
  bearer,
  firstAdmin,
  newCustomer,
  pageThrough,
  readsFiled,
  type Actor,
} from '../support/actors';
import {
  deposit,
  openAccount,
  promote,
  submitKyc,
  transfer,
  verifiedCustomer,
  type Account,
} from '../support/banking';
import { openStream, type EventStream } from '../support/event-stream';
import { verifyEmailForNotices } from '../support/email';
import { codesSentTo, textedCode, verifyPhone } from '../support/phones';
import { WEBHOOK_SECRET, type Receivers } from '../support/receivers';
import { securityEventsCounted } from '../support/security-events';
import { eventually, logsThrough, metricValue, scrapeMetrics } from '../support/test-env';
import type { Running } from '../support/topologies';
import { inboxDuplicates } from '../support/inbox-metrics';

export function notificationsScenarios(get: () => Running, receivers: () => Receivers) {
  describe('notifications', () => {
    const http = () => request(get().baseUrl);
    const mails = () => receivers().mails;
    let admin: Actor;
    let db: Client;
    let alice: Actor;
    let bob: Actor;
    let a: Account;
    let b: Account;

    /**
     * A KYC-verified customer with this name, their e-mail address verified (and phone, verified for SMS):
     * named before KYC, which then locks the name.
     */
    const namedCustomer = async (tag: string, full_name: string, phone?: string) => {
      const who = await newCustomer(get(), tag);
      await verifyEmailForNotices(get(), mails, who);
      await http()
        .patch('/users/me')
        .set(bearer(who.token))
        .send({ full_name, ...(phone ? { phone } : {}) })
        .expect(200);
      await submitKyc(get(), who);
      await http()
        .post(`/admin/kyc/${who.id}/approve`)
        .set(bearer(admin.token))
        .send(await asReviewed(http(), admin.token, who.id))
        .expect(200);
      if (phone) await verifyPhone(get(), receivers(), who, phone);
      return who;
    };

    /** The notifications of one transaction, with their deliveries, once every delivery is settled. */
    const settled = (transactionId: string, expected: number) =>
      eventually(
        async () => {
          const r = await db.query(
            `SELECT n.user_id, n.type, n.body, d.channel, d.status, d.attempts
             FROM notifications.notifications n JOIN notifications.deliveries d ON d.notification_id = n.id
            WHERE n.data->>'transaction_id' = $1 ORDER BY n.user_id, d.channel`,
            [transactionId],
          );
          const done = r.rows.length === expected && r.rows.every((x) => x.status !== 'pending');
          return done ? r.rows : undefined;
        },
        15000,
        `the deliveries of ${transactionId}`,
      );

    beforeAll(async () => {
      admin = await firstAdmin(get());
      db = await get().t.db();
      alice = await namedCustomer('notify.alice', 'Alice Jones');
      bob = await namedCustomer('notify.bob', 'Bob Smith', '+447700900123');
      a = await openAccount(get(), alice);
      b = await openAccount(get(), bob);
      await deposit(get(), admin, a, 100_000);
    });

    describe('notifications of a transfer', () => {
      let stream: EventStream;
      let transactionId: string;
      let sentAt: number;

      beforeAll(async () => {
        await http()
          .put('/notifications/preferences')
          .set(bearer(bob.token))
          .send({ transactions: { sms: true, push: true } })
          .expect(200);
        stream = await openStream(`${get().baseUrl}/notifications/stream`, bearer(alice.token));
        const res = await transfer(get(), alice, {
          from_account_id: a.id,
          to_account_number: b.account_number,
          amount: 2550,
          currency: 'GBP',
          reference: 'Dinner',
        }).expect(201);
        transactionId = res.body.id as string;
        sentAt = Date.now();
      });
      afterAll(() => stream?.close());

      it('tells each party once on every channel they enabled, and each channel delivers', async () => {
        const rows = await settled(transactionId, 6);
        const byUser = (id: string) => rows.filter((r) => r.user_id === id);
        expect(byUser(alice.id).map((r) => [r.type, r.body, r.channel, r.status])).toEqual([
          ['transaction.sent', 'You sent £25.50 to Bob Smith', 'email', 'sent'],
          ['transaction.sent', 'You sent £25.50 to Bob Smith', 'in_app', 'sent'],
        ]);
        expect(byUser(bob.id).map((r) => [r.type, r.body, r.channel, r.status])).toEqual([
          ['transaction.received', 'You received £25.50 from Alice Jones', 'email', 'sent'],
          ['transaction.received', 'You received £25.50 from Alice Jones', 'in_app', 'sent'],
          ['transaction.received', 'You received £25.50 from Alice Jones', 'push', 'sent'],
          ['transaction.received', 'You received £25.50 from Alice Jones', 'sms', 'sent'],
        ]);
      });

      it('delivers the e-mail through the SMTP server, once per party', async () => {
        // Every delivery decided first (one e-mail row each, none pending): nothing more will be sent, so
        // the mails received once both have arrived are all there will be.
        const rows = await settled(transactionId, 6);
        expect(rows.filter((r) => r.channel === 'email').map((r) => r.status)).toEqual(['sent', 'sent']);
        const ours = () =>
          receivers().mails.filter(
            (x) => x.text.includes('£25.50') && [alice.email, bob.email].includes(x.to[0]),
          );
        const mails = await eventually(async () => (ours().length >= 2 ? ours() : undefined));
        expect(mails).toHaveLength(2);
        const toAlice = mails.find((m) => m.to[0] === alice.email)!;
        expect(toAlice.subject).toBe('Money sent');
        expect(toAlice.text).toContain('You sent £25.50 to Bob Smith');
        expect(mails.find((m) => m.to[0] === bob.email)!.text).toContain(
          'You received £25.50 from Alice Jones',
        );
      });

      it('sends the SMS and the push through the signed webhook', async () => {
        const hooks = await eventually(async () => {
          const h = receivers().hooks.filter(
            (x) => (x.body.text ?? x.body.body) === 'You received £25.50 from Alice Jones',
          );
          return h.length >= 2 ? h : undefined;
        });
        const sms = hooks.find((h) => h.path === '/sms')!;
        const push = hooks.find((h) => h.path === '/push')!;
        expect(sms.body).toMatchObject({ to: '+447700900123' });
        expect(push.body).toMatchObject({ user_id: bob.id, title: 'Money received' });
        for (const hook of [sms, push]) {
          const [t, mac] = String(hook.headers['x-protobank-signature']).split(',');
          const expected = createHmac('sha256', WEBHOOK_SECRET)
            .update(`${t.slice(2)}.${hook.raw}`)
            .digest('hex');
          expect(mac).toBe(`sha256=${expected}`);
          expect(hook.headers['idempotency-key']).toEqual(expect.any(String));
        }
      });

      it('pushes the notification to a connected stream client', async () => {
        expect(stream.status).toBe(200);
        expect(stream.headers['content-type']).toContain('text/event-stream');
        const event = await stream.next(
          (e) => e.event === 'notification' && e.data.type === 'transaction.sent',
        );
        expect(event.data).toMatchObject({ body: 'You sent £25.50 to Bob Smith', category: 'transactions' });
        expect(event.id).toBe(event.data.id);
        // Not a timed assertion (npm run bench:events measures it); recorded for whoever reads the log.
        process.stdout.write(`stream latency after the transfer's 201: ${event.at - sentAt} ms\n`);
      });

      it('lists it, counts it unread, and marks it read for its owner only', async () => {
        const list = await http().get('/notifications?unread=true').set(bearer(alice.token)).expect(200);
        const mine = list.body.data.find((n: { type: string }) => n.type === 'transaction.sent');
        expect(mine).toMatchObject({ title: 'Money sent', read_at: null });
        expect(mine.data).toMatchObject({
          transaction_id: transactionId,
          amount: 2550,
          currency: 'GBP',
          account_id: a.id,
        });
        const before = list.body.unread_count as number;
        expect(before).toBeGreaterThanOrEqual(3); // welcome, identity verified, this one

        await http().post(`/notifications/${mine.id}/read`).set(bearer(bob.token)).expect(404);
        await http().get(`/notifications/${mine.id}`).set(bearer(bob.token)).expect(404);
        const read = await http().post(`/notifications/${mine.id}/read`).set(bearer(alice.token)).expect(200);
        expect(read.body.read_at).toEqual(expect.any(String));
        const again = await http()
          .post(`/notifications/${mine.id}/read`)
          .set(bearer(alice.token))
          .expect(200);
        expect(again.body.read_at).toBe(read.body.read_at);
        const count = await http().get('/notifications/unread-count').set(bearer(alice.token)).expect(200);
        expect(count.body).toEqual({ unread_count: before - 1 });
        const unread = await http().get('/notifications?unread=true').set(bearer(alice.token)).expect(200);
        expect(unread.body.data.map((n: { id: string }) => n.id)).not.toContain(mine.id);

        const all = await http().post('/notifications/read-all').set(bearer(alice.token)).expect(200);
        expect(all.body).toEqual({ marked: before - 1, unread_count: 0 });
        const bobCount = await http().get('/notifications/unread-count').set(bearer(bob.token)).expect(200);
        expect(bobCount.body.unread_count).toBeGreaterThan(0);
      });

      it('pages the list newest first with a cursor', async () => {
        const first = await http().get('/notifications?limit=1').set(bearer(alice.token)).expect(200);
        const second = await http()
          .get(`/notifications?limit=1&cursor=${first.body.next_cursor}`)
          .set(bearer(alice.token))
          .expect(200);
        const all = await http().get('/notifications?limit=100').set(bearer(alice.token)).expect(200);
        // A notice stored after the first page (a late event) can only come before it in the full list.
        type Listed = { id: string; created_at: string };
        const listed = all.body.data as Listed[];
        const at = listed.findIndex((n) => n.id === first.body.data[0].id);
        expect(at).toBeGreaterThanOrEqual(0);
        expect(listed[at]).toEqual(first.body.data[0]);
        for (const newer of listed.slice(0, at)) expect(newer.created_at >= listed[at].created_at).toBe(true);
        expect(second.body.data).toEqual([listed[at + 1]]);
        // A forged cursor (a date before anything Postgres stores) is a 400 naming it, not a 500.
        const forged = Buffer.from(
          JSON.stringify(['-010000-01-01T00:00:00.000Z', all.body.data[0].id]),
        ).toString('base64url');
        const bad = await http().get(`/notifications?cursor=${forged}`).set(bearer(alice.token)).expect(400);
        expect(bad.body.details[0].field).toBe('cursor');
        expect(second.body.data[0].created_at <= first.body.data[0].created_at).toBe(true);
      });

      it('stores the welcome and the KYC outcome too', async () => {
        // Waited for: run alone (-t), nothing before it has waited for the transfer's notice.
        const wanted = ['welcome', 'kyc.verified', 'transaction.received'];
        const types = await eventually(async () => {
          const list = await http().get('/notifications?limit=100').set(bearer(bob.token)).expect(200);
          const seen = list.body.data.map((n: { type: string }) => n.type) as string[];
          return wanted.every((t) => seen.includes(t)) ? seen : undefined;
        });
        expect(types).toEqual(expect.arrayContaining(wanted));
      });

      it('changes nothing when the same event is delivered again', async () => {
        const countRows = async () =>
          (
            await db.query(
              `SELECT count(*)::int AS n, (SELECT count(*)::int FROM notifications.deliveries) AS d
               FROM notifications.notifications`,
            )
          ).rows[0];
        const before = await countRows();
        const mailsBefore = receivers().mails.length;
        const duplicates = () =>
          inboxDuplicates(get(), 'notifications', 'TransactionNoticesHandler.onTransactionCreated');
        const seen = await duplicates();
        // The same event, queued for publishing a second time (as after a relay crash before marking it sent).
        await db.query(
          `INSERT INTO transactions.outbox (id, name, payload, headers)
         SELECT gen_random_uuid(), name, payload, headers FROM transactions.outbox
          WHERE name = 'transaction.created' AND payload->>'transaction_id' = $1`,
          [transactionId],
        );
        await eventually(
          async () => ((await duplicates()) > seen ? true : undefined),
          15000,
          'the redelivery',
        );
        expect(await countRows()).toEqual(before);
        expect(receivers().mails.length).toBe(mailsBefore);
      });

      it('tells every party of a window of transfers with more parties than one contacts call takes, in batches, not one event at a time', async () => {
        // Transfers between 2 × n distinct customers (ids nobody has: the notices go to them all the same,
        // with no name to give), pending in the outbox at once, as a busy ledger leaves them: the relay
        // hands them over together, and their parties' names take more than one getContacts call.
        const n = MAX_CONTACT_IDS / 2 + 10;
        const { rows } = await db.query<{ id: string }>(
          `INSERT INTO transactions.outbox (id, name, payload)
           SELECT e.id, 'transaction.created', jsonb_build_object(
                    'event_id', e.id, 'occurred_at', now(), 'created_at', now(), 'transaction_id', gen_random_uuid(),
                    'kind', 'transfer', 'amount', 100 + e.g, 'currency', 'GBP', 'reference', NULL, 'merchant', NULL,
                    'category', NULL, 'reverses_id', NULL,
                    'from_account_id', gen_random_uuid(), 'from_owner_id', gen_random_uuid(),
                    'to_account_id', gen_random_uuid(), 'to_owner_id', gen_random_uuid())
             FROM (SELECT gen_random_uuid() AS id, g FROM generate_series(1, $1::int) g) e
           RETURNING id`,
          [n],
        );
        const events = rows.map((r) => r.id);
        const stored = await eventually(
          async () => {
            const r = await db.query(
              `SELECT count(*)::int AS n FROM notifications.notifications WHERE source_event_id = ANY($1::uuid[])`,
              [events],
            );
            return r.rows[0].n === 2 * n ? r.rows[0].n : undefined;
          },
          30000,
          'the notices of the window',
        );
        expect(stored).toBe(2 * n);
        // Each transaction that took events wrote their inbox rows at its start time (now()). A window that
        // failed as a whole would have been handed over again one event at a time: n transactions.
        const { rows: inbox } = await db.query<{ transactions: number }>(
          `SELECT count(DISTINCT processed_at)::int AS transactions FROM notifications.inbox
            WHERE consumer = 'TransactionNoticesHandler.onTransactionCreated' AND event_id = ANY($1::uuid[])`,
          [events],
        );
        expect(inbox[0].transactions).toBeLessThan(n / 4);
      });
    });

    describe('account notices', () => {
      it("tells a customer their identity could not be verified, with the bank's wording of the reason (not the reviewer's note), in the app and by e-mail", async () => {
        const gina = await newCustomer(get(), 'notify.gina');
        await verifyEmailForNotices(get(), mails, gina);
        await submitKyc(get(), gina);
        await http()
          .post(`/admin/kyc/${gina.id}/reject`)
          .set(bearer(admin.token))
          .send(await asReviewed(http(), admin.token, gina.id))
          // The reviewer's note is the audit trail's: the customer is told the bank's wording for the code,
          // so no member of staff can send a customer a message (a link, a number to call) as the bank.
          .send({ reason_code: 'document_unreadable', reason: 'Glare, see https://kyc.example/verify' })
          .expect(200);
        const notice = await eventually(async () => {
          const list = await http().get('/notifications').set(bearer(gina.token)).expect(200);
          return (list.body.data as { type: string; body: string }[]).find((n) => n.type === 'kyc.rejected');
        });
        expect(notice.body).toBe(
          'We could not verify your identity (the photo of your document could not be read). You can send new documents from the app.',
        );
        const mail = await eventually(async () =>
          receivers().mails.find((m) => m.to[0] === gina.email && m.subject === 'Identity not verified'),
        );
        expect(mail.text).toContain('the photo of your document could not be read');
        expect(mail.text).not.toContain('kyc.example');
      });

      it('e-mails an unverified address security notices only, and the rest once its owner verifies it', async () => {
        const hugo = await newCustomer(get(), 'notify.hugo');
        /** Hugo's notices of `type` by e-mail, oldest first: each delivery's status and reason, once settled. */
        const emailed = (type: string, count: number) =>
          eventually(async () => {
            const { rows } = await db.query(
              `SELECT d.status, d.last_error FROM notifications.notifications n
                 JOIN notifications.deliveries d ON d.notification_id = n.id AND d.channel = 'email'
                WHERE n.user_id = $1 AND n.type = $2 ORDER BY n.created_at`,
              [hugo.id, type],
            );
            const done = rows.length === count && rows.every((r) => r.status !== 'pending');
            return done ? rows.map((r) => [r.status, r.last_error]) : undefined;
          });
        const reject = async () => {
          await submitKyc(get(), hugo);
          await http()
            .post(`/admin/kyc/${hugo.id}/reject`)
            .set(bearer(admin.token))
            .send(await asReviewed(http(), admin.token, hugo.id))
            .send({ reason_code: 'document_expired', reason: 'Document expired' })
            .expect(200);
        };
        const mailed = (subject: string) =>
          mails().filter((m) => m.to[0] === hugo.email && m.subject === subject);

        // Unverified: the KYC outcome (personal data) stays in the app; a security notice still goes.
        await reject();
        expect(await emailed('kyc.rejected', 1)).toEqual([['skipped', 'e-mail address not verified']]);
        const list = await http().get('/notifications').set(bearer(hugo.token)).expect(200);
        expect(list.body.data.map((n: { type: string }) => n.type)).toContain('kyc.rejected');
        await http().patch('/users/me').set(bearer(hugo.token)).send({ phone: '+447700900555' }).expect(200);
        expect(await emailed('user.contact_changed', 1)).toEqual([['sent', null]]);
        await eventually(async () => mailed('Contact details changed')[0]);

        // Verified: the next KYC outcome goes by e-mail too, and is the only one that went.
        await verifyEmailForNotices(get(), mails, hugo);
        await reject();
        expect(await emailed('kyc.rejected', 2)).toEqual([
          ['skipped', 'e-mail address not verified'],
          ['sent', null],
        ]);
        expect(await eventually(async () => mailed('Identity not verified')[0])).toBeDefined();
        expect(mailed('Identity not verified')).toHaveLength(1);
      });
    });

    describe('payment notices', () => {
      // Queued on the payments outbox as the due sweep writes them, with chosen payloads: what is under
      // test here is the notifications side, in both topologies (payments.scenarios drives the sweep).
      const queue = async (name: 'payment.executed' | 'payment.failed', payload: Record<string, unknown>) => {
        const event = { event_id: randomUUID(), occurred_at: new Date().toISOString(), ...payload };
        await db.query(`INSERT INTO payments.outbox (id, name, payload) VALUES (gen_random_uuid(), $1, $2)`, [
          name,
          event,
        ]);
      };
      const order = () => ({
        source: 'standing_order',
        order_id: randomUUID(),
        owner_id: alice.id,
        from_account_id: a.id,
        payee_id: randomUUID(),
        payee_name: 'Landlord',
        amount: 5000,
        currency: 'GBP',
        reference: 'Rent',
        due_date: '2026-03-01',
        late: false,
      });
      /** The payer's notification of one payment, with its channels, once every delivery is settled. */
      const noticeOf = (paymentId: string) =>
        eventually(
          async () => {
            const r = await db.query(
              `SELECT n.user_id, n.category, n.type, n.title, n.body, array_agg(d.channel ORDER BY d.channel) AS channels,
                      bool_and(d.status <> 'pending') AS settled
                 FROM notifications.notifications n JOIN notifications.deliveries d ON d.notification_id = n.id
                WHERE n.data->>'payment_id' = $1
                GROUP BY n.id`,
              [paymentId],
            );
            return r.rows.length === 1 && r.rows[0].settled ? r.rows[0] : undefined;
          },
          15000,
          `the notice of payment ${paymentId}`,
        );

      it('tells the payer a standing order was paid, in the app and by e-mail', async () => {
        const payment_id = randomUUID();
        await queue('payment.executed', {
          ...order(),
          payment_id,
          transaction_id: randomUUID(),
          executed_at: new Date().toISOString(),
        });
        expect(await noticeOf(payment_id)).toMatchObject({
          user_id: alice.id,
          category: 'payments',
          type: 'payment.executed',
          title: 'Standing order paid',
          body: 'Your standing order of £50.00 to Landlord was paid',
          channels: ['email', 'in_app'],
        });
      });

      it('tells the payer why a payment failed and that the standing order is suspended', async () => {
        const payment_id = randomUUID();
        await queue('payment.failed', {
          ...order(),
          payment_id,
          reason: 'insufficient_funds',
          attempts: 3,
          order_status: 'suspended',
        });
        const notice = await noticeOf(payment_id);
        expect(notice).toMatchObject({
          category: 'payments',
          type: 'payment.failed',
          title: 'Standing order suspended',
        });
        expect(notice.body).toMatch(
          /^We couldn't pay your standing order of £50\.00 to Landlord: not enough money\. /,
        );
      });
    });

    describe('preferences', () => {
      it('starts from the defaults and says which channels are locked', async () => {
        const carol = await verifiedCustomer(get(), admin, 'notify.carol');
        const res = await http().get('/notifications/preferences').set(bearer(carol.token)).expect(200);
        expect(res.body).toEqual({
          transactions: { in_app: true, email: true, sms: false, push: false },
          payments: { in_app: true, email: true, sms: false, push: false },
          security: { in_app: true, email: true, sms: false, push: false },
          account: { in_app: true, email: true, sms: false, push: false },
          marketing: { in_app: false, email: false, sms: false, push: false },
          locked: { security: ['in_app', 'email'] },
        });
      });

      it('refuses to switch off security notices, naming the field, and changes nothing', async () => {
        const res = await http()
          .put('/notifications/preferences')
          .set(bearer(alice.token))
          .send({ marketing: { email: true }, security: { email: false } })
          .expect(422);
        expect(res.body.code).toBe('preference_locked');
        expect(res.body.details).toEqual([{ field: 'security.email', message: expect.any(String) }]);
        const now = await http().get('/notifications/preferences').set(bearer(alice.token)).expect(200);
        expect(now.body.marketing.email).toBe(false);
      });

      it('names the offending field of a malformed body', async () => {
        for (const [body, field] of [
          [{ transactions: { email: 'yes' } }, 'transactions.email'],
          [{ transactions: null }, 'transactions'],
          [{ holidays: { email: true } }, 'holidays'],
          [{ transactions: { fax: true } }, 'transactions.fax'],
          // A change of nothing (it answered 200).
          [{}, 'body'],
          [{ security: {} }, 'body'],
        ] as const) {
          const res = await http()
            .put('/notifications/preferences')
            .set(bearer(alice.token))
            .send(body)
            .expect(400);
          expect(res.body.details.map((d: { field: string }) => d.field)).toContain(field);
        }
      });

      it('refuses an array where a category takes an object (it was a 500, and [] passed as nothing)', async () => {
        const before = await http().get('/notifications/preferences').set(bearer(alice.token)).expect(200);
        for (const value of [[true], ['sms'], [{ sms: true }], []]) {
          const res = await http()
            .put('/notifications/preferences')
            .set(bearer(alice.token))
            .send({ marketing: value })
            .expect(400);
          expect(res.body).toMatchObject({ code: 'validation_failed' });
          expect(res.body.details).toContainEqual({
            field: 'marketing',
            message: 'marketing must be an object',
          });
        }
        const after = await http().get('/notifications/preferences').set(bearer(alice.token)).expect(200);
        expect(after.body).toEqual(before.body);
      });

      it('sends only on the channels left on', async () => {
        await http()
          .put('/notifications/preferences')
          .set(bearer(alice.token))
          .send({ transactions: { email: false } })
          .expect(200);
        const res = await transfer(get(), alice, {
          from_account_id: a.id,
          to_account_number: b.account_number,
          amount: 100,
          currency: 'GBP',
        }).expect(201);
        const rows = await settled(res.body.id as string, 5);
        expect(rows.filter((r) => r.user_id === alice.id).map((r) => r.channel)).toEqual(['in_app']);
        await http()
          .put('/notifications/preferences')
          .set(bearer(alice.token))
          .send({ transactions: { email: true } })
          .expect(200);
      });
    });

    describe('phone verification', () => {
      const code = (who: Actor) =>
        http().post('/notifications/phone/verification/confirm').set(bearer(who.token));
      const sendCode = (who: Actor) =>
        http().post('/notifications/phone/verification').set(bearer(who.token));
      const setPhone = (who: Actor, phone: string | null) =>
        http().patch('/users/me').set(bearer(who.token)).send({ phone }).expect(200);
      /** A code that is not `right` (six digits). */
      const wrong = (right: string) => (right === '000000' ? '000001' : '000000');
      const smsOf = async (transactionId: string, userId: string) =>
        (await settled(transactionId, 5)).find((r) => r.user_id === userId && r.channel === 'sms');
      /** The SMS delivery's status and why, once every delivery of the transfer is settled. */
      const smsReason = async (transactionId: string, userId: string) => {
        await settled(transactionId, 5);
        return (
          await db.query(
            `SELECT d.status, d.last_error FROM notifications.deliveries d
               JOIN notifications.notifications n ON n.id = d.notification_id
              WHERE n.data->>'transaction_id' = $1 AND d.user_id = $2 AND d.channel = 'sms'`,
            [transactionId, userId],
          )
        ).rows[0] as { status: string; last_error: string | null };
      };

      it('texts nothing to a number until its owner confirms a code sent to it, and nothing after it changes', async () => {
        const phone = '+447700900311';
        const frank = await namedCustomer('phone.frank', 'Frank Hill');
        await setPhone(frank, phone);
        await http()
          .put('/notifications/preferences')
          .set(bearer(frank.token))
          .send({ transactions: { sms: true } })
          .expect(200);
        const f = await openAccount(get(), frank);
        const pay = async (amount: number) =>
          (
            await transfer(get(), alice, {
              from_account_id: a.id,
              to_account_number: f.account_number,
              amount,
              currency: 'GBP',
            }).expect(201)
          ).body.id as string;
        expect((await http().get('/notifications/phone').set(bearer(frank.token)).expect(200)).body).toEqual({
          phone,
          verified: false,
          verified_at: null,
        });

        // Unverified: the SMS is skipped, and nothing reaches the number.
        const first = await pay(101);
        expect(await smsReason(first, frank.id)).toEqual({
          status: 'skipped',
          last_error: 'phone number not verified',
        });
        expect(receivers().hooks.filter((h) => h.body.to === phone)).toEqual([]);

        // A code is texted (only its hash is kept), and can be asked for once a minute.
        const sent = await sendCode(frank).expect(202);
        expect(sent.body).toEqual({ phone, expires_in: 600, resend_after: 60 });
        const texted = await eventually(async () => codesSentTo(receivers(), phone)[0]);
        const again = await sendCode(frank).expect(429);
        expect(again.body.code).toBe('code_sent_recently');
        expect(Number(again.headers['retry-after'])).toBeGreaterThan(0);
        expect(codesSentTo(receivers(), phone)).toEqual([texted]);
        const stored = await db.query(
          `SELECT count(*)::int AS n FROM notifications.notifications WHERE body LIKE '%' || $1 || '%'`,
          [texted],
        );
        expect(stored.rows[0].n).toBe(0);
        const redis = await get().t.redis();
        const kept = await redis.hgetall(`${get().t.env.REDIS_KEY_PREFIX}phone-code:${frank.id}`);
        expect(Object.keys(kept).sort()).toEqual(['hash', 'salt', 'target', 'tries']);
        expect(JSON.stringify(kept)).not.toContain(texted);
        const marker = `phone-logs-${randomUUID()}`;
        await http().get('/notifications/phone').set(bearer(frank.token)).set('X-Request-Id', marker);
        const logs = await logsThrough(get().t, marker);
        expect(logs).toContain('/notifications/phone/verification');
        expect(logs).not.toContain(phone);
        expect(logs).not.toContain('Your Protobank code');

        // Malformed, then wrong: 400 and 422 naming the code; the number stays unverified.
        for (const bad of ['12345', '1234567', '12a456', 123456, null]) {
          const res = await code(frank).send({ code: bad }).expect(400);
          expect(res.body.details.map((d: { field: string }) => d.field)).toEqual(['code']);
        }
        const miss = await code(frank)
          .send({ code: wrong(texted) })
          .expect(422);
        expect(miss.body).toMatchObject({
          code: 'code_invalid',
          details: [{ field: 'code', message: 'wrong code: 4 tries left' }],
        });
        expect((await http().get('/notifications/phone').set(bearer(frank.token))).body.verified).toBe(false);

        // Right: verified; the code is used up.
        const ok = await code(frank).send({ code: texted }).expect(200);
        expect(ok.body).toEqual({ phone, verified: true, verified_at: expect.any(String) });
        expect((await code(frank).send({ code: texted }).expect(422)).body.code).toBe('code_expired');
        expect((await sendCode(frank).expect(409)).body.code).toBe('phone_already_verified');

        // Now the notice goes to the number.
        const second = await pay(102);
        expect(await smsOf(second, frank.id)).toMatchObject({ status: 'sent' });
        expect(
          receivers()
            .hooks.filter((h) => h.body.to === phone)
            .map((h) => h.body.text as string),
        ).toEqual([expect.stringContaining(texted), 'You received £1.02 from Alice Jones']);

        // A new number is not verified; back to the old one, which was proved, it is again.
        await setPhone(frank, '+447700900312');
        expect((await http().get('/notifications/phone').set(bearer(frank.token))).body).toEqual({
          phone: '+447700900312',
          verified: false,
          verified_at: null,
        });
        const third = await pay(103);
        expect(await smsReason(third, frank.id)).toEqual({
          status: 'skipped',
          last_error: 'phone number not verified',
        });
        expect(receivers().hooks.filter((h) => h.body.to === '+447700900312')).toEqual([]);
        await setPhone(frank, phone);
        expect((await http().get('/notifications/phone').set(bearer(frank.token))).body.verified).toBe(true);
      });

      it('texts a security notice to the number last verified when the profile number changes or goes; nothing else goes there', async () => {
        const old = '+447700900331';
        const ivy = await namedCustomer('phone.ivy', 'Ivy Lane', old);
        await http()
          .put('/notifications/preferences')
          .set(bearer(ivy.token))
          .send({ security: { sms: true }, transactions: { sms: true } })
          .expect(200);
        const to = (phone: string) => receivers().hooks.filter((h) => h.body.to === phone);
        const texts = () => to(old).map((h) => h.body.text as string);
        const told = (change: string) =>
          eventually(async () =>
            texts().find((t) => t.startsWith(`On your profile, the phone number was ${change}.`)),
          );

        await setPhone(ivy, '+447700900332');
        await told('changed');
        const i = await openAccount(get(), ivy);
        const paid = await transfer(get(), alice, {
          from_account_id: a.id,
          to_account_number: i.account_number,
          amount: 104,
          currency: 'GBP',
        }).expect(201);
        expect(await smsReason(paid.body.id as string, ivy.id)).toEqual({
          status: 'skipped',
          last_error: 'phone number not verified',
        });
        await setPhone(ivy, null);
        await told('removed');
        expect(to('+447700900332')).toEqual([]);
        expect(texts().filter((t) => t.includes('£1.04'))).toEqual([]);
      });

      it('voids a code after five wrong tries, however many are sent at once', async () => {
        const phone = '+447700900321';
        const gina = await verifiedCustomer(get(), admin, 'phone.gina');
        await setPhone(gina, phone);
        // Ten asks at once: one code is texted, the others wait a minute.
        const asks = await Promise.all(Array.from({ length: 10 }, () => sendCode(gina)));
        expect(asks.map((r) => `${r.status} ${r.body.code ?? ''}`).sort()).toEqual([
          '202 ',
          ...Array(9).fill('429 code_sent_recently'),
        ]);
        const right = await eventually(async () => codesSentTo(receivers(), phone)[0]);
        const answers = await Promise.all(
          Array.from({ length: 12 }, () => code(gina).send({ code: wrong(right) })),
        );
        const codes = answers.map((r) => `${r.status} ${r.body.code}`);
        expect(codes.filter((c) => c === '422 code_invalid')).toHaveLength(5);
        expect(codes.filter((c) => c === '422 code_expired')).toHaveLength(7);
        // The right code no longer works: the five tries are spent.
        expect((await code(gina).send({ code: right }).expect(422)).body.code).toBe('code_expired');
        expect((await http().get('/notifications/phone').set(bearer(gina.token))).body.verified).toBe(false);
      });

      it('refuses a code before KYC, for a number the profile no longer has, and with no number', async () => {
        const unverified = await newCustomer(get(), 'phone.nokyc');
        await setPhone(unverified, '+447700900330');
        expect((await sendCode(unverified).expect(403)).body.code).toBe('kyc_required');
        expect(codesSentTo(receivers(), '+447700900330')).toEqual([]);
        const hal = await verifiedCustomer(get(), admin, 'phone.hal');
        const none = await sendCode(hal).expect(409);
        expect(none.body).toMatchObject({ code: 'no_phone', details: [{ field: 'phone' }] });
        expect((await http().get('/notifications/phone').set(bearer(hal.token))).body).toEqual({
          phone: null,
          verified: false,
          verified_at: null,
        });
        await setPhone(hal, '+447700900331');
        const right = await textedCode(get(), receivers(), hal, '+447700900331');
        await setPhone(hal, '+447700900332');
        expect((await code(hal).send({ code: right }).expect(409)).body.code).toBe('phone_changed');
        expect((await http().get('/notifications/phone').set(bearer(hal.token))).body.verified).toBe(false);
      });

      it('gives a code back when the provider refuses the number, keeps it when the provider may have sent it', async () => {
        const phone = '+447700900351';
        const ivan = await verifiedCustomer(get(), admin, 'phone.ivan');
        await setPhone(ivan, phone);
        try {
          receivers().webhookStatus = (h) => (h.body.to === phone ? 400 : 200);
          const refused = await sendCode(ivan).expect(422);
          expect(refused.body).toMatchObject({ code: 'phone_rejected', details: [{ field: 'phone' }] });
          // Nothing went out: the day's count for the user is given back (the minute's is not).
          const redis = await get().t.redis();
          const day = `${get().t.env.REDIS_KEY_PREFIX}ratelimit:phone-code-day:user:${ivan.id}`;
          expect(Number(await redis.get(day))).toBe(0);
          expect((await sendCode(ivan).expect(429)).body.code).toBe('code_sent_recently');
          await redis.del(`${get().t.env.REDIS_KEY_PREFIX}ratelimit:phone-code:user:${ivan.id}`);
          // Nothing was sent: no code waits, and another may be asked for at once.
          expect((await code(ivan).send({ code: '123456' }).expect(422)).body.code).toBe('code_expired');
          receivers().webhookStatus = (h) => (h.body.to === phone ? 503 : 200);
          expect((await sendCode(ivan).expect(503)).body.code).toBe('sms_unavailable');
        } finally {
          receivers().webhookStatus = () => 200;
        }
        // The provider answered 503 but had the text: its code works.
        const texted = codesSentTo(receivers(), phone);
        expect(texted).toHaveLength(2);
        await code(ivan).send({ code: texted[1] }).expect(200);
        expect((await http().get('/notifications/phone').set(bearer(ivan.token))).body.verified).toBe(true);
      });

      it('texts nothing to a profile number that is not E.164 (put there other than by the API)', async () => {
        const jo = await verifiedCustomer(get(), admin, 'phone.jo');
        await db.query(`UPDATE users.users SET phone = '+44 7700 900361' WHERE id = $1`, [jo.id]);
        const res = await sendCode(jo).expect(422);
        expect(res.body).toMatchObject({ code: 'phone_invalid', details: [{ field: 'phone' }] });
        expect(codesSentTo(receivers(), '+44 7700 900361')).toEqual([]);
      });

      it('texts one number at most five codes a day, however many profiles name it', async () => {
        const phone = '+447700900341';
        const askers = await Promise.all(
          Array.from({ length: 6 }, (_, i) => verifiedCustomer(get(), admin, `phone.asker${i}`)),
        );
        const statuses: number[] = [];
        for (const who of askers) {
          await setPhone(who, phone);
          statuses.push((await sendCode(who)).status);
        }
        expect(statuses).toEqual([202, 202, 202, 202, 202, 429]);
        expect(codesSentTo(receivers(), phone).length).toBe(5);
      });
    });

    describe('failed deliveries', () => {
      /** Delivery jobs failed for good, as the notifications app's /metrics counts them. */
      const failedForGood = async () =>
        metricValue(
          await scrapeMetrics(get().t, get().kind === 'split' ? get().services.notifications : get().baseUrl),
          'bullmq_jobs_failed_total',
          { queue: 'notification-deliveries' },
        );

      const deliveryStatus = async (id: string) =>
        (
          (await db.query(`SELECT status FROM notifications.deliveries WHERE id = $1`, [id])).rows[0] as {
            status: string;
          }
        ).status;

      it('retries with backoff, then lists the failure for staff, who can retry it', async () => {
        const before = await failedForGood();
        const dave = await namedCustomer('notify.dave', 'Dave Brown', '+447700900999');
        await http()
          .put('/notifications/preferences')
          .set(bearer(dave.token))
          .send({ transactions: { sms: true } })
          .expect(200);
        const d = await openAccount(get(), dave);
        receivers().webhookStatus = (h) => (h.body.to === '+447700900999' ? 503 : 200);
        const res = await transfer(get(), alice, {
          from_account_id: a.id,
          to_account_number: d.account_number,
          amount: 700,
          currency: 'GBP',
        }).expect(201);
        const rows = await settled(res.body.id as string, 5);
        const sms = rows.find((r) => r.user_id === dave.id && r.channel === 'sms')!;
        expect(sms).toMatchObject({ status: 'failed', attempts: 3 });
        // Three attempts, one job failed for good.
        await eventually(
          async () => ((await failedForGood()) === before + 1 ? true : undefined),
          10000,
          'the failure counted',
        );
        // Three attempts of the notice (the code that verified the number went before them).
        const notices = receivers().hooks.filter(
          (h) => h.body.to === '+447700900999' && !String(h.body.text).startsWith('Your Protobank code'),
        );
        expect(notices).toHaveLength(3);

        await http().get('/admin/notifications/failed').set(bearer(dave.token)).expect(403);
        const failed = await http()
          .get('/admin/notifications/failed?limit=100')
          .set(bearer(admin.token))
          .expect(200);
        const listed = failed.body.data.find((x: { user_id: string }) => x.user_id === dave.id);
        expect(listed).toMatchObject({
          channel: 'sms',
          status: 'failed',
          attempts: 3,
          last_error: 'webhook answered 503',
        });
        // The list is filed as a read of dave's failed deliveries, before it was shown.
        const failedRead = (actor: Actor, owner: Actor) =>
          readsFiled(get(), admin, { actorId: actor.id, ownerId: owner.id, viewed: 'failed_deliveries' });
        expect(await failedRead(admin, dave)).toBe(1);

        receivers().webhookStatus = () => 200;
        const retried = await http()
          .post(`/admin/notifications/failed/${listed.id}/retry`)
          .set(bearer(admin.token))
          .send({ reason: 'SMS provider back after its outage' })
          .expect(202);
        expect(retried.body).toMatchObject({ id: listed.id, status: 'pending' });
        await eventually(async () => ((await deliveryStatus(listed.id)) === 'sent' ? true : undefined));
        await http()
          .post(`/admin/notifications/failed/${listed.id}/retry`)
          .set(bearer(admin.token))
          .expect(409);
        await http()
          .post('/admin/notifications/failed/00000000-0000-4000-8000-000000000000/retry')
          .set(bearer(admin.token))
          .expect(404);
        // A staff action on a customer: audited, with the customer as its target.
        const audited = await eventually(
          async () => {
            const res = await http()
              .get('/admin/audit')
              .query({ action: 'delivery_retried', resource_id: listed.id })
              .set(bearer(admin.token))
              .expect(200);
            return res.body.data.length ? res.body.data : undefined;
          },
          15000,
          'the retry in the audit trail',
        );
        expect(audited).toEqual([
          expect.objectContaining({
            actor_id: admin.id,
            actor_role: 'admin',
            target_user_id: dave.id,
            resource_type: 'notification_delivery',
            before: { status: 'failed' },
            after: { status: 'pending' },
            reason: 'SMS provider back after its outage',
          }),
        ]);
        // Never on the actor's own notification (and nothing changes).
        await db.query(
          `UPDATE notifications.deliveries SET status = 'failed', failed_at = now(), user_id = $2 WHERE id = $1`,
          [listed.id, admin.id],
        );
        const ownRefusals = () => securityEventsCounted(get(), 'notifications', 'own_notification_refused');
        const ownBefore = await ownRefusals();
        const own = await http()
          .post(`/admin/notifications/failed/${listed.id}/retry`)
          .set(bearer(admin.token))
          .expect(403);
        expect(own.body.code).toBe('own_notification');
        expect((await ownRefusals()) - ownBefore).toBe(1);
        expect(await deliveryStatus(listed.id)).toBe('failed');
        // Now the admin's, a colleague's to a staff member: left out of their list, page after page (no
        // cursor points at it either), and their retry refused; the admin's list still has it.
        const clerk = await promote(get(), admin, await newCustomer(get(), 'notify.clerk'));
        const { ids: shown, cursors } = await pageThrough(get(), clerk, '/admin/notifications/failed');
        expect(shown).not.toContain(listed.id);
        expect(cursors.filter((c) => c.includes(listed.id))).toEqual([]);
        const all = await http()
          .get('/admin/notifications/failed?limit=100')
          .set(bearer(admin.token))
          .expect(200);
        expect(all.body.data.map((x: { id: string }) => x.id)).toContain(listed.id);
        const colleague = await http()
          .post(`/admin/notifications/failed/${listed.id}/retry`)
          .set(bearer(clerk.token))
          .expect(403);
        expect(colleague.body.code).toBe('colleague_account');
        expect(await deliveryStatus(listed.id)).toBe('failed');
        // The customer's again, it is on the staff member's pages.
        await db.query(`UPDATE notifications.deliveries SET user_id = $2 WHERE id = $1`, [
          listed.id,
          dave.id,
        ]);
        expect((await pageThrough(get(), clerk, '/admin/notifications/failed')).ids).toContain(listed.id);
        // Filed for dave only once his row was on the clerk's pages again; the admin's own pages were no
        // read of the admin.
        expect(await failedRead(clerk, dave)).toBe(1);
        expect(await failedRead(clerk, admin)).toBe(0);
        expect(await failedRead(admin, admin)).toBe(0);
      });

      it('fails at once on a permanent refusal (4xx), without retrying, counted as a job failed for good', async () => {
        const before = await failedForGood();
        const erin = await verifiedCustomer(get(), admin, 'notify.erin');
        await http()
          .put('/notifications/preferences')
          .set(bearer(erin.token))
          .send({ transactions: { push: true } })
          .expect(200);
        const e = await openAccount(get(), erin);
        receivers().webhookStatus = (h) => (h.body.user_id === erin.id ? 410 : 200);
        const res = await transfer(get(), alice, {
          from_account_id: a.id,
          to_account_number: e.account_number,
          amount: 300,
          currency: 'GBP',
        }).expect(201);
        const rows = await settled(res.body.id as string, 5);
        expect(rows.find((r) => r.user_id === erin.id && r.channel === 'push')).toMatchObject({
          status: 'failed',
          attempts: 1,
        });
        receivers().webhookStatus = () => 200;
        // The failed job itself is removed (removeOnFail): the counter is what an alert can see.
        await eventually(
          async () => ((await failedForGood()) === before + 1 ? true : undefined),
          10000,
          'the failure counted',
        );
      });
    });

    describe('the stream', () => {
      /** Streams the notifications service holds open: a test waits for its own to be let go. */
      const openStreams = async () =>
        metricValue(
          await scrapeMetrics(get().t, get().kind === 'split' ? get().services.notifications : get().baseUrl),
          'notification_streams_open',
          {},
        );

      it('needs an access token, in the header or (for EventSource) the query', async () => {
        const none = await openStream(`${get().baseUrl}/notifications/stream`);
        expect(none.status).toBe(401);
        none.close();
        const viaQuery = await openStream(`${get().baseUrl}/notifications/stream?access_token=${bob.token}`);
        expect(viaQuery.status).toBe(200);
        viaQuery.close();
        // Given twice, it is a bad request naming it (RFC 6750 §3.1), not a missing token.
        const twice = await http()
          .get(`/notifications/stream?access_token=${bob.token}&access_token=${bob.token}`)
          .expect(400);
        expect([twice.body.code, twice.body.details]).toEqual([
          'validation_failed',
          [{ field: 'access_token', message: 'access_token is given more than once' }],
        ]);
        // Only the stream takes a token in the query.
        await http().get(`/notifications?access_token=${bob.token}`).expect(401);
      });

      it('replays what a client missed after its Last-Event-ID', async () => {
        const list = await http().get('/notifications?limit=100').set(bearer(bob.token)).expect(200);
        const ids = (list.body.data as { id: string }[]).map((n) => n.id).reverse(); // oldest first
        const stream = await openStream(`${get().baseUrl}/notifications/stream`, {
          ...bearer(bob.token),
          'Last-Event-ID': ids[0],
        });
        try {
          await eventually(async () => (stream.events.length >= ids.length - 1 ? true : undefined));
          expect(stream.events.map((e) => e.id)).toEqual(ids.slice(1));
        } finally {
          stream.close();
        }
        const bad = await openStream(`${get().baseUrl}/notifications/stream`, {
          ...bearer(bob.token),
          'Last-Event-ID': 'not-an-id',
        });
        expect(bad.status).toBe(400);
        bad.close();
      });

      it("replays one created before the client's last but pushed after it (out of order), not those it had", async () => {
        const streamsBefore = await openStreams();
        const olga = await verifiedCustomer(get(), admin, 'notify.olga');
        // As the consumers leave them when batches commit out of order or a push is retried: `late` was
        // created first but went out after `last`; `early` was created and went out before both.
        const { rows } = await db.query<{ tag: string; id: string }>(
          `WITH n AS (
             INSERT INTO notifications.notifications (id, user_id, category, type, title, body, data, created_at)
             SELECT gen_random_uuid(), $1, 'transactions', 'transaction.received', 'Money received', t.tag, '{}',
                    now() - t.created
               FROM (VALUES ('early', interval '3 s'), ('late', interval '2 s'), ('last', interval '1 s'))
                    AS t(tag, created)
             RETURNING id, body, created_at),
           d AS (
             INSERT INTO notifications.deliveries (id, notification_id, user_id, channel, status, sent_at)
             SELECT gen_random_uuid(), n.id, $1, 'in_app', 'sent',
                    now() - CASE n.body WHEN 'early' THEN interval '2.5 s' WHEN 'last' THEN interval '0.9 s'
                                        ELSE interval '0.1 s' END
               FROM n)
           SELECT body AS tag, id FROM n`,
          [olga.id],
        );
        const id = (tag: string) => rows.find((r) => r.tag === tag)!.id;
        const stream = await openStream(`${get().baseUrl}/notifications/stream`, {
          ...bearer(olga.token),
          'Last-Event-ID': id('last'),
        });
        try {
          await stream.next((e) => e.event === 'notification' && e.id === id('late'), 10000);
          const mine = new Set(rows.map((r) => r.id));
          expect(stream.events.filter((e) => mine.has(e.id!)).map((e) => e.id)).toEqual([id('late')]);
        } finally {
          stream.close();
        }
        // Let go before the next test counts open streams (through the edge, a close takes a moment).
        await eventually(
          async () => ((await openStreams()) === streamsBefore ? true : undefined),
          5000,
          'the stream to be let go',
        );
      });

      it('replays more than one page of missed notifications, oldest first, and says resync past the replay limit', async () => {
        // Notifications missed while offline, written as the consumer stores them (each with its in-app
        // delivery), a millisecond apart: more than STREAM_REPLAY_MAX (1,000) after the client's last id.
        const streamsBefore = await openStreams();
        const rita = await verifiedCustomer(get(), admin, 'notify.rita');
        const missed = 1050;
        const { rows } = await db.query<{ id: string }>(
          `WITH n AS (
             INSERT INTO notifications.notifications (id, user_id, category, type, title, body, data, created_at)
             SELECT gen_random_uuid(), $1, 'transactions', 'transaction.received', 'Money received',
                    'You received £0.' || lpad(i::text, 4, '0'), '{}', now() - interval '1 hour' + i * interval '1 ms'
               FROM generate_series(0, $2) AS i
             RETURNING id, created_at),
           d AS (
             INSERT INTO notifications.deliveries (id, notification_id, user_id, channel, status)
             SELECT gen_random_uuid(), id, $1, 'in_app', 'sent' FROM n)
           SELECT id FROM n ORDER BY created_at`,
          [rita.id, missed],
        );
        const ids = rows.map((r) => r.id); // the client's last one, then `missed` after it
        const inserted = new Set(ids);
        const stream = await openStream(`${get().baseUrl}/notifications/stream`, {
          ...bearer(rita.token),
          'Last-Event-ID': ids[0],
        });
        try {
          const resync = await stream.next((e) => e.event === 'resync', 20000);
          expect(resync.data).toEqual({ reason: 'too_many_missed', replayed: 1000 });
          // Rita's own notices (her KYC's) are newer than these, and may arrive live once the replay is done.
          const replayed = stream.events.filter((e) => e.event === 'notification' && inserted.has(e.id!));
          expect(replayed.map((e) => e.id)).toEqual(ids.slice(1, 1001));
          expect(stream.events.indexOf(resync)).toBeGreaterThan(stream.events.indexOf(replayed[999]));
        } finally {
          stream.close();
        }
        // Reconnecting from the last one replayed: the rest, and no resync (nothing beyond them).
        const rest = await openStream(`${get().baseUrl}/notifications/stream`, {
          ...bearer(rita.token),
          'Last-Event-ID': ids[1000],
        });
        const ours = () => rest.events.filter((e) => inserted.has(e.id!));
        try {
          await eventually(async () => (ours().length >= missed - 1000 ? true : undefined));
          // A moment for anything that should not come (a resync, a repeat) to arrive.
          await new Promise((resolve) => setTimeout(resolve, 300));
          // Rita's own notices (her KYC's) are newer than these, so they may follow: only ours are compared.
          expect(ours().map((e) => [e.event, e.id])).toEqual(
            ids.slice(1001).map((id) => ['notification', id]),
          );
          expect(rest.events.filter((e) => e.event !== 'notification')).toEqual([]);
        } finally {
          rest.close();
        }
        // An id that is not one of Rita's (Bob's, or none at all): nothing to replay from, so resync.
        const bobs = await http().get('/notifications?limit=1').set(bearer(bob.token)).expect(200);
        for (const unknown of [bobs.body.data[0].id as string, randomUUID()]) {
          const lost = await openStream(`${get().baseUrl}/notifications/stream`, {
            ...bearer(rita.token),
            'Last-Event-ID': unknown,
          });
          try {
            const first = await lost.next(() => true);
            expect([first.event, first.data]).toEqual([
              'resync',
              { reason: 'unknown_last_event_id', replayed: 0 },
            ]);
          } finally {
            lost.close();
          }
        }
        // Every stream let go before the next test counts open streams (through the edge, a close takes a moment).
        await eventually(
          async () => ((await openStreams()) === streamsBefore ? true : undefined),
          5000,
          'the streams to be let go',
        );
      });

      it('lets go of a stream when its client goes away (through the edge too)', async () => {
        const metricsUrl = get().kind === 'split' ? get().services.notifications : get().baseUrl;
        const open = async () =>
          metricValue(await scrapeMetrics(get().t, metricsUrl), 'notification_streams_open', {});
        const before = await open();
        const stream = await openStream(`${get().baseUrl}/notifications/stream`, bearer(bob.token));
        await eventually(async () => ((await open()) === before + 1 ? true : undefined));
        stream.close();
        await eventually(
          async () => ((await open()) === before ? true : undefined),
          5000,
          'the stream to be let go',
        );
      });

      it('answers HEAD on the stream with its headers at once, opening no stream', async () => {
        const metricsUrl = get().kind === 'split' ? get().services.notifications : get().baseUrl;
        const open = async () =>
          metricValue(await scrapeMetrics(get().t, metricsUrl), 'notification_streams_open', {});
        const before = await open();
        // It used to hang: its headers waited for the end of a stream, holding the connection.
        const res = await http()
          .head('/notifications/stream')
          .set(bearer(bob.token))
          .timeout(5000)
          .expect(200);
        expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
        expect(await open()).toBe(before);
      });

      it("pushes nothing to a stream whose session ended since it opened (a disabled user's)", async () => {
        // A few rounds: the heartbeat (every second here) ends such a stream too, and might come first.
        for (let round = 0; round < 3; round++) {
          const gina = await verifiedCustomer(get(), admin, `notify.gina${round}`);
          const account = await openAccount(get(), gina);
          const stream = await openStream(`${get().baseUrl}/notifications/stream`, bearer(gina.token));
          try {
            await http()
              .patch(`/admin/users/${gina.id}`)
              .set(bearer(admin.token))
              .send({ disabled: true, reason: 'Test: staff change' })
              .expect(200);
            const { id } = await deposit(get(), admin, account, 500);
            // The in-app delivery went out (published to the streams), and the stream was ended instead.
            await eventually(
              async () => {
                const r = await db.query(
                  `SELECT d.status FROM notifications.notifications n
                     JOIN notifications.deliveries d ON d.notification_id = n.id
                    WHERE n.user_id = $1 AND n.data->>'transaction_id' = $2 AND d.channel = 'in_app'`,
                  [gina.id, id],
                );
                return r.rows[0]?.status === 'sent' ? true : undefined;
              },
              15000,
              'the in-app delivery',
            );
            const end = await stream.next((e) => e.event === 'end');
            expect(end.data).toEqual({ reason: 'session_ended' });
            const pushed = stream.events.filter(
              (e) =>
                e.event === 'notification' &&
                (e.data.data as { transaction_id?: string })?.transaction_id === id,
            );
            expect(pushed).toEqual([]);
          } finally {
            stream.close();
          }
        }
      });

      it('ends the stream when the session ends (logout)', async () => {
        const frank = await verifiedCustomer(get(), admin, 'notify.frank');
        const stream = await openStream(`${get().baseUrl}/notifications/stream`, bearer(frank.token));
        await http().post('/auth/logout').set(bearer(frank.token)).expect(204);
        const end = await stream.next((e) => e.event === 'end');
        expect(end.data).toEqual({ reason: 'session_ended' });
      });
    });
  });
}
