/**
 * Standing orders and scheduled payments across sixteen months, with crashes (issue 12): the payments
 * module's clock (PAYMENTS_CLOCK) is moved day by day from November 2027 to March 2029, with three
 * stretches of downtime, and the due sweep runs at each step, as the job scheduler would. The worker
 * "dies" between posting a payment and recording it: in process, the ledger call posts and then throws
 * (at seeded points, and the day before two downtimes, so the replay comes weeks later), and once for
 * real, a child process SIGKILLed right after a posting. The context is restarted now and then.
 *
 * Then: every occurrence has exactly one payments row with the expected outcome, each paid one exactly
 * one ledger entry (none for a failed one), the money moved adds up to every balance, orders ended by
 * count or end date are completed, the late flags say which payments were first tried after their paying
 * day, and the ledger verifies clean. The expected schedule is computed here, independently of the
 * module's calendar, and some dates are checked by hand (month ends, 29 February, weekends, holidays).
 */
import { Global, Module, type INestApplicationContext } from '@nestjs/common';
import { AccountsModule } from '@protobank/accounts';
import {
  accountNumberFor,
  TRANSACTIONS_API,
  USERS_API,
  type PaymentPosting,
  type PaymentPostingResult,
  type TransactionsApi,
} from '@protobank/contracts';
import { AppConfig, IdempotencyRetention } from '@protobank/platform';
import { PaymentsModule } from '@protobank/payments';
import { TransactionsModule } from '@protobank/transactions';
import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, openSync, readFileSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from 'pg';
import { ScheduledPaymentsService } from '../libs/payments/src/orders/scheduled-payments.service';
import { StandingOrdersService } from '../libs/payments/src/orders/standing-orders.service';
import { PayeesService } from '../libs/payments/src/payees/payees.service';
import { PAYMENTS_CLOCK, type Clock } from '../libs/payments/src/run/clock';
import { DueSweep, type SweepCounts } from '../libs/payments/src/run/due-sweep';
import { SweepProcessor } from '../libs/payments/src/run/sweep.processor';
import type { Frequency } from '../libs/payments/src/schedule/calendar';
import { LedgerVerifyService } from '../libs/transactions/src/admin/ledger-verify.service';
import { TransactionsApiService } from '../libs/transactions/src/transactions.api';
import { createContext } from './support/contexts';
import { depositFromCash } from './support/ledger-fixtures';
import { processes } from './support/processes';
import { createTestEnv, eventually, type TestEnv } from './support/test-env';

// ---------------------------------------------------------------------------------------------------------
// The bank's calendar, and this test's own date arithmetic (not the module's).

const SEED = Number(process.env.PAYMENTS_SCHEDULE_SEED ?? 20271115);
const TZ = 'Europe/London';
const HOLIDAYS = [
  '2027-12-27',
  '2027-12-28',
  '2028-01-03',
  '2028-04-14',
  '2028-04-17',
  '2028-05-01',
  '2028-05-29',
  '2028-08-28',
  '2028-12-25',
  '2028-12-26',
  '2029-01-01',
];
const RETRIES = 2;
const MAX_CONSECUTIVE_FAILURES = 3;
const PAYMENTS_ENV = {
  BANK_TIME_ZONE: TZ,
  BANK_HOLIDAYS: HOLIDAYS.join(','),
  BANK_WEEKEND: 'saturday,sunday',
  PAYMENT_RETRY_ATTEMPTS: String(RETRIES),
  PAYMENT_RETRY_INTERVAL_MINUTES: '60',
  STANDING_ORDER_MAX_CONSECUTIVE_FAILURES: String(MAX_CONSECUTIVE_FAILURES),
};

const START = '2027-11-15';
const END = '2029-03-21';
/** Days on which no sweep runs at all (inclusive): the payments service is down. */
const DOWNTIME: [string, string][] = [
  ['2028-02-25', '2028-03-08'],
  ['2028-07-28', '2028-08-21'],
  ['2028-12-21', '2029-01-04'],
];
/** The day before a downtime: the sweep dies after a posting, and its replay waits for the service to return. */
const CRASH_BEFORE_DOWNTIME = ['2028-02-24', '2028-07-27'];
/** The first day after the second downtime: the worker is a child process, killed for real. */
const KILL_DAY = '2028-08-22';
const FREEZE = '2028-05-20';
const UNFREEZE = '2028-06-02';
const MID_RUN = '2028-06-14';
/** A Thursday: rosa resumes her suspended order (and is paid). */
const RESUME_DAY = '2027-12-16';

const DAY_MS = 86_400_000;
const pad = (n: number) => String(n).padStart(2, '0');
const plusDays = (date: string, days: number) =>
  new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
const daysIn = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();
const MONTHS_PER: Record<Exclude<Frequency, 'weekly'>, number> = { monthly: 1, quarterly: 3, yearly: 12 };

/** The nominal date of occurrence n: counted from the start, the day kept or cut to the month's end. */
function nominal(start: string, frequency: Frequency, n: number): string {
  if (frequency === 'weekly') return plusDays(start, 7 * n);
  const [y, m, d] = start.split('-').map(Number);
  const months = m - 1 + MONTHS_PER[frequency] * n;
  const [year, month] = [y + Math.floor(months / 12), (months % 12) + 1];
  return `${year}-${pad(month)}-${pad(Math.min(d, daysIn(year, month)))}`;
}
const weekday = (date: string) => new Date(`${date}T00:00:00Z`).getUTCDay();
/** The next working day from `date` on (itself if it is one). */
function payDay(date: string): string {
  let day = date;
  while (weekday(day) === 0 || weekday(day) === 6 || HOLIDAYS.includes(day)) day = plusDays(day, 1);
  return day;
}
const isDown = (date: string) => DOWNTIME.some(([from, to]) => date >= from && date <= to);

const wallClock = new Intl.DateTimeFormat('en-CA', {
  timeZone: TZ,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});
