/**
 * The metrics operators' dashboards and alerts read (issue 15), in both topologies, each on the app that
 * owns it (its own port in split mode, the one process otherwise): money moved per kind and currency,
 * outbox age, dead letters, BullMQ queues and the ledger verification, with a mismatch made by hand.
 * Card authorisation and payment amounts are checked where those flows run (card-network, payments).
 */
import amqp from 'amqplib';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from 'pg';
import request from 'supertest';
import { bearer, firstAdmin, type Actor } from '../support/actors';
import { deposit, openAccount, transfer, verifiedCustomer } from '../support/banking';
import { eventually, metricValue, scrapeMetrics } from '../support/test-env';
import type { Running } from '../support/topologies';

const RABBITMQ_URL = process.env.TEST_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** Every series of `name` in /metrics text, as label maps with their value. */
export function series(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .map((line) => {
      const body = line.includes('{') ? line.slice(line.indexOf('{') + 1, line.lastIndexOf('}')) : '';
      const labels = Object.fromEntries([...body.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
      return { labels, value: Number(line.slice(line.lastIndexOf(' ') + 1)) };
    });
}

export function operationsMetricsScenarios(get: () => Running) {
  describe('operations metrics', () => {
    let admin: Actor;
    let db: Client;
    const split = () => get().kind === 'split';
    /** The app serving `service`'s metrics: its own in split mode, the monolith otherwise. */
    const appOf = (service: string) => get().services[service] ?? get().baseUrl;
    const scrape = (service: string) => scrapeMetrics(get().t, appOf(service));
    const serviceLabel = (service: string) => (split() ? service : 'monolith');

    beforeAll(async () => {
      admin = await firstAdmin(get());
      db = await get().t.db();
    });

    it('counts the money the ledger posts per kind and currency, after the commit, never a replay', async () => {
      const alice = await verifiedCustomer(get(), admin, 'metrics.alice');
      const a = await openAccount(get(), alice);
      const b = await openAccount(get(), alice);
      const amount = (text: string, kind: string) =>
        metricValue(text, 'ledger_amount_minor_total', {
          kind,
          currency: 'GBP',
          service: serviceLabel('transactions'),
        });
      const before = await scrape('transactions');
      await deposit(get(), admin, a, 10000);
      const key = randomUUID();
      const body = { from_account_id: a.id, to_account_id: b.id, amount: 1357, currency: 'GBP' };
      await transfer(get(), alice, body, key).expect(201);
      await transfer(get(), alice, body, key).expect(201); // a replay: no money moves
      // Refused (insufficient funds): nothing posted, nothing counted.
      await transfer(get(), alice, { ...body, amount: 999999 }).expect(422);
      const after = await scrape('transactions');
      expect(amount(after, 'deposit') - amount(before, 'deposit')).toBe(10000);
      expect(amount(after, 'transfer') - amount(before, 'transfer')).toBe(1357);
    });

    it("reports each outbox's backlog and its oldest unpublished event's age, per schema", async () => {
      // Every schema an app relays has both series; an event stuck for five minutes shows its age.
      const text = await scrape('users');
      const schemas = series(text, 'outbox_backlog').map((s) => s.labels.schema);
      expect(schemas).toContain('users');
      expect(
        series(text, 'outbox_oldest_unpublished_age_seconds')
          .map((s) => s.labels.schema)
          .sort(),
      ).toEqual([...schemas].sort());
      const id = randomUUID();
      // Due in an hour, so the relay leaves it alone; attempts as if it had failed 99 times.
      await db.query(
        `INSERT INTO users.outbox (id, name, payload, created_at, next_attempt_at, attempts)
         VALUES ($1, 'test.stuck', '{}', now() - interval '5 minutes', now() + interval '1 hour', 99)`,
        [id],
      );
      try {
        const age = async () =>
          metricValue(await scrape('users'), 'outbox_oldest_unpublished_age_seconds', {
            schema: 'users',
            service: serviceLabel('users'),
          });
        await eventually(async () => ((await age()) >= 300 ? true : undefined), 10000, 'the stuck age');
        if (!split()) {
          // The monolith dead-letters nothing: an event failed EVENT_MAX_DELIVERIES times is its equivalent.
          expect(
            metricValue(await scrape('users'), 'events_dead_letter_messages', { queue: 'in-process' }),
          ).toBe(1);
        }
      } finally {
        await db.query('DELETE FROM users.outbox WHERE id = $1', [id]);
      }
      const text2 = await scrape('users');
      // Present (metricValue reads an absent series as 0), and back under the alert's 300 s.
      const usersAge = series(text2, 'outbox_oldest_unpublished_age_seconds').filter(
        (x) => x.labels.schema === 'users',
      );
      expect(usersAge).toHaveLength(1);
      expect(usersAge[0].value).toBeLessThan(300);
    });

    it('reports the depth of each dead-letter queue (split: the broker; monolith: one series, 0)', async () => {
      if (!split()) {
        const text = await scrape('notifications');
        expect(series(text, 'events_dead_letter_messages')).toEqual([
          { labels: { queue: 'in-process', service: 'monolith' }, value: 0 },
        ]);
        return;
      }
      const prefix = get().env.RABBITMQ_PREFIX;
      // The consuming apps each report their own queue; the others have none.
      for (const service of ['auth', 'users', 'cards', 'payments', 'notifications', 'analytics']) {
        // Present from the broker's first answer (a scrape waits a second at most for it).
        const text = await eventually(
          async () => {
            const t = await scrape(service);
            return series(t, 'events_dead_letter_messages').length ? t : undefined;
          },
          15000,
          `${service}'s dead-letter depth`,
        );
        expect(series(text, 'events_dead_letter_messages')).toEqual([
          { labels: { queue: `${prefix}.dead.events.${service}`, service }, value: 0 },
        ]);
      }
      for (const service of ['accounts', 'transactions']) {
        expect(series(await scrape(service), 'events_dead_letter_messages')).toEqual([]);
      }
      // A message in analytics' dead-letter queue shows at the next scrape.
      const queue = `${prefix}.dead.events.analytics`;
      const connection = await amqp.connect(RABBITMQ_URL);
      try {
        const channel = await connection.createChannel();
        channel.sendToQueue(queue, Buffer.from('{}'));
        const depth = async () =>
          metricValue(await scrape('analytics'), 'events_dead_letter_messages', { queue });
        await eventually(async () => ((await depth()) === 1 ? true : undefined), 10000, 'the dead letter');
        await channel.purgeQueue(queue);
        await eventually(async () => ((await depth()) === 0 ? true : undefined), 10000, 'the purge');
      } finally {
        await connection.close();
      }
    });

    it('reports the jobs of every BullMQ queue by state', async () => {
      const queues: Record<string, string> = {
        cards: 'card-hold-expiry',
        notifications: 'notification-deliveries',
        payments: 'payment-sweeps',
        transactions: 'ledger-verifications',
      };
      for (const [service, queue] of Object.entries(queues)) {
        // Present from Redis's first answer (a scrape waits a second at most for it).
        const found = await eventually(
          async () => {
            const got = series(await scrape(service), 'bullmq_jobs').filter((s) => s.labels.queue === queue);
            return got.length ? got : undefined;
          },
          15000,
          `the counts of ${queue}`,
        );
        expect(found.map((s) => s.labels.state).sort()).toEqual(['active', 'delayed', 'failed', 'waiting']);
        expect(found.every((s) => s.labels.service === serviceLabel(service))).toBe(true);
        expect(found.every((s) => Number.isInteger(s.value) && s.value >= 0)).toBe(true);
        // Jobs failed for good, from 0 once the worker reached Redis (what BullMQFailedJobsGrowing watches).
        const failed = series(await scrape(service), 'bullmq_jobs_failed_total').filter(
          (s) => s.labels.queue === queue,
        );
        expect(failed).toHaveLength(1);
        expect(failed[0].value).toBeGreaterThanOrEqual(0);
      }
      // Apps without queues report none.
      if (split()) expect(series(await scrape('accounts'), 'bullmq_jobs')).toEqual([]);
    });

    it('verifies the ledger after boot, and the gauge turns 0 on a mismatch, logged as an error', async () => {
      const text = await eventually(
        async () => {
          const t = await scrape('transactions');
          return series(t, 'ledger_verification_ok').length ? t : undefined;
        },
        30000,
        'the verification after boot',
      );
      const labels = { service: serviceLabel('transactions') };
      expect(metricValue(text, 'ledger_verification_ok', labels)).toBe(1);
      expect(metricValue(text, 'ledger_verification_last_run_timestamp_seconds', labels)).toBeGreaterThan(
        Date.now() / 1000 - 3600,
      );
      expect(series(text, 'ledger_verification_duration_seconds')).toEqual([
        { labels, value: expect.any(Number) },
      ]);

      // A balance changed behind the ledger's back (no posting): the next verification finds it.
      const bob = await verifiedCustomer(get(), admin, 'metrics.bob');
      const account = await openAccount(get(), bob);
      await deposit(get(), admin, account, 500);
      const verify = async () =>
        (await request(get().baseUrl).get('/admin/ledger/verify').set(bearer(admin.token)).expect(200))
          .body as { ok: boolean; mismatches: { account_id?: string }[] };
      // The series itself, so that a gauge gone missing is not read as 0.
      const ok = async () => {
        const found = series(await scrape('transactions'), 'ledger_verification_ok');
        expect(found).toEqual([{ labels, value: expect.any(Number) }]);
        return found[0].value;
      };
      await db.query('UPDATE transactions.ledger_accounts SET balance = balance + 1 WHERE id = $1', [
        account.id,
      ]);
      try {
        const found = await verify();
        expect(found.ok).toBe(false);
        expect(found.mismatches).toContainEqual(expect.objectContaining({ account_id: account.id }));
        expect(await ok()).toBe(0);
        const logged = readdirSync(get().t.logDir)
          .filter((f) => f.endsWith('.log'))
          .flatMap((f) => readFileSync(join(get().t.logDir, f), 'utf8').split('\n'))
          .filter((l) => l.includes('ledger verification found mismatches'))
          .map((l) => JSON.parse(l) as { level: number | string });
        expect(logged.length).toBeGreaterThan(0);
        expect(logged.every((l) => l.level === 50 || l.level === 'error')).toBe(true);
      } finally {
        await db.query('UPDATE transactions.ledger_accounts SET balance = balance - 1 WHERE id = $1', [
          account.id,
        ]);
      }
      expect((await verify()).ok).toBe(true);
      expect(await ok()).toBe(1);
    });
  });
}
