/**
 * Analytics, both topologies: figures equal the ledger's, a redelivered event changes nothing, Redis is
 * only a copy (deleting it changes no answer), customers see only their own, staff rebuild from the
 * ledger, monthly reports in JSON and CSV, bad input is a 400 naming the field, and one customer's reports
 * are limited per minute.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import request from 'supertest';
import { formatMinorUnits } from '@protobank/contracts';
import { bearer, firstAdmin, type Actor } from '../support/actors';
import { deposit, openAccount, transfer, verifiedCustomer, type Account } from '../support/banking';
import { eventually } from '../support/test-env';
import type { Running } from '../support/topologies';
import { inboxDuplicates } from '../support/inbox-metrics';

const CONSUMER = 'TransactionCreatedHandler.onTransactionCreated';
const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

export function analyticsScenarios(get: () => Running) {
  describe('analytics', () => {
    const http = () => request(get().baseUrl);
    let admin: Actor;
    let db: Client;
    let alice: Actor;
    let bob: Actor;
    let aliceGbp: Account;
    const ids: string[] = [];
    // A window around today: the activity below is in it even if the day turns meanwhile.
    const from = day(-1);
    const to = day(1);
    const spendingUrl = `/analytics/spending?period=day&from=${from}&to=${to}`;
    const month = new Date().toISOString().slice(0, 7);

    const consumed = (transactionIds: string[]) =>
      eventually(
        async () => {
          const r = await db.query(
            `SELECT count(DISTINCT i.event_id)::int AS n FROM transactions.outbox o
               JOIN analytics.inbox i ON i.event_id = (o.payload->>'event_id')::uuid
              WHERE o.payload->>'transaction_id' = ANY($1)`,
            [transactionIds],
          );
          return r.rows[0].n === transactionIds.length ? true : undefined;
        },
        20000,
        'analytics to consume the transactions',
      );

    const bodies = async (who: Actor) => ({
      spending: (await http().get(spendingUrl).set(bearer(who.token)).expect(200)).body,
      week: (await http().get('/analytics/spending?period=week').set(bearer(who.token)).expect(200)).body,
      insights: (await http().get('/analytics/insights').set(bearer(who.token)).expect(200)).body,
      report: (
        await http().get(`/analytics/reports/monthly?month=${month}`).set(bearer(who.token)).expect(200)
      ).body,
      csv: (
        await http()
          .get(`/analytics/reports/monthly?month=${month}`)
          .set(bearer(who.token))
          .set('Accept', 'text/csv')
          .expect(200)
      ).text,
    });

    const rebuildFinished = (id: string) =>
      eventually(
        async () => {
          const r = await http().get(`/admin/analytics/rebuilds/${id}`).set(bearer(admin.token)).expect(200);
          return r.body.status === 'running' ? undefined : r.body;
        },
        30000,
        'the rebuild to finish',
      );

    const deleteAnalyticsKeys = async () => {
      const redis = await get().t.redis();
      const pattern = `${get().t.env.REDIS_KEY_PREFIX}analytics:*`;
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
        if (keys.length) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
    };

    beforeAll(async () => {
      admin = await firstAdmin(get());
      db = await get().t.db();
      alice = await verifiedCustomer(get(), admin, 'analytics.alice');
      bob = await verifiedCustomer(get(), admin, 'analytics.bob');
      aliceGbp = await openAccount(get(), alice);
      const aliceSavings = await openAccount(get(), alice, 'GBP', 'savings');
      const aliceEur = await openAccount(get(), alice, 'EUR');
      const bobGbp = await openAccount(get(), bob);
      ids.push((await deposit(get(), admin, aliceGbp, 100000)).id);
      ids.push((await deposit(get(), admin, aliceEur, 50000)).id);
      ids.push((await deposit(get(), admin, bobGbp, 20000)).id);
      const pay = async (owner: Actor, body: Record<string, unknown>) =>
        ids.push((await transfer(get(), owner, body).expect(201)).body.id as string);
      for (const amount of [2550, 1200, 800]) {
        await pay(alice, { from_account_id: aliceGbp.id, to_account_id: bobGbp.id, amount, currency: 'GBP' });
      }
      await pay(bob, {
        from_account_id: bobGbp.id,
        to_account_id: aliceGbp.id,
        amount: 1000,
        currency: 'GBP',
      });
      await pay(alice, {
        from_account_id: aliceGbp.id,
        to_account_id: aliceSavings.id,
        amount: 5000,
        currency: 'GBP',
      });
      await consumed(ids);
    });

    const expectLedgerTotals = async (who: Actor) => {
      const ledger = await db.query(
        `SELECT p.currency, coalesce(sum(p.amount) FILTER (WHERE p.amount > 0), 0)::int AS money_in,
                coalesce(-sum(p.amount) FILTER (WHERE p.amount < 0), 0)::int AS money_out, count(*)::int AS count
           FROM transactions.postings p JOIN transactions.ledger_accounts a ON a.id = p.account_id
          WHERE a.owner_id = $1 AND p.created_at >= $2::timestamptz AND p.created_at < $3::timestamptz
          GROUP BY p.currency ORDER BY p.currency`,
        [who.id, `${from}T00:00:00Z`, `${day(2)}T00:00:00Z`],
      );
      const res = await http().get(spendingUrl).set(bearer(who.token)).expect(200);
      expect(
        res.body.currencies.map((c: Record<string, unknown>) => ({
          currency: c.currency,
          money_in: c.money_in,
          money_out: c.money_out,
          count: c.count,
        })),
      ).toEqual(ledger.rows);
      return res.body;
    };

    it("analytics: totals per user and currency equal the ledger's postings", async () => {
      for (const who of [alice, bob]) {
        const body = await expectLedgerTotals(who);
        expect(body).toMatchObject({ period: 'day', from, to });
        expect(body.currencies[0].series).toHaveLength(3);
      }
      const [eur, gbp] = (await http().get(spendingUrl).set(bearer(alice.token)).expect(200)).body.currencies;
      expect(eur).toMatchObject({ currency: 'EUR', money_in: 50000, money_out: 0, net: 50000 });
      expect(gbp).toMatchObject({ money_in: 100000 + 1000 + 5000, money_out: 4550 + 5000 });
      expect(gbp.by_category).toEqual(
        expect.arrayContaining([
          { category: 'internal_transfer', money_in: 5000, money_out: 5000, count: 2 },
          { category: 'transfers', money_in: 1000, money_out: 4550, count: 4 },
          { category: 'deposits', money_in: 100000, money_out: 0, count: 1 },
        ]),
      );
    });

    it('analytics: keeps each day in the Redis hash analytics:{user_id}:daily', async () => {
      const redis = await get().t.redis();
      const key = `${get().t.env.REDIS_KEY_PREFIX}analytics:${alice.id}:daily`;
      const today = new Date().toISOString().slice(0, 10);
      const cached = await eventually(
        async () => (await redis.hget(key, today)) ?? undefined,
        10000,
        'the hash',
      );
      expect(JSON.parse(cached)).toMatchObject({ g: expect.any(Number), v: expect.any(Number) });
      expect(await redis.ttl(key)).toBeGreaterThan(0);
      // Only recent days are kept: old ones are neither written nor left behind.
      await http()
        .get('/analytics/spending?from=2020-01-01&to=2020-01-31')
        .set(bearer(alice.token))
        .expect(200);
      expect(await redis.hexists(key, '2020-01-01')).toBe(0);
      await redis.hset(key, '2000-01-01', cached);
      await redis.hdel(key, today);
      await http().get(spendingUrl).set(bearer(alice.token)).expect(200);
      expect(await redis.hexists(key, today)).toBe(1);
      expect(await redis.hexists(key, '2000-01-01')).toBe(0);
    });

    it('analytics: a redelivered transaction.created changes nothing, and rewrites a stale Redis copy of its day', async () => {
      const before = await bodies(alice);
      const bobBefore = await bodies(bob);
      // The first delivery committed, then died (or found Redis refusing) before writing its day to Redis:
      // Redis holds the copy from before it, one version older, without its figures. The day has passed,
      // so no other event would refresh it.
      const redis = await get().t.redis();
      const key = `${get().t.env.REDIS_KEY_PREFIX}analytics:${alice.id}:daily`;
      const [day] = (
        await db.query(`SELECT day::text AS day FROM analytics.movements WHERE transaction_id = $1 LIMIT 1`, [
          ids[3],
        ])
      ).rows as { day: string }[];
      const current = JSON.parse((await redis.hget(key, day.day))!) as { g: number; v: number; r: unknown[] };
      await redis.hset(key, day.day, JSON.stringify({ ...current, v: current.v - 1, r: [] }));
      const duplicates = () => inboxDuplicates(get(), 'analytics', CONSUMER);
      const seen = await duplicates();
      // The same event (same event_id and payload) in a new outbox row, as a relay that crashed between
      // publishing and marking it sent would send it again.
      const copy = await db.query(
        `INSERT INTO transactions.outbox (id, name, payload, headers)
         SELECT gen_random_uuid(), name, payload, headers FROM transactions.outbox
          WHERE name = 'transaction.created' AND payload->>'transaction_id' = $1
         RETURNING id`,
        [ids[3]],
      );
      await eventually(
        async () => {
          const r = await db.query('SELECT published_at FROM transactions.outbox WHERE id = $1', [
            copy.rows[0].id,
          ]);
          return r.rows[0].published_at ?? undefined;
        },
        15000,
        'the copy to be published',
      );
      await eventually(async () => ((await duplicates()) > seen ? true : undefined), 15000, 'the duplicate');
      expect(JSON.parse((await redis.hget(key, day.day))!)).toEqual(current);
      expect(await bodies(alice)).toEqual(before);
      expect(await bodies(bob)).toEqual(bobBefore);
      const movements = await db.query(
        'SELECT count(*)::int AS n FROM analytics.movements WHERE transaction_id = $1',
        [ids[3]],
      );
      expect(movements.rows[0].n).toBe(2);
    });

    it('analytics: answers exactly the same with its Redis keys deleted, and fills them again', async () => {
      const before = await bodies(alice);
      await deleteAnalyticsKeys();
      expect(await bodies(alice)).toEqual(before);
      const redis = await get().t.redis();
      expect(await redis.exists(`${get().t.env.REDIS_KEY_PREFIX}analytics:${alice.id}:daily`)).toBe(1);
      // And from Redis alone, with the keys back, still the same.
      expect(await bodies(alice)).toEqual(before);
    });

    it('analytics: a new payment reaches a day already cached, in Postgres and Redis alike', async () => {
      const gbpOf = async (who: Actor) =>
        (await http().get(spendingUrl).set(bearer(who.token)).expect(200)).body.currencies.find(
          (c: { currency: string }) => c.currency === 'GBP',
        );
      const before = await gbpOf(alice);
      const bobGbp = (await http().get('/accounts').set(bearer(bob.token)).expect(200)).body.data[0];
      const paid = await transfer(get(), bob, {
        from_account_id: bobGbp.id,
        to_account_id: aliceGbp.id,
        amount: 300,
        currency: 'GBP',
      }).expect(201);
      ids.push(paid.body.id);
      await consumed([paid.body.id]);
      // The consumer writes Redis right after its commit: wait out that moment, then both agree.
      await eventually(
        async () => ((await gbpOf(alice)).money_in === before.money_in + 300 ? true : undefined),
        10000,
        'the cached day to show the payment',
      );
      const cached = await gbpOf(alice);
      await deleteAnalyticsKeys();
      expect(await gbpOf(alice)).toEqual(cached);
    });

    it('analytics: names recurring payees and the largest payments out, never own-account transfers', async () => {
      const res = await http().get('/analytics/insights').set(bearer(alice.token)).expect(200);
      expect(res.body).toMatchObject({ month });
      const gbp = res.body.currencies.find((c: { currency: string }) => c.currency === 'GBP');
      expect(gbp.largest_outgoings.map((o: { amount: number }) => o.amount)).toEqual([2550, 1200, 800]);
      expect(gbp.largest_outgoings[0]).toMatchObject({
        payee_name: 'Cus analytics.bob',
        category: 'transfers',
      });
      expect(gbp.largest_outgoings[0]).not.toHaveProperty('counterparty_id');
      expect(gbp.recurring_payees).toEqual([
        expect.objectContaining({
          payee: 'Cus analytics.bob',
          payee_type: 'customer',
          payments: 3,
          total: 4550,
        }),
      ]);
      expect(gbp.categories).toEqual(
        expect.arrayContaining([expect.objectContaining({ category: 'transfers', this_month_out: 4550 })]),
      );
    });

    it('analytics: counts a reversal, but never names the original payer to the payee', async () => {
      const dan = await verifiedCustomer(get(), admin, 'analytics.dan');
      const danGbp = await openAccount(get(), dan);
      const paid = await transfer(get(), alice, {
        from_account_id: aliceGbp.id,
        to_account_number: danGbp.account_number,
        amount: 900,
        currency: 'GBP',
      }).expect(201);
      const reversed = await http()
        .post(`/admin/transactions/${paid.body.id}/reverse`)
        .set(bearer(admin.token))
        .set('Idempotency-Key', randomUUID())
        .send({ reason: 'Sent in error' })
        .expect(201);
      await consumed([paid.body.id, reversed.body.id]);
      const spending = (await http().get(spendingUrl).set(bearer(dan.token)).expect(200)).body;
      expect(spending.currencies).toEqual([
        expect.objectContaining({ currency: 'GBP', money_in: 900, money_out: 900, net: 0 }),
      ]);
      const insights = (await http().get('/analytics/insights').set(bearer(dan.token)).expect(200)).body;
      const gbp = insights.currencies.find((c: { currency: string }) => c.currency === 'GBP');
      expect(gbp.largest_outgoings).toEqual([]);
      expect(gbp.recurring_payees).toEqual([]);
      expect(JSON.stringify(insights)).not.toContain('analytics.alice');
      // The payer's largest payments out list it, marked reversed (the others not).
      const payer = (await http().get('/analytics/insights').set(bearer(alice.token)).expect(200)).body;
      const outs = payer.currencies.find((c: { currency: string }) => c.currency === 'GBP')
        .largest_outgoings as { transaction_id: string; reversed: boolean }[];
      expect(outs.filter((o) => o.reversed).map((o) => o.transaction_id)).toEqual([paid.body.id]);
      expect(outs.length).toBeGreaterThan(1);
    });

    it('analytics: shows customers their own figures only, with no way to ask for another', async () => {
      const carol = await verifiedCustomer(get(), admin, 'analytics.carol');
      const own = await bodies(carol);
      expect([own.spending.currencies, own.insights.currencies, own.report.currencies]).toEqual([[], [], []]);
      const bobs = (await http().get(spendingUrl).set(bearer(bob.token)).expect(200)).body.currencies;
      expect(bobs.map((c: { currency: string }) => c.currency)).toEqual(['GBP']);
      const probe = await http()
        .get(`${spendingUrl}&user_id=${alice.id}`)
        .set(bearer(carol.token))
        .expect(400);
      expect(probe.body.details[0].field).toBe('user_id');
      await http().get('/analytics/spending').expect(401);
    });

    it('analytics: reports a month as JSON and as CSV', async () => {
      const report = (
        await http().get(`/analytics/reports/monthly?month=${month}`).set(bearer(alice.token)).expect(200)
      ).body;
      const gbp = report.currencies.find((c: { currency: string }) => c.currency === 'GBP');
      expect(gbp.daily).toHaveLength(Number(report.to.slice(8)));
      const spending = (
        await http()
          .get(`/analytics/spending?period=month&from=${report.from}&to=${report.to}`)
          .set(bearer(alice.token))
          .expect(200)
      ).body.currencies.find((c: { currency: string }) => c.currency === 'GBP');
      expect(gbp).toMatchObject({
        money_in: spending.money_in,
        money_out: spending.money_out,
        count: spending.count,
        by_category: spending.by_category,
      });
      const csv = await http()
        .get(`/analytics/reports/monthly?month=${month}`)
        .set(bearer(alice.token))
        .set('Accept', 'text/csv')
        .expect(200);
      expect(csv.headers['content-type']).toMatch(/^text\/csv/);
      const lines = csv.text.split('\r\n');
      expect(lines[0]).toBe('month,currency,section,name,money_in,money_out,count');
      expect(lines).toContain(
        `${month},GBP,total,,${formatMinorUnits(gbp.money_in, 'GBP')},${formatMinorUnits(gbp.money_out, 'GBP')},${gbp.count}`,
      );
      expect(lines).toContain(`${month},GBP,category,"internal_transfer",50.00,50.00,2`);
    });

    it('analytics: refuses bad input with 400 naming the field', async () => {
      const cases: [string, string, string][] = [
        ['/analytics/spending?period=year', 'period', 'validation_failed'],
        ['/analytics/spending?from=2026-11-05&to=2026-11-01', 'to', 'validation_failed'],
        ['/analytics/spending?from=2026-02-30', 'from', 'validation_failed'],
        ['/analytics/spending?from=2026-1-5', 'from', 'validation_failed'],
        ['/analytics/spending?from=2025-01-01&to=2026-05-15', 'to', 'range_too_long'],
        ['/analytics/reports/monthly?month=2026-13', 'month', 'validation_failed'],
        ['/analytics/reports/monthly?month=0000-01', 'month', 'validation_failed'],
        ['/analytics/reports/monthly?month=2026-11&month=2026-10', 'month', 'validation_failed'],
      ];
      // The edges of the calendar are answered, not a 500.
      for (const url of [
        '/analytics/spending?period=week&from=9999-12-31',
        '/analytics/spending?period=week&to=1970-01-01',
        '/analytics/reports/monthly?month=9999-12',
      ]) {
        await http().get(url).set(bearer(alice.token)).expect(200);
      }
      for (const [url, field, code] of cases) {
        const res = await http().get(url).set(bearer(alice.token));
        expect({ url, status: res.status, code: res.body.code, field: res.body.details?.[0]?.field }).toEqual(
          {
            url,
            status: 400,
            code,
            field,
          },
        );
      }
    });

    it('analytics: answers at most 120 reports a minute to one customer, the three kinds together, then 429', async () => {
      const c = await verifiedCustomer(get(), admin, 'analytics.limit');
      const urls = [
        '/analytics/spending?period=week',
        '/analytics/insights',
        `/analytics/reports/monthly?month=${month}`,
      ];
      const statuses: number[] = [];
      for (let i = 0; i < 120; i++) {
        statuses.push(
          (
            await http()
              .get(urls[i % 3])
              .set(bearer(c.token))
          ).status,
        );
      }
      expect(new Set(statuses)).toEqual(new Set([200]));
      for (const url of urls) {
        const limited = await http().get(url).set(bearer(c.token)).expect(429);
        expect(limited.body.code).toBe('rate_limited');
        expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      }
      // Another customer is not held back by it.
      await http().get(urls[1]).set(bearer(alice.token)).expect(200);
    });

    it('analytics: rebuilds from the ledger (staff only, one at a time) leaving every figure as it was', async () => {
      await http().post('/admin/analytics/rebuild').set(bearer(alice.token)).expect(403);
      const before = await bodies(alice);
      const bobBefore = await bodies(bob);
      // Hold the rebuild at its first step so that a second request finds it running.
      const holder = await get().t.db();
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE analytics.movements_rebuild IN ACCESS EXCLUSIVE MODE');
      let id = '';
      try {
        const started = await http()
          .post('/admin/analytics/rebuild')
          .set(bearer(admin.token))
          .send({ reason: 'Rollups checked after the restore' })
          .expect(202);
        expect(started.body).toMatchObject({ status: 'running', requested_by: admin.id, finished_at: null });
        id = started.body.id;
        const again = await http().post('/admin/analytics/rebuild').set(bearer(admin.token)).expect(409);
        expect(again.body.code).toBe('rebuild_running');
      } finally {
        await holder.query('ROLLBACK');
      }
      const done = await rebuildFinished(id);
      expect(done).toMatchObject({ status: 'completed', error: null, entries: expect.any(Number) });
      expect(done.entries).toBeGreaterThanOrEqual(ids.length);
      expect(await bodies(alice)).toEqual(before);
      expect(await bodies(bob)).toEqual(bobBefore);
      await http().get(`/admin/analytics/rebuilds/${id}`).set(bearer(alice.token)).expect(403);
      await http()
        .get('/admin/analytics/rebuilds/00000000-0000-4000-8000-000000000000')
        .set(bearer(admin.token))
        .expect(404);
      await http().get('/admin/analytics/rebuilds/nope').set(bearer(admin.token)).expect(400);
      // Audited once, the refused second request not at all.
      const audited = await eventually(
        async () => {
          const res = await http()
            .get('/admin/audit')
            .query({ action: 'analytics_rebuild_started', actor_id: admin.id })
            .set(bearer(admin.token))
            .expect(200);
          const mine = (res.body.data as { resource_id: string }[]).filter((e) => e.resource_id === id);
          return mine.length ? res.body.data : undefined;
        },
        15000,
        'the rebuild in the audit trail',
      );
      expect(audited.filter((e: { resource_id: string }) => e.resource_id === id)).toEqual([
        expect.objectContaining({
          actor_role: 'admin',
          target_user_id: null,
          resource_type: 'analytics_rebuild',
          after: { status: 'running' },
          reason: 'Rollups checked after the restore',
        }),
      ]);
    });

    it('analytics: a rebuild racing live events counts every movement once', async () => {
      const bobGbp = (await http().get('/accounts').set(bearer(bob.token)).expect(200)).body.data[0];
      // Hold the rebuild at its start, then (once it has read the ledger's pages) at its first progress
      // report, and move money meanwhile: those entries reach analytics as events only.
      const start = await get().t.db();
      const progress = await get().t.db();
      await start.query('BEGIN');
      await start.query('LOCK TABLE analytics.movements_rebuild IN ACCESS EXCLUSIVE MODE');
      const { id } = (await http().post('/admin/analytics/rebuild').set(bearer(admin.token)).expect(202))
        .body;
      await progress.query('BEGIN');
      await progress.query('SELECT 1 FROM analytics.rebuilds WHERE id = $1 FOR UPDATE', [id]);
      await start.query('ROLLBACK');
      const during: string[] = [];
      try {
        for (const amount of [111, 222]) {
          const res = await transfer(get(), alice, {
            from_account_id: aliceGbp.id,
            to_account_id: bobGbp.id,
            amount,
            currency: 'GBP',
          }).expect(201);
          during.push(res.body.id);
        }
        await consumed(during);
      } finally {
        await progress.query('ROLLBACK');
      }
      const done = await rebuildFinished(id);
      expect(done.status).toBe('completed');
      const movements = await db.query(
        'SELECT count(*)::int AS n FROM analytics.movements WHERE transaction_id = ANY($1)',
        [during],
      );
      expect(movements.rows[0].n).toBe(4);
      for (const who of [alice, bob]) await expectLedgerTotals(who);
      const rollups = await db.query(
        `SELECT coalesce(sum(amount), 0)::int AS total FROM analytics.daily_rollups WHERE user_id = $1 AND direction = 'out'`,
        [alice.id],
      );
      const moved = await db.query(
        `SELECT coalesce(sum(amount), 0)::int AS total FROM analytics.movements WHERE user_id = $1 AND direction = 'out'`,
        [alice.id],
      );
      expect(rollups.rows[0].total).toBe(moved.rows[0].total);
    });
  });
}
