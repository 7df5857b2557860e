/**
 * The due sweep's faults, against the real ledger and Postgres (the ledger as the payments module sees
 * it fails or waits on command):
 * - a standing order cancelled while its payment's call had failed (an outage of the ledger, or a reply
 *   lost after the posting): the customer was told no further payment goes, so the next sweep must not
 *   make it. It voids the payment at the ledger instead of posting it: `skipped` with no money moved when
 *   the failed call had not posted, `paid` with the one entry when it had. Deleting the payee cancels the
 *   same way;
 * - a date decided failed whose key was voided, but whose failure was not recorded (the void's reply lost,
 *   or the recording failed): the next sweep records that failure, once, rather than being refused the key;
 * - a sweep that outlives its lock (its lock connection died) while another claims its payments again:
 *   only the later claim records, so a refusal the first got cannot be recorded over the second's posting.
 */
import { Global, Module, type INestApplicationContext } from '@nestjs/common';
import { AccountsModule } from '@protobank/accounts';
import {
  accountNumberFor,
  TRANSACTIONS_API,
  USERS_API,
  type PaymentPosting,
  type TransactionsApi,
} from '@protobank/contracts';
import { AppConfig, sessionKey } from '@protobank/platform';
import { PaymentsModule } from '@protobank/payments';
import { TransactionsModule } from '@protobank/transactions';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Client } from 'pg';
import { PayeesService } from '../libs/payments/src/payees/payees.service';
import { StandingOrdersService } from '../libs/payments/src/orders/standing-orders.service';
import { PAYMENTS_CLOCK } from '../libs/payments/src/run/clock';
import { DueSweep } from '../libs/payments/src/run/due-sweep';
import { SweepKicks } from '../libs/payments/src/run/sweep-kicks';
import { SweepProcessor } from '../libs/payments/src/run/sweep.processor';
import { TransactionsApiService } from '../libs/transactions/src/transactions.api';
import { createContext } from './support/contexts';
import { depositFromCash } from './support/ledger-fixtures';
import { processes } from './support/processes';
import { createTestEnv, type TestEnv } from './support/test-env';

/** A Wednesday in London (GMT), no holiday: the order starts, and is due, that day. */
const TODAY = '2027-03-03';
const NOW = new Date(`${TODAY}T09:00:00Z`);

@Global()
@Module({
  providers: [{ provide: USERS_API, useValue: { getKycStatus: async () => ({ status: 'verified' }) } }],
  exports: [USERS_API],
})
class VerifiedUsersModule {}

class LedgerDown extends Error {}