function wall(at: number): string {
  const p = Object.fromEntries(wallClock.formatToParts(new Date(at)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}
/** The bank's date at an instant. */
const bankDate = (at: number) => wall(at).slice(0, 10);
/** The instant it is hh:mm in London on `date` (London is UTC or UTC+1). */
function londonTime(date: string, hh: number, mm: number): number {
  const want = `${date} ${pad(hh)}:${pad(mm)}`;
  for (const hoursAhead of [0, 1]) {
    const at = Date.parse(`${date}T${pad(hh)}:${pad(mm)}:00Z`) - hoursAhead * 3_600_000;
    if (wall(at) === want) return at;
  }
  throw new Error(`${want} does not exist in ${TZ}`);
}

/** A seeded generator (mulberry32): the same run for the same seed. */
function seeded(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
/** A fraction in [0, 1) fixed by the seed and `what`: whether a given call crashes, whatever the order of calls. */
const chance = (what: string) =>
  createHash('sha256').update(`${SEED}:${what}`).digest().readUInt32BE(0) / 4294967296;

// ---------------------------------------------------------------------------------------------------------
// Who pays whom.

type Customer = 'alice' | 'bob' | 'carol' | 'larry' | 'pete' | 'quinn' | 'fred' | 'rosa';
const FUNDS: Record<Customer, number> = {
  alice: 20_000_000,
  bob: 20_000_000,
  carol: 20_000_000,
  larry: 0,
  /** Never enough for his rent: three failed dates suspend it. */
  pete: 3_000,
  /** Enough for two weeks, then short for two, then topped up. */
  quinn: 2_500,
  /** Frozen for two weeks. */
  fred: 1_000_000,
  /** Nothing until she is paid, the day she resumes her suspended order. */
  rosa: 0,
};
const TOP_UPS: { day: string; who: Customer; amount: number }[] = [
  { day: '2027-12-11', who: 'quinn', amount: 20_000 },
  { day: RESUME_DAY, who: 'rosa', amount: 20_000 },
];
/** An internal payee is another customer's account; `ext:` an account at another bank. */
type Target = Customer | `ext:${string}`;
type FailureReason = 'insufficient_funds' | 'account_frozen';

interface OrderSpec {
  tag: string;
  payer: Customer;
  payee: Target;
  amount: number;
  frequency: Frequency;
  start: string;
  end?: string;
  count?: number;
  /** Set up on this day (the clock's today then); START otherwise. */
  createdOn?: string;
  /** Cancelled by the customer on this day, before its sweep. */
  cancelOn?: string;
  /** Why occurrence n (paying on payOn) fails, if it does. */
  fails?: (n: number, payOn: string) => FailureReason | undefined;
  /** Suspended, then resumed by the customer on this day, before its sweep. */
  resumeOn?: string;
}

const frozen = (_n: number, payOn: string) =>
  payOn >= FREEZE && payOn < UNFREEZE ? ('account_frozen' as const) : undefined;

const ORDERS: OrderSpec[] = [
  {
    tag: 'alice-rent',
    payer: 'alice',
    payee: 'larry',
    amount: 95_000,
    frequency: 'monthly',
    start: '2027-11-30',
  },
  {
    tag: 'alice-31st',
    payer: 'alice',
    payee: 'ext:Savings Club',
    amount: 12_500,
    frequency: 'monthly',
    start: '2028-01-31',
    count: 14,
  },
  {
    tag: 'alice-gym',
    payer: 'alice',
    payee: 'ext:Gym',
    amount: 3_999,
    frequency: 'weekly',
    start: '2027-11-19',
    end: '2028-06-30',
  },
  {
    tag: 'alice-council',
    payer: 'alice',
    payee: 'ext:Council',
    amount: 41_000,
    frequency: 'quarterly',
    start: '2027-12-31',
  },
  {
    tag: 'alice-insurance',
    payer: 'alice',
    payee: 'ext:Insurance',
    amount: 58_800,
    frequency: 'yearly',
    start: '2028-02-29',
  },
  {
    tag: 'alice-29th',
    payer: 'alice',
    payee: 'bob',
    amount: 2_900,
    frequency: 'monthly',
    start: '2027-11-29',
    end: '2028-08-15',
  },
  {
    tag: 'alice-saturday',
    payer: 'alice',
    payee: 'carol',
    amount: 1_500,
    frequency: 'weekly',
    start: '2027-11-20',
    count: 10,
  },
  {
    tag: 'bob-christmas',
    payer: 'bob',
    payee: 'alice',
    amount: 5_000,
    frequency: 'monthly',
    start: '2027-12-25',
  },
  {
    tag: 'bob-weekly',
    payer: 'bob',
    payee: 'ext:Allotment',
    amount: 750,
    frequency: 'weekly',
    start: '2027-11-16',
    count: 40,
  },
  {
    tag: 'bob-new-year',
    payer: 'bob',
    payee: 'ext:Phone',
    amount: 2_000,
    frequency: 'monthly',
    start: '2028-01-01',
  },
  {
    tag: 'bob-leap-quarter',
    payer: 'bob',
    payee: 'carol',
    amount: 30_000,
    frequency: 'quarterly',
    start: '2028-02-29',
  },
  {
    tag: 'bob-yearly',
    payer: 'bob',
    payee: 'ext:Magazine',
    amount: 4_500,
    frequency: 'yearly',
    start: '2027-12-01',
  },
  {
    tag: 'bob-today',
    payer: 'bob',
    payee: 'larry',
    amount: 10_000,
    frequency: 'monthly',
    start: START,
    count: 6,
  },
  {
    tag: 'bob-dst',
    payer: 'bob',
    payee: 'ext:Charity',
    amount: 1_000,
    frequency: 'weekly',
    start: '2028-03-26',
    count: 8,
  },
  {
    tag: 'bob-midyear',
    payer: 'bob',
    payee: 'ext:Storage',
    amount: 3_300,
    frequency: 'monthly',
    start: '2028-06-30',
    count: 8,
    createdOn: MID_RUN,
  },
  {
    tag: 'carol-month-ends',
    payer: 'carol',
    payee: 'larry',
    amount: 80_000,
    frequency: 'monthly',
    start: '2027-12-31',
    end: '2028-10-31',
  },
  {
    tag: 'carol-weekly',
    payer: 'carol',
    payee: 'ext:Cleaner',
    amount: 4_000,
    frequency: 'weekly',
    start: '2027-11-18',
    cancelOn: '2028-09-01',
  },
  {
    tag: 'carol-good-friday',
    payer: 'carol',
    payee: 'alice',
    amount: 6_000,
    frequency: 'monthly',
    start: '2028-04-14',
  },
  {
    tag: 'carol-quarterly',
    payer: 'carol',
    payee: 'ext:Water',
    amount: 9_000,
    frequency: 'quarterly',
    start: '2027-11-30',
    count: 4,
  },
  {
    tag: 'carol-clocks-back',
    payer: 'carol',
    payee: 'bob',
    amount: 2_500,
    frequency: 'monthly',
    start: '2028-10-29',
    createdOn: MID_RUN,
  },
  {
    tag: 'pete-rent',
    payer: 'pete',
    payee: 'larry',
    amount: 5_000,
    frequency: 'monthly',
    start: '2027-12-10',
    fails: () => 'insufficient_funds',
  },
  {
    tag: 'pete-small',
    payer: 'pete',
    payee: 'ext:Newsagent',
    amount: 100,
    frequency: 'weekly',
    start: '2027-11-22',
    count: 5,
  },
  {
    tag: 'quinn-nursery',
    payer: 'quinn',
    payee: 'ext:Nursery',
    amount: 1_000,
    frequency: 'weekly',
    start: '2027-11-17',
    count: 12,
    fails: (n) => (n === 2 || n === 3 ? 'insufficient_funds' : undefined),
  },
  {
    // Suspended by its first three dates (2 December), 9 December missed, resumed on the 16th (a due
    // date: paid that day), then paid until its count of 10, the missed dates counted.
    tag: 'rosa-gym',
    payer: 'rosa',
    payee: 'ext:Gym',
    amount: 1_500,
    frequency: 'weekly',
    start: '2027-11-18',
    count: 10,
    fails: (n) => (n < 3 ? 'insufficient_funds' : undefined),
    resumeOn: RESUME_DAY,
  },
  {
    tag: 'fred-weekly',
    payer: 'fred',
    payee: 'ext:Landlord Ltd',
    amount: 700,
    frequency: 'weekly',
    start: '2028-05-03',
    count: 10,
    fails: frozen,
  },
];

/** A few more, drawn from the seed: month ends, counts and end dates of every kind. */
function randomOrders(rand: () => number): OrderSpec[] {
  const payers: Customer[] = ['alice', 'bob', 'carol'];
  const frequencies: Frequency[] = ['weekly', 'monthly', 'quarterly', 'yearly'];
  return Array.from({ length: 8 }, (_, i) => {
    const payer = payers[Math.floor(rand() * payers.length)];
    const internal = payers.filter((p) => p !== payer).concat('larry');
    const payee: Target =
      rand() < 0.5 ? internal[Math.floor(rand() * internal.length)] : `ext:Random Payee ${i}`;
    const frequency = frequencies[Math.floor(rand() * frequencies.length)];
    let start = plusDays(START, 1 + Math.floor(rand() * 150));
    if (rand() < 0.5) {
      const [y, m] = start.split('-').map(Number);
      const day = 28 + Math.floor(rand() * 4);
      start = `${y}-${pad(m)}-${pad(Math.min(day, daysIn(y, m)))}`;
      if (start <= START) start = plusDays(START, 1);
    }
    const end = rand();
    return {
      tag: `random-${i}`,
      payer,
      payee,
      amount: 500 + Math.floor(rand() * 20_000),
      frequency,
      start,
      ...(end < 0.35 ? { count: 2 + Math.floor(rand() * 20) } : {}),
      ...(end >= 0.35 && end < 0.7 ? { end: plusDays(start, 60 + Math.floor(rand() * 400)) } : {}),
    };
  });
}

interface ScheduledSpec {
  tag: string;
  payer: Customer;
  payee: Target;
  amount: number;
  payOn: string;
  createdOn?: string;
  fails?: FailureReason;
}

const SCHEDULED: ScheduledSpec[] = [
  { tag: 'alice-xmas-gift', payer: 'alice', payee: 'ext:Gift Shop', amount: 15_000, payOn: '2027-12-24' },
  { tag: 'bob-new-year-day', payer: 'bob', payee: 'larry', amount: 20_000, payOn: '2028-01-01' },
  {
    tag: 'pete-too-much',
    payer: 'pete',
    payee: 'ext:Car Dealer',
    amount: 10_000,
    payOn: '2028-03-01',
    fails: 'insufficient_funds',
  },
  {
    tag: 'fred-frozen',
    payer: 'fred',
    payee: 'ext:Garage',
    amount: 5_000,
    payOn: '2028-05-25',
    fails: 'account_frozen',
  },
  { tag: 'carol-today', payer: 'carol', payee: 'alice', amount: 7_700, payOn: MID_RUN, createdOn: MID_RUN },
  {
    tag: 'carol-next-year',
    payer: 'carol',
    payee: 'ext:Travel',
    amount: 33_000,
    payOn: '2029-01-31',
    createdOn: MID_RUN,
  },
];

// ---------------------------------------------------------------------------------------------------------

interface PayCall {
  day: string;
  result: PaymentPostingResult;
  /** The worker died right after this answer, before recording it. */
  crashed: boolean;
}

class WorkerCrash extends Error {}

/**
 * Global: AccountsModule injects USERS_API, which only opening an account calls (accounts are made in SQL
 * here), and saving a payee asks it whether its owner is verified (they all are here).
 */
@Global()
@Module({
  providers: [{ provide: USERS_API, useValue: { getKycStatus: async () => ({ status: 'verified' }) } }],
  exports: [USERS_API],
})
class NoUsersModule {}

interface PaymentRow {
  id: string;
  order_id: string;
  n: number;
  due_date: string;
  pay_on: string;
  status: string;
  attempts: number;
  failure_reason: string | null;
  late: boolean;
  amount: string;
  from_account_id: string;
  transaction_id: string | null;
}

describe('payments across sixteen months, with crashes between posting and recording', () => {
  let t: TestEnv;
  let db: Client;
  let app: INestApplicationContext;
  const rand = seeded(SEED);
  const orders = [...ORDERS, ...randomOrders(rand)];
  const clock: Clock & { at: number } = { at: 0, now: () => new Date(clock.at) };

  /** Every call of the ledger's pay, by payment key, in order. */
  const calls = new Map<string, PayCall[]>();
  let crashedThisSweep: { key: string; call: PayCall }[] = [];
  let crashNextPosting = false;
  const stats = {
    sweeps: 0,
    restarts: 0,
    crashes: 0,
    replayedNextDayOrLater: 0,
    restartsAfterCrash: 0,
    killedSweepMs: 0,
    runMs: 0,
  };

  const accounts = {} as Record<Customer, { owner: string; account: string; number: string }>;
  const orderIds = new Map<string, string>();
  const scheduledIds = new Map<string, string>();
  /** Tags by order id. */
  const tags = new Map<string, string>();
  const payees = new Map<string, string>();
  let lastSweep = 0;

  /** The ledger as the payments module sees it: the real one, dying after a posting when told to. */
  const crashingLedger = (real: TransactionsApiService): TransactionsApi => {
    const pay = async (payment: PaymentPosting): Promise<PaymentPostingResult> => {
      const result = await real.pay(payment);
      const history = calls.get(payment.key) ?? [];
      calls.set(payment.key, history);
      const call: PayCall = { day: bankDate(clock.at), result, crashed: false };
      history.push(call);
      if (result.outcome !== 'posted') return result;
      // Seeded by order and date, and call: one first posting in twenty dies, a quarter of those replays again.
      const [, orderId, due] = payment.key.split(':');
      const occurrence = `${tags.get(orderId)}:${due}`;
      const attempt = history.length;
      const dies =
        (crashNextPosting && !result.replayed) ||
        (attempt === 1 && chance(`${occurrence}:1`) < 0.05) ||
        (attempt === 2 && history[0].crashed && chance(`${occurrence}:2`) < 0.25);
      if (!dies) return result;
      crashNextPosting = false;
      call.crashed = true;
      stats.crashes++;
      crashedThisSweep.push({ key: payment.key, call });
      throw new WorkerCrash(`worker died after posting ${payment.key}`);
    };
    return new Proxy(real, {
      get(target, prop) {
        if (prop === 'pay') return pay;
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    }) as TransactionsApi;
  };

  const boot = () =>
    createContext({
      service: 'monolith',
      transport: 'local',
      env: { ...t.env, ...PAYMENTS_ENV },
      modules: [NoUsersModule, AccountsModule, TransactionsModule, PaymentsModule],
      overrides: [
        { provide: PAYMENTS_CLOCK, useValue: clock },
        // No BullMQ job scheduler: this test is the scheduler.
        { provide: SweepProcessor, useValue: { kick: async () => undefined } },
        { provide: TRANSACTIONS_API, useFactory: crashingLedger, inject: [TransactionsApiService] },
      ],
    });
  const restart = async () => {
    await app.close();
    app = await boot();
    stats.restarts++;
  };
  const ledger = () => app.get<TransactionsApi>(TRANSACTIONS_API);

  /** A deposit from the bank's cash, straight through post_entry (as a staff deposit posts it). */
  const fund = (accountId: string, amount: number) => depositFromCash(db, accountId, amount);

  const payeeFor = async (payer: Customer, target: Target): Promise<string> => {
    const id = `${payer}>${target}`;
    const known = payees.get(id);
    if (known) return known;
    const external = target.startsWith('ext:');
    const sortCode = external ? '200000' : app.get(AppConfig).sortCode;
    let number = external ? undefined : accounts[target as Customer].number;
    for (let serial = 10 + payees.size * 7; !number; serial++) number = accountNumberFor(sortCode, serial);
    const payee = await app.get(PayeesService).create(accounts[payer].owner, {
      name: external ? target.slice(4) : target,
      sort_code: sortCode,
      account_number: number,
    });
    payees.set(id, payee.id);
    return payee.id;
  };

  const createOrder = async (spec: OrderSpec) => {
    const { view } = await app.get(StandingOrdersService).create(
      accounts[spec.payer].owner,
      {
        from_account_id: accounts[spec.payer].account,
        payee_id: await payeeFor(spec.payer, spec.payee),
        amount: spec.amount,
        currency: 'GBP',
        reference: spec.tag,
        frequency: spec.frequency,
        start_date: spec.start,
        ...(spec.end ? { end_date: spec.end } : {}),
        ...(spec.count ? { count: spec.count } : {}),
      },
      randomUUID(),
    );
    orderIds.set(spec.tag, view.id);
    tags.set(view.id, spec.tag);
  };
  const createScheduled = async (spec: ScheduledSpec) => {
    const { view } = await app.get(ScheduledPaymentsService).create(
      accounts[spec.payer].owner,
      {
        from_account_id: accounts[spec.payer].account,
        payee_id: await payeeFor(spec.payer, spec.payee),
        amount: spec.amount,
        currency: 'GBP',
        reference: spec.tag,
        pay_on: spec.payOn,
      },
      randomUUID(),
    );
    scheduledIds.set(spec.tag, view.id);
    tags.set(view.id, spec.tag);
  };
  const setUpOn = async (day: string) => {
    for (const spec of orders) if ((spec.createdOn ?? START) === day) await createOrder(spec);
    for (const spec of SCHEDULED) if ((spec.createdOn ?? START) === day) await createScheduled(spec);
  };

  const staff = {
    actor: { user_id: randomUUID(), role: 'staff' as const },
    reason: 'test: frozen for a while',
  };
  /** What happens on a day before its sweep (besides setting orders up). */
  const ACTIONS: Record<string, () => Promise<void>> = {
    [FREEZE]: async () => {
      await ledger().setStatus(accounts.fred.account, 'frozen', staff);
    },
    [UNFREEZE]: async () => {
      await ledger().setStatus(accounts.fred.account, 'active', staff);
    },
    '2028-09-01': async () => {
      await app.get(StandingOrdersService).cancel(accounts.carol.owner, orderIds.get('carol-weekly')!);
    },
    [RESUME_DAY]: async () => {
      // Actions run before the day's clock is set: the resume is on the day itself, before its sweep.
      clock.at = Math.max(lastSweep, londonTime(RESUME_DAY, 0, 1));
      const orders = app.get(StandingOrdersService);
      const id = orderIds.get('rosa-gym')!;
      expect(await orders.get(accounts.rosa.owner, id)).toMatchObject({
        status: 'suspended',
        next_payment_date: null,
        consecutive_failures: MAX_CONSECUTIVE_FAILURES,
      });
      // Someone else's order is not found; hers pays again from today's date, the 9th missed.
      await expect(orders.resume(accounts.pete.owner, id)).rejects.toMatchObject({ status: 404 });
      expect(await orders.resume(accounts.rosa.owner, id)).toMatchObject({
        status: 'active',
        status_reason: null,
        next_payment_date: RESUME_DAY,
        consecutive_failures: 0,
      });
      await expect(orders.resume(accounts.rosa.owner, id)).rejects.toMatchObject({
        status: 409,
        code: 'order_not_suspended',
      });
    },
    '2028-01-20': restart,
    '2028-04-02': restart,
    [MID_RUN]: restart,
    '2028-10-10': restart,
    '2029-02-01': restart,
  };

  /** A row of payments.payments by its ledger key, with what the ledger holds under that key. */
  const byKey = async (key: string) => {
    const [, orderId, due] = key.split(':');
    const { rows } = await db.query(
      `SELECT p.status, p.attempts, p.transaction_id, p.settled_at, k.entry_id,
              (SELECT count(*) FROM transactions.entries e WHERE e.id = k.entry_id)::int AS entries
         FROM payments.payments p
         LEFT JOIN transactions.idempotency_keys k ON k.owner_id = p.owner_id AND k.key = 'payment ' || $3
        WHERE p.order_id = $1 AND p.due_date = $2`,
      [orderId, due, key],
    );
    return rows;
  };
  /** What a worker that died between posting and recording leaves: processing, unrecorded, posted once. */
  const expectLeftPosted = async (key: string, result: PaymentPostingResult) => {
    if (result.outcome !== 'posted') throw new Error(`${key} was not posted`);
    expect(await byKey(key)).toEqual([
      {
        status: 'processing',
        attempts: 0,
        transaction_id: null,
        settled_at: null,
        entry_id: result.transaction_id,
        entries: 1,
      },
    ]);
  };

  /** One sweep with the clock at `at` (never before the last one). */
  const sweepAt = async (at: number): Promise<SweepCounts> => {
    clock.at = Math.max(at, lastSweep + 60_000);
    lastSweep = clock.at;
    crashedThisSweep = [];
    const counts = await app.get(DueSweep).run();
    stats.sweeps++;
    if (crashedThisSweep.length) {
      // The sweep went on without the dead payment (left for the next sweep), as after an outage.
      expect(counts.errors).toBeGreaterThanOrEqual(crashedThisSweep.length);
      for (const { key, call } of crashedThisSweep) {
        // Died on its first call: nothing of it recorded. A replay that died again: still unrecorded.
        if (calls.get(key)!.length === 1) await expectLeftPosted(key, call.result);
        else expect((await byKey(key))[0]).toMatchObject({ status: 'processing', transaction_id: null });
      }
    }
    return counts;
  };

  /** The day's sweep, then the retries an hour apart that the every-minute scheduler would run. */
  const sweepDay = async (day: string) => {
    const r = rand();
    const time =
      r < 0.08 ? londonTime(day, 0, 20) : r < 0.14 ? londonTime(day, 23, 50) : londonTime(day, 9, 30);
    const forced = CRASH_BEFORE_DOWNTIME.includes(day);
    crashNextPosting = forced;
    let counts = await sweepAt(time);
    crashNextPosting = false;
    if (forced) {
      expect(crashedThisSweep.length).toBeGreaterThanOrEqual(1);
      return; // the service goes down now: the replay comes after the downtime
    }
    for (let round = 0; round < 8 && (counts.retrying > 0 || counts.errors > 0); round++) {
      if (counts.errors > 0) {
        const next = rand();
        if (next < 0.3) return; // the replay is the next day's sweep's
        if (next < 0.55) {
          await restart();
          stats.restartsAfterCrash++;
        }
      }
      counts = await sweepAt(lastSweep + 61 * 60_000);
    }
  };

  /** The day's sweep in a child process that is killed right after a posting; then a fresh context sweeps. */
  const killedSweep = async (day: string) => {
    const started = Date.now();
    await app.close();
    const at = londonTime(day, 9, 30);
    lastSweep = at;
    const payLog = join(t.logDir, 'payments-sweeper.pay.log');
    const out = openSync(join(t.logDir, 'payments-sweeper.log'), 'a');
    const child = spawn(process.execPath, [join(__dirname, 'support/payments-sweeper.js')], {
      env: {
        ...process.env,
        ...t.env,
        ...PAYMENTS_ENV,
        PAYMENTS_CLOCK_AT: new Date(at).toISOString(),
        KILL_AFTER_POSTINGS: '4',
        PAY_LOG: payLog,
      },
      stdio: ['ignore', out, out],
    });
    closeSync(out);
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    expect({ code, signal }).toEqual({ code: null, signal: 'SIGKILL' });
    const answers = (existsSync(payLog) ? readFileSync(payLog, 'utf8') : '')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as PaymentPostingResult & { key: string; kill: boolean });
    for (const { key, kill, ...result } of answers) {
      const history = calls.get(key) ?? [];
      calls.set(key, history);
      history.push({ day, result, crashed: kill });
    }
    const killed = answers.filter((a) => a.kill);
    expect(killed).toHaveLength(1);
    stats.crashes++;
    // Killed between posting and recording: exactly what the in-process crashes leave.
    const { key, kill: _kill, ...result } = killed[0];
    if (result.outcome !== 'posted') throw new Error('killed after a refusal');
    if (calls.get(key)!.length === 1) await expectLeftPosted(key, result);
    // Its advisory lock went with its connection: the next sweep is not kept waiting.
    await eventually(
      async () => {
        const { rows } = await db.query(
          `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database
            WHERE l.locktype = 'advisory' AND d.datname = current_database()`,
        );
        return rows[0].n === 0 ? true : undefined;
      },
      15_000,
      "the killed sweeper's advisory lock to be released",
    );
    app = await boot();
    stats.restarts++;
    await sweepAt(at + 60_000);
    const after = calls.get(key)!;
    expect(after.length).toBeGreaterThan(1);
    expect(after[after.length - 1].result).toEqual({ ...result, replayed: true });
    // Unless this sweep died over it too (then a later one records it).
    if (!after[after.length - 1].crashed)
      expect((await byKey(key))[0]).toMatchObject({
        status: 'paid',
        transaction_id: result.transaction_id,
      });
    stats.killedSweepMs = Date.now() - started;
  };

  beforeAll(async () => {
    t = await createTestEnv('payments_schedule');
    await processes.runOnce('migrate', t.env, { logFile: join(t.logDir, 'migrate.log') });
    db = await t.db();
    app = await boot();
    clock.at = londonTime(START, 9, 0);
    const sortCode = app.get(AppConfig).sortCode;
    let serial = 100;
    for (const who of Object.keys(FUNDS) as Customer[]) {
      const owner = randomUUID();
      const account = randomUUID();
      let number: string | undefined;
      while (!number) number = accountNumberFor(sortCode, serial++);
      await db.query(
        `INSERT INTO accounts.accounts (id, owner_id, sort_code, account_number, type, currency, name)
         VALUES ($1, $2, $3, $4, 'current', 'GBP', $5)`,
        [account, owner, sortCode, number, `${who}'s account`],
      );
      await ledger().openAccount({ account_id: account, owner_id: owner, currency: 'GBP' });
      if (FUNDS[who]) await fund(account, FUNDS[who]);
      accounts[who] = { owner, account, number };
    }
    await setUpOn(START);
    lastSweep = clock.at;
  });

  afterAll(async () => {
    await app?.close();
    await t?.cleanup();
  });

  it('runs the sweep day by day from November 2027 to March 2029', async () => {
    const started = Date.now();
    for (let day = START; day <= END; day = plusDays(day, 1)) {
      if (isDown(day)) continue;
      if (ACTIONS[day]) await ACTIONS[day]();
      for (const topUp of TOP_UPS)
        if (topUp.day === day) await fund(accounts[topUp.who].account, topUp.amount);
      if (day !== START) {
        clock.at = Math.max(lastSweep, londonTime(day, 0, 5));
        await setUpOn(day);
      }
      if (day === KILL_DAY) await killedSweep(day);
      else await sweepDay(day);
    }
    // Whatever the last day left open (a retry, a crash) is swept the same day, as the scheduler would.
    for (let round = 0; round < 5; round++) {
      const counts = await sweepAt(lastSweep + 61 * 60_000);
      if (Object.values(counts).every((n) => n === 0)) break;
    }
    const open = await db.query(
      `SELECT count(*)::int AS n FROM payments.payments WHERE status IN ('processing', 'retrying')`,
    );
    expect(open.rows[0].n).toBe(0);
    // The run did what it is for.
    expect(stats.crashes).toBeGreaterThanOrEqual(10);
    expect(stats.restartsAfterCrash).toBeGreaterThanOrEqual(1);
    stats.runMs = Date.now() - started;
  }, 600_000);

  /** The test's expectation for one standing order: its occurrences up to the last day swept. */
  const lastDay = () => bankDate(lastSweep);
  function expectedOccurrences(spec: OrderSpec) {
    const out: {
      n: number;
      due_date: string;
      pay_on: string;
      status: string;
      failure_reason: string | null;
    }[] = [];
    let failedInARow = 0;
    let resumed = false;
    for (let n = 0; ; n++) {
      const due = nominal(spec.start, spec.frequency, n);
      if (spec.count !== undefined && n >= spec.count) break;
      if (spec.end !== undefined && due > spec.end) break;
      if (due > lastDay() || (spec.cancelOn && due >= spec.cancelOn)) break;
      if (failedInARow >= MAX_CONSECUTIVE_FAILURES) {
        // Suspended: no further date is scheduled, until the customer resumes the order; the dates before
        // that are missed (no payment), and still count.
        if (spec.resumeOn === undefined || resumed || spec.resumeOn > lastDay()) break;
        if (payDay(due) < spec.resumeOn) continue;
        resumed = true;
        failedInARow = 0;
      }
      const payOn = payDay(due);
      const reason = spec.fails?.(n, payOn);
      const status = reason ? 'failed' : payOn > lastDay() ? 'pending' : 'paid';
      failedInARow = reason ? failedInARow + 1 : 0;
      out.push({ n, due_date: due, pay_on: payOn, status, failure_reason: reason ?? null });
    }
    return out;
  }
  const paymentsOf = async (orderId: string) =>
    (
      await db.query(
        `SELECT id, order_id, n, due_date::text, pay_on::text, status, attempts, failure_reason, late, amount,
                from_account_id, transaction_id
           FROM payments.payments WHERE order_id = $1 ORDER BY due_date`,
        [orderId],
      )
    ).rows as PaymentRow[];

  it('has exactly one payments row per occurrence, with the outcome each date should have', async () => {
    let total = 0;
    for (const spec of orders) {
      const rows = await paymentsOf(orderIds.get(spec.tag)!);
      const expected = expectedOccurrences(spec);
      expect({
        tag: spec.tag,
        rows: rows.map(({ n, due_date, pay_on, status, failure_reason }) => ({
          n,
          due_date,
          pay_on,
          status,
          failure_reason,
        })),
      }).toEqual({ tag: spec.tag, rows: expected });
      for (const row of rows) {
        const attempts = {
          paid: 1,
          pending: 0,
          failed: row.failure_reason === 'insufficient_funds' ? 1 + RETRIES : 1,
        };
        expect({ tag: spec.tag, due: row.due_date, attempts: row.attempts }).toEqual({
          tag: spec.tag,
          due: row.due_date,
          attempts: attempts[row.status as keyof typeof attempts],
        });
      }
      total += rows.length;
    }
    for (const spec of SCHEDULED) {
      const rows = await paymentsOf(scheduledIds.get(spec.tag)!);
      expect(
        rows.map(({ due_date, pay_on, status, failure_reason }) => ({
          due_date,
          pay_on,
          status,
          failure_reason,
        })),
      ).toEqual([
        {
          due_date: spec.payOn,
          pay_on: payDay(spec.payOn),
          status: spec.fails ? 'failed' : 'paid',
          failure_reason: spec.fails ?? null,
        },
      ]);
      total++;
    }
    const all = await db.query(`SELECT count(*)::int AS n FROM payments.payments`);
    expect(all.rows[0].n).toBe(total);
    expect(total).toBeGreaterThan(300);
    process.stdout.write(`payments schedule: ${total} payments\n`);
  });

  it('pays dates by hand: month ends, 29 February, weekends and holidays', async () => {
    const dates = async (tag: string) =>
      (await paymentsOf(orderIds.get(tag)!)).map((r) => [r.due_date, r.pay_on]);
    expect((await dates('alice-31st')).slice(0, 6)).toEqual([
      ['2028-01-31', '2028-01-31'],
      ['2028-02-29', '2028-02-29'],
      ['2028-03-31', '2028-03-31'],
      ['2028-04-30', '2028-05-02'], // a Sunday, then the May Day holiday
      ['2028-05-31', '2028-05-31'],
      ['2028-06-30', '2028-06-30'],
    ]);
    expect((await dates('alice-31st')).slice(-1)).toEqual([['2029-02-28', '2029-02-28']]);
    expect(await dates('carol-month-ends')).toEqual([
      ['2027-12-31', '2027-12-31'],
      ['2028-01-31', '2028-01-31'],
      ['2028-02-29', '2028-02-29'],
      ['2028-03-31', '2028-03-31'],
      ['2028-04-30', '2028-05-02'],
      ['2028-05-31', '2028-05-31'],
      ['2028-06-30', '2028-06-30'],
      ['2028-07-31', '2028-07-31'],
      ['2028-08-31', '2028-08-31'],
      ['2028-09-30', '2028-10-02'],
      ['2028-10-31', '2028-10-31'],
    ]);
    expect(await dates('bob-leap-quarter')).toEqual([
      ['2028-02-29', '2028-02-29'],
      ['2028-05-29', '2028-05-30'], // the spring holiday
      ['2028-08-29', '2028-08-29'],
      ['2028-11-29', '2028-11-29'],
      ['2029-02-28', '2029-02-28'],
    ]);
    expect(await dates('alice-insurance')).toEqual([
      ['2028-02-29', '2028-02-29'],
      ['2029-02-28', '2029-02-28'],
    ]);
    // Christmas Day on a Saturday: the bank's 27th and 28th are holidays.
    expect((await dates('bob-christmas')).slice(0, 2)).toEqual([
      ['2027-12-25', '2027-12-29'],
      ['2028-01-25', '2028-01-25'],
    ]);
    expect((await dates('bob-new-year')).slice(0, 1)).toEqual([['2028-01-01', '2028-01-04']]);
    expect((await dates('carol-good-friday')).slice(0, 2)).toEqual([
      ['2028-04-14', '2028-04-18'], // Good Friday, the weekend, Easter Monday
      ['2028-05-14', '2028-05-15'],
    ]);
    // Downtime: 29 February 2028 was first tried on 9 March.
    const leap = (await paymentsOf(orderIds.get('bob-leap-quarter')!))[0];
    expect(leap).toMatchObject({ due_date: '2028-02-29', status: 'paid', late: true });
  });

  it('posts exactly one ledger entry per paid payment, under its key, and none for the others', async () => {
    const rows = (
      await db.query(
        `SELECT p.id, p.source, p.status, p.amount::int AS amount, p.from_account_id, p.transaction_id,
                y.type AS payee_type, y.account_id AS payee_account_id,
                (SELECT count(*) FROM transactions.idempotency_keys k
                  WHERE k.key = 'payment payment:' || p.order_id || ':' || p.due_date)::int AS keys,
                (SELECT k.entry_id FROM transactions.idempotency_keys k
                  WHERE k.key = 'payment payment:' || p.order_id || ':' || p.due_date) AS key_entry
           FROM payments.payments p JOIN payments.payees y ON y.id = p.payee_id`,
      )
    ).rows as {
      id: string;
      source: string;
      status: string;
      amount: number;
      from_account_id: string;
      transaction_id: string | null;
      payee_type: string;
      payee_account_id: string | null;
      keys: number;
      key_entry: string | null;
    }[];
    const entries = new Map(
      (
        await db.query(
          `SELECT e.id, e.kind, e.debit_account_id, e.credit_account_id, e.amount::int AS amount,
                  c.system_code AS credit_system_code
             FROM transactions.entries e JOIN transactions.ledger_accounts c ON c.id = e.credit_account_id
            WHERE e.kind IN ('standing_order', 'scheduled_payment')`,
        )
      ).rows.map((e: { id: string }) => [e.id, e]),
    );
    const paid = rows.filter((r) => r.status === 'paid');
    expect(entries.size).toBe(paid.length);
    expect(new Set(paid.map((r) => r.transaction_id)).size).toBe(paid.length);
    for (const r of rows) {
      if (r.status !== 'paid') {
        // A failed date's key is spent (voided: no entry, and none can ever be posted under it); no other
        // unpaid one has a key (refusals are not kept).
        expect({ id: r.id, keys: r.keys, key_entry: r.key_entry, transaction_id: r.transaction_id }).toEqual({
          id: r.id,
          keys: r.status === 'failed' ? 1 : 0,
          key_entry: null,
          transaction_id: null,
        });
        continue;
      }
      expect({ id: r.id, keys: r.keys, key_entry: r.key_entry }).toEqual({
        id: r.id,
        keys: 1,
        key_entry: r.transaction_id,
      });
      expect(entries.get(r.transaction_id!)).toEqual({
        id: r.transaction_id,
        kind: r.source,
        debit_account_id: r.from_account_id,
        credit_account_id: r.payee_type === 'internal' ? r.payee_account_id : expect.any(String),
        amount: r.amount,
        credit_system_code: r.payee_type === 'internal' ? null : 'outbound_clearing',
      });
    }
  });

  it('paid each crashed payment once: the next sweep replayed the posting the dead worker made', async () => {
    let crashes = 0;
    for (const [key, history] of calls) {
      const first = history.findIndex((c) => c.crashed);
      if (first < 0) continue;
      crashes += history.filter((c) => c.crashed).length;
      const posted = history[first].result;
      if (posted.outcome !== 'posted') throw new Error(`${key}: a crash without a posting`);
      const later = history.slice(first + 1);
      expect(later.length).toBeGreaterThan(0);
      for (const call of later) expect(call.result).toEqual({ ...posted, replayed: true });
      if (later[later.length - 1].day > history[first].day) stats.replayedNextDayOrLater++;
      expect((await byKey(key))[0]).toMatchObject({ status: 'paid', transaction_id: posted.transaction_id });
    }
    expect(crashes).toBe(stats.crashes);
    // Some replays came a day or a downtime later (the crash before each downtime, at least).
    expect(stats.replayedNextDayOrLater).toBeGreaterThanOrEqual(CRASH_BEFORE_DOWNTIME.length);
  });

  it('pays missed dates oldest first, each flagged late when first tried after its paying day', async () => {
    let lateOnes = 0;
    for (const spec of orders) {
      const rows = (await paymentsOf(orderIds.get(spec.tag)!)).filter((r) => r.status !== 'pending');
      for (const row of rows) {
        const key = `payment:${row.order_id}:${row.due_date}`;
        const history = calls.get(key) ?? [];
        if (!history.length) throw new Error(`${spec.tag} ${row.due_date}: ${row.status} and never tried`);
        const tried = history.map((c) => `${c.day}${c.crashed ? ' (died)' : ''}`);
        expect({ tag: spec.tag, due: row.due_date, pay_on: row.pay_on, tried, late: row.late }).toEqual({
          tag: spec.tag,
          due: row.due_date,
          pay_on: row.pay_on,
          tried,
          late: history[0].day > row.pay_on,
        });
        // A paying day the service was down for: late, however it went.
        if (isDown(row.pay_on))
          expect({ tag: spec.tag, due: row.due_date, late: row.late }).toMatchObject({ late: true });
        if (row.late) lateOnes++;
      }
      // Oldest first: the payer's postings come in the order of the due dates.
      const { rows: versions } = await db.query(
        `SELECT p.due_date::text, po.account_version::int AS version
           FROM payments.payments p
           JOIN transactions.postings po ON po.entry_id = p.transaction_id AND po.account_id = p.from_account_id
          WHERE p.order_id = $1 ORDER BY p.due_date`,
        [orderIds.get(spec.tag)],
      );
      const order = versions.map((v: { version: number }) => v.version);
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
    expect(lateOnes).toBeGreaterThan(30);
  });

  it('leaves each order in the state its dates call for, and every balance where the payments put it', async () => {
    const moved = new Map<string, number>();
    const add = (account: string, amount: number) => moved.set(account, (moved.get(account) ?? 0) + amount);
    let external = 0;
    for (const spec of orders) {
      const occurrences = expectedOccurrences(spec);
      const rows = await paymentsOf(orderIds.get(spec.tag)!);
      for (const r of rows.filter((x) => x.status === 'paid')) {
        add(accounts[spec.payer].account, -spec.amount);
        if (spec.payee.startsWith('ext:')) external += spec.amount;
        else add(accounts[spec.payee as Customer].account, spec.amount);
        expect(Number(r.amount)).toBe(spec.amount);
      }
      // The next occurrence: after the last one scheduled (a resumed order's missed dates have no row).
      const n = occurrences.length ? occurrences[occurrences.length - 1].n + 1 : 0;
      const next = nominal(spec.start, spec.frequency, n);
      const more =
        (spec.count === undefined || n < spec.count) && (spec.end === undefined || next <= spec.end);
      let failedInARow = 0;
      for (const o of occurrences)
        failedInARow = o.status === 'failed' ? failedInARow + 1 : o.status === 'paid' ? 0 : failedInARow;
      const status =
        failedInARow >= MAX_CONSECUTIVE_FAILURES
          ? 'suspended'
          : spec.cancelOn
            ? 'cancelled'
            : !more && occurrences.every((o) => o.status !== 'pending')
              ? 'completed'
              : 'active';
      const { rows: order } = await db.query(
        `SELECT status, next_n, next_payment_date::text, payments_made, consecutive_failures
           FROM payments.standing_orders WHERE id = $1`,
        [orderIds.get(spec.tag)],
      );
      expect({ tag: spec.tag, ...order[0] }).toEqual({
        tag: spec.tag,
        status,
        next_n: status === 'suspended' || status === 'cancelled' ? expect.any(Number) : n,
        next_payment_date: status === 'active' ? next : null,
        payments_made: occurrences.filter((o) => o.status === 'paid').length,
        consecutive_failures: failedInARow,
      });
    }
    for (const spec of SCHEDULED) {
      const { rows } = await db.query(`SELECT status FROM payments.scheduled_payments WHERE id = $1`, [
        scheduledIds.get(spec.tag),
      ]);
      expect({ tag: spec.tag, status: rows[0].status }).toEqual({
        tag: spec.tag,
        status: spec.fails ? 'failed' : 'paid',
      });
      if (spec.fails) continue;
      add(accounts[spec.payer].account, -spec.amount);
      if (spec.payee.startsWith('ext:')) external += spec.amount;
      else add(accounts[spec.payee as Customer].account, spec.amount);
    }
    for (const who of Object.keys(FUNDS) as Customer[]) {
      const { account } = accounts[who];
      const deposits = FUNDS[who] + TOP_UPS.filter((u) => u.who === who).reduce((s, u) => s + u.amount, 0);
      const { rows } = await db.query(
        `SELECT balance::int AS balance, status FROM transactions.ledger_accounts WHERE id = $1`,
        [account],
      );
      expect({ who, ...rows[0] }).toEqual({
        who,
        balance: deposits + (moved.get(account) ?? 0),
        status: 'active',
      });
    }
    const clearing = await db.query(
      `SELECT coalesce(sum(balance), 0)::int AS total FROM transactions.ledger_accounts
        WHERE system_code = 'outbound_clearing' AND currency = 'GBP'`,
    );
    expect(clearing.rows[0].total).toBe(external);
  });

  it('recorded each outcome once: one payment.executed per paid payment, one payment.failed per failed one', async () => {
    const { rows } = await db.query(
      `SELECT o.name, count(*)::int AS events, count(DISTINCT o.payload->>'payment_id')::int AS payments,
              count(*) FILTER (WHERE o.payload ? 'late' AND (o.payload->>'late')::boolean <> p.late)::int AS late_differs
         FROM payments.outbox o JOIN payments.payments p ON p.id = (o.payload->>'payment_id')::uuid
        GROUP BY o.name ORDER BY o.name`,
    );
    const { rows: counts } = await db.query(
      `SELECT count(*) FILTER (WHERE p.status = 'paid')::int AS paid,
              count(*) FILTER (WHERE p.status = 'failed')::int AS failed,
              count(*) FILTER (WHERE p.status = 'paid' AND y.type = 'external')::int AS sent
         FROM payments.payments p JOIN payments.payees y ON y.id = p.payee_id`,
    );
    const { paid, failed, sent } = counts[0];
    expect(rows).toEqual([
      { name: 'payment.executed', events: paid, payments: paid, late_differs: 0 },
      { name: 'payment.failed', events: failed, payments: failed, late_differs: 0 },
      { name: 'payment.sent', events: sent, payments: sent, late_differs: 0 },
    ]);
  });

  it('leaves a ledger that verifies clean', async () => {
    await expect(app.get(LedgerVerifyService).verify()).resolves.toMatchObject({ ok: true, mismatches: [] });
    // For the record (the run's figures).
    process.stdout.write(
      `payments schedule: seed ${SEED}, ${stats.sweeps} sweeps, ${stats.crashes} crashes, ${stats.restarts} restarts, ` +
        `${stats.replayedNextDayOrLater} replays a day or more later; the run ${stats.runMs} ms, ` +
        `of which the killed sweep and its recovery ${stats.killedSweepMs} ms\n`,
    );
  });

  // Last: it ages the run's keys.
  it("forgets order creations' Idempotency-Keys after IDEMPOTENCY_RETENTION_HOURS, never the ledger's payment keys", async () => {
    const created = orderIds.size + scheduledIds.size;
    const count = async (sql: string) => (await db.query(sql)).rows[0].n as number;
    const ledgerKeys = `SELECT count(*)::int AS n FROM transactions.idempotency_keys WHERE key LIKE 'payment %'`;
    const paymentKeys = await count(ledgerKeys);
    expect(await count(`SELECT count(*)::int AS n FROM payments.idempotency_keys`)).toBe(created);
    await db.query(`UPDATE payments.idempotency_keys SET created_at = now() - interval '49 hours'`);
    await db.query(
      `UPDATE transactions.idempotency_keys SET created_at = now() - interval '400 days' WHERE key LIKE 'payment %'`,
    );
    const removed = await app.get(IdempotencyRetention).prune();
    expect(removed['payments.idempotency_keys']).toBe(created);
    expect(await count(`SELECT count(*)::int AS n FROM payments.idempotency_keys`)).toBe(0);
    expect(await count(ledgerKeys)).toBe(paymentKeys);
  });
});