describe('the due sweep when the ledger fails or a sweep loses its lock', () => {
  let t: TestEnv;
  let db: Client;
  let app: INestApplicationContext;
  /** up: the real ledger; down: the call fails before reaching it; lost-reply: it posts, then the call fails. */
  let mode: 'up' | 'down' | 'lost-reply' = 'up';
  const calls: PaymentPosting[] = [];
  /** When set, the next ledger call goes through this instead (it may wait, call the real one, or not). */
  let intercept: ((payment: PaymentPosting, real: TransactionsApiService) => Promise<unknown>) | null = null;
  /** When set, a void reaches the ledger and spends the key, then its reply is lost. */
  let voidReplyLost = false;
  /** How far the payments clock is ahead of NOW (ms). */
  let clockAhead = 0;

  const failingLedger = (real: TransactionsApiService): TransactionsApi =>
    new Proxy(real, {
      get(target, prop) {
        if (prop === 'pay') {
          return async (payment: PaymentPosting) => {
            calls.push(payment);
            const once = intercept;
            intercept = null;
            if (once) return once(payment, target);
            if (mode === 'down') throw new LedgerDown('ledger unreachable');
            const result = await target.pay(payment);
            if (mode === 'lost-reply') throw new LedgerDown('reply lost after posting');
            return result;
          };
        }
        if (prop === 'voidPayment') {
          return async (payment: { key: string; owner_id: string }) => {
            const result = await target.voidPayment(payment);
            if (voidReplyLost) throw new LedgerDown('reply lost after voiding');
            return result;
          };
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    }) as TransactionsApi;

  beforeAll(async () => {
    t = await createTestEnv('sweep_faults');
    await processes.runOnce('migrate', t.env, { logFile: join(t.logDir, 'migrate.log') });
    db = await t.db();
    app = await createContext({
      service: 'monolith',
      transport: 'local',
      env: {
        ...t.env,
        BANK_TIME_ZONE: 'Europe/London',
        BANK_HOLIDAYS: '',
        BANK_WEEKEND: 'saturday,sunday',
        // A refusal for funds fails the date at once (no retries), as a last attempt does.
        PAYMENT_RETRY_ATTEMPTS: '0',
      },
      modules: [VerifiedUsersModule, AccountsModule, TransactionsModule, PaymentsModule],
      overrides: [
        { provide: PAYMENTS_CLOCK, useValue: { now: () => new Date(NOW.getTime() + clockAhead) } },
        // No worker and no kicks: the test runs each sweep itself.
        { provide: SweepProcessor, useValue: {} },
        { provide: SweepKicks, useValue: { kick: async () => undefined } },
        { provide: TRANSACTIONS_API, useFactory: failingLedger, inject: [TransactionsApiService] },
      ],
    });
  });
  afterAll(async () => {
    await app?.close();
    await t?.cleanup();
  });

  const ledger = () => app.get(TransactionsApiService);
  let serial = 100;
  const account = async (funds: number) => {
    const owner = randomUUID();
    const id = randomUUID();
    const sortCode = app.get(AppConfig).sortCode;
    let number: string | undefined;
    while (!number) number = accountNumberFor(sortCode, serial++);
    await db.query(
      `INSERT INTO accounts.accounts (id, owner_id, sort_code, account_number, type, currency, name)
       VALUES ($1, $2, $3, $4, 'current', 'GBP', 'Current')`,
      [id, owner, sortCode, number],
    );
    await ledger().openAccount({ account_id: id, owner_id: owner, currency: 'GBP' });
    if (funds) await depositFromCash(db, id, funds);
    return { owner, id, sortCode, number };
  };

  /**
   * A payer with `funds` (£100.00) and a monthly £25.00 standing order to a landlord's account, due today
   * or from `startDate`.
   */
  const orderDueToday = async (funds = 10_000, startDate = TODAY) => {
    const payer = await account(funds);
    const landlord = await account(0);
    const payee = await app.get(PayeesService).create(payer.owner, {
      name: 'Landlord',
      sort_code: landlord.sortCode,
      account_number: landlord.number,
    });
    const { view } = await app.get(StandingOrdersService).create(
      payer.owner,
      {
        from_account_id: payer.id,
        payee_id: payee.id,
        amount: 2500,
        currency: 'GBP',
        reference: 'Rent',
        frequency: 'monthly',
        start_date: startDate,
      },
      randomUUID(),
    );
    return { payer, landlord, payeeId: payee.id, orderId: view.id };
  };
  const balances = async (...ids: string[]) => {
    const states = await ledger().getStates(ids);
    return ids.map((id) => states.find((s) => s.account_id === id)?.balance);
  };
  const payment = async (orderId: string) =>
    (
      await db.query(
        `SELECT p.status, p.transaction_id, k.outcome AS key_outcome, k.entry_id AS key_entry,
                (SELECT count(*) FROM transactions.entries e WHERE e.id = k.entry_id)::int AS entries,
                (SELECT count(*) FROM payments.outbox o
                  WHERE o.name = 'payment.executed' AND o.payload ->> 'payment_id' = p.id::text)::int AS executed
           FROM payments.payments p
           LEFT JOIN transactions.idempotency_keys k
                  ON k.owner_id = p.owner_id AND k.key = 'payment payment:' || p.order_id || ':' || p.due_date
          WHERE p.order_id = $1`,
        [orderId],
      )
    ).rows;
  const sweep = () => app.get(DueSweep).run();
  /** The one sweep in an outage: the payment is left processing, nothing recorded. */
  const sweepInOutage = async (orderId: string, how: 'down' | 'lost-reply') => {
    mode = how;
    try {
      await expect(sweep()).resolves.toMatchObject({ scheduled: 1, paid: 0, errors: 1 });
    } finally {
      mode = 'up';
    }
    expect((await payment(orderId)).map((p) => p.status)).toEqual(['processing']);
  };

  it('voids a payment whose call never reached the ledger: skipped, no money moved, and a late call moves none', async () => {
    const { payer, landlord, orderId } = await orderDueToday();
    await sweepInOutage(orderId, 'down');
    const cancelled = await app.get(StandingOrdersService).cancel(payer.owner, orderId);
    expect(cancelled.status).toBe('cancelled');

    await expect(sweep()).resolves.toMatchObject({ paid: 0, skipped: 1, errors: 0 });
    expect(await payment(orderId)).toEqual([
      {
        status: 'skipped',
        transaction_id: null,
        key_outcome: 'voided',
        key_entry: null,
        entries: 0,
        executed: 0,
      },
    ]);
    expect(await balances(payer.id, landlord.id)).toEqual([10_000n, 0n]);
    // The call the outage swallowed, arriving now at the ledger, finds its key spent.
    await expect(ledger().pay(calls.at(-1)!)).resolves.toEqual({ outcome: 'voided' });
    expect(await balances(payer.id, landlord.id)).toEqual([10_000n, 0n]);
    // Nothing is left for later sweeps.
    await expect(sweep()).resolves.toMatchObject({ paid: 0, skipped: 0, errors: 0 });
  });

  it('records as paid, once, a payment whose reply was lost after it posted', async () => {
    const { payer, landlord, orderId } = await orderDueToday();
    await sweepInOutage(orderId, 'lost-reply');
    await app.get(StandingOrdersService).cancel(payer.owner, orderId);

    await expect(sweep()).resolves.toMatchObject({ paid: 1, skipped: 0, errors: 0 });
    const [row] = await payment(orderId);
    expect(row).toMatchObject({ status: 'paid', key_outcome: 'posted', entries: 1, executed: 1 });
    expect(row.transaction_id).toBe(row.key_entry);
    expect(await balances(payer.id, landlord.id)).toEqual([7_500n, 2_500n]);
    const order = await app.get(StandingOrdersService).get(payer.owner, orderId);
    expect(order).toMatchObject({ status: 'cancelled', payments_made: 1 });
  });

  it('voids the same way when the payee was deleted during the outage', async () => {
    const { payer, landlord, payeeId, orderId } = await orderDueToday();
    await sweepInOutage(orderId, 'down');
    await expect(app.get(PayeesService).delete(payer.owner, payeeId)).resolves.toMatchObject({
      cancelled_standing_orders: 1,
    });

    await expect(sweep()).resolves.toMatchObject({ paid: 0, skipped: 1, errors: 0 });
    expect((await payment(orderId)).map((p) => [p.status, p.entries])).toEqual([['skipped', 0]]);
    expect(await balances(payer.id, landlord.id)).toEqual([10_000n, 0n]);
  });

  it('still pays, after the outage, a failed payment of an order that was not cancelled', async () => {
    const { payer, landlord, orderId } = await orderDueToday();
    await sweepInOutage(orderId, 'down');
    await expect(sweep()).resolves.toMatchObject({ paid: 1, skipped: 0, errors: 0 });
    expect((await payment(orderId)).map((p) => [p.status, p.key_outcome, p.entries])).toEqual([
      ['paid', 'posted', 1],
    ]);
    expect(await balances(payer.id, landlord.id)).toEqual([7_500n, 2_500n]);
  });

  it('fails, once, a date whose key was voided for its failure when the recording did not follow (the void reply lost)', async () => {
    const { payer, landlord, orderId } = await orderDueToday(0);
    voidReplyLost = true;
    try {
      await expect(sweep()).resolves.toMatchObject({ scheduled: 1, paid: 0, failed: 0, errors: 1 });
    } finally {
      voidReplyLost = false;
    }
    expect(await payment(orderId)).toEqual([
      expect.objectContaining({ status: 'processing', key_outcome: 'voided', entries: 0 }),
    ]);

    // The next sweep's call finds the key voided: the date fails for the reason decided before the void,
    // where it used to be refused as idempotency_key_reused on every sweep, the order stuck behind it.
    await expect(sweep()).resolves.toMatchObject({ paid: 0, failed: 1, errors: 0 });
    const { rows } = await db.query(
      `SELECT p.status, p.attempts, p.failure_reason,
              (SELECT count(*) FROM payments.outbox o
                WHERE o.name = 'payment.failed' AND o.payload ->> 'payment_id' = p.id::text)::int AS failed_events
         FROM payments.payments p WHERE p.order_id = $1`,
      [orderId],
    );
    expect(rows).toEqual([
      { status: 'failed', attempts: 1, failure_reason: 'insufficient_funds', failed_events: 1 },
    ]);
    const order = await app.get(StandingOrdersService).get(payer.owner, orderId);
    expect(order).toMatchObject({ status: 'active', payments_made: 0, consecutive_failures: 1 });
    expect(await balances(payer.id, landlord.id)).toEqual([0n, 0n]);
    await expect(sweep()).resolves.toMatchObject({ paid: 0, failed: 0, errors: 0 });
  });

  it('records once, too, a date an earlier version voided without writing why: the reason read from the accounts now', async () => {
    const { payer, orderId } = await orderDueToday(0);
    voidReplyLost = true;
    try {
      await expect(sweep()).resolves.toMatchObject({ scheduled: 1, failed: 0, errors: 1 });
    } finally {
      voidReplyLost = false;
    }
    // As the version before left it: the key voided, no reason written, and the account frozen since.
    await db.query(`UPDATE payments.payments SET failure_reason = NULL WHERE order_id = $1`, [orderId]);
    await db.query(`UPDATE transactions.ledger_accounts SET status = 'frozen' WHERE id = $1`, [payer.id]);

    await expect(sweep()).resolves.toMatchObject({ paid: 0, failed: 1, errors: 0 });
    const { rows } = await db.query(
      `SELECT status, attempts, failure_reason FROM payments.payments WHERE order_id = $1`,
      [orderId],
    );
    expect(rows).toEqual([{ status: 'failed', attempts: 1, failure_reason: 'account_frozen' }]);
    await expect(sweep()).resolves.toMatchObject({ paid: 0, failed: 0, errors: 0 });
  });

  it('lets only the latest claim record: a sweep that outlived its lock records nothing over the one that took over', async () => {
    const { payer, landlord, orderId } = await orderDueToday();
    const signal = () => {
      let open!: () => void;
      const opened = new Promise<void>((resolve) => (open = resolve));
      return { open, opened };
    };
    // Sweep A's call reaches the ledger late, and is refused (the account was short at that moment).
    const aCalled = signal();
    const aAnswers = signal();
    intercept = async () => {
      aCalled.open();
      await aAnswers.opened;
      return { outcome: 'refused', reason: 'insufficient_funds' };
    };
    const sweepA = sweep();
    await aCalled.opened;
    // A's lock connection dies (an idle timeout, a dropped NAT entry): A runs on, the lock is free.
    const { rowCount } = await db.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE application_name = 'protobank session lock' AND datname = current_database()`,
    );
    expect(rowCount).toBe(1);
    // Sweep B takes the lock, claims the payment again and posts it; it records only after A has.
    const bPosted = signal();
    const bRecords = signal();
    intercept = async (payment, real) => {
      const result = await real.pay(payment);
      bPosted.open();
      await bRecords.opened;
      return result;
    };
    const sweepB = sweep();
    await bPosted.opened;
    // A's refusal would fail the date (no retries here) and tell the customer so, though B's posting took
    // the money: A no longer holds the claim, so it neither spends the key nor records anything.
    aAnswers.open();
    const a = await sweepA;
    expect((await payment(orderId)).map((p) => p.status)).not.toContain('failed');
    bRecords.open();
    const b = await sweepB;
    expect({ paid: a.paid + b.paid, failed: a.failed + b.failed, errors: a.errors + b.errors }).toEqual({
      paid: 1,
      failed: 0,
      errors: 0,
    });
    const [row] = await payment(orderId);
    expect(row).toMatchObject({ status: 'paid', key_outcome: 'posted', entries: 1, executed: 1 });
    expect(row.transaction_id).toBe(row.key_entry);
    const { rows: failedEvents } = await db.query(
      `SELECT 1 FROM payments.outbox WHERE name = 'payment.failed' AND payload ->> 'order_id' = $1`,
      [orderId],
    );
    expect(failedEvents).toEqual([]);
    expect(await balances(payer.id, landlord.id)).toEqual([7_500n, 2_500n]);
  });

  it("answers a staff member's run-due with 503 sweep_busy once sweeps have held the lock for 30 s, sweeping and auditing nothing", async () => {
    const { orderId } = await orderDueToday();
    // A session as auth keeps it, for the actor's StaffGate (each try for the lock enters it).
    const staff = { user_id: randomUUID(), role: 'staff' as const, session_id: randomUUID() };
    const redis = await t.redis();
    await redis.hset(t.env.REDIS_KEY_PREFIX + sessionKey(staff.session_id), {
      user_id: staff.user_id,
      role: 'staff',
    });
    // The sweep's lock, held as a long sweep holds it.
    const holder = await t.db();
    await holder.query('SELECT pg_advisory_lock($1)', [0x7061_7973]);
    try {
      const run = app
        .get(DueSweep)
        .runFor(staff, { user_id: staff.user_id, role: 'staff' })
        .then(
          (counts) => ({ counts }),
          (err: unknown) => ({ err }),
        );
      await new Promise((r) => setTimeout(r, 500));
      clockAhead = 30_001;
      expect(await run).toEqual({ err: expect.objectContaining({ status: 503, code: 'sweep_busy' }) });
    } finally {
      clockAhead = 0;
      await holder.query('SELECT pg_advisory_unlock($1)', [0x7061_7973]);
    }
    expect((await payment(orderId)).map((p) => p.status)).toEqual([]);
    const { rows: audited } = await db.query(
      `SELECT 1 FROM payments.outbox WHERE name = 'staff_action.recorded' AND payload ->> 'actor_id' = $1`,
      [staff.user_id],
    );
    expect(audited).toEqual([]);
  });
  it("applies a change of amount and reference to a payment already scheduled and not yet made (a Saturday's, paid on Monday)", async () => {
    // Due on Saturday 6 March: scheduled that day, paid on Monday 8 March.
    const { payer, landlord, orderId } = await orderDueToday(10_000, '2027-03-06');
    const orders = app.get(StandingOrdersService);
    const scheduled = async () =>
      (
        await db.query(
          `SELECT p.status, p.amount::int AS amount, p.reference, p.pay_on::text AS pay_on, e.amount::int AS posted,
                  e.reference AS posted_reference
             FROM payments.payments p LEFT JOIN transactions.entries e ON e.id = p.transaction_id
            WHERE p.order_id = $1`,
          [orderId],
        )
      ).rows;
    try {
      clockAhead = 3 * 86_400_000;
      await sweep();
      expect(await scheduled()).toEqual([
        expect.objectContaining({ status: 'pending', amount: 2500, pay_on: '2027-03-08' }),
      ]);
      // The order already shows April's date: the change must reach Monday's payment too.
      const changed = await orders.update(payer.owner, orderId, { amount: 3000, reference: 'Rent March' });
      expect(changed).toMatchObject({
        amount: 3000,
        reference: 'Rent March',
        next_payment_date: '2027-04-06',
      });
      expect(await scheduled()).toEqual([
        expect.objectContaining({ status: 'pending', amount: 3000, reference: 'Rent March' }),
      ]);
      clockAhead = 5 * 86_400_000;
      await sweep();
      expect(await scheduled()).toEqual([
        expect.objectContaining({
          status: 'paid',
          amount: 3000,
          posted: 3000,
          posted_reference: 'Rent March',
        }),
      ]);
      expect(await balances(payer.id, landlord.id)).toEqual([7_000n, 3_000n]);
      // A paid one is not changed after the fact.
      await orders.update(payer.owner, orderId, { amount: 3500 });
      expect(await scheduled()).toEqual([expect.objectContaining({ status: 'paid', amount: 3000 })]);
    } finally {
      clockAhead = 0;
      await orders.cancel(payer.owner, orderId);
    }
  });
});
