#!/usr/bin/env node
/**
 * `npm run bench:payments -- [orders=10000] [transferSeconds=15] [clients=32] [--split] [--pool=N]
 * [--url=http://...]`: how fast the due sweep pays standing orders that all fall due at once, against
 * how fast the same app moves money by POST /transactions, in the same run. A benchmark, not a test: it
 * prints figures and never fails on one; it fails on a broken setup, or when a payment ends other than
 * paid, an order made other than one payment, or the ledger does not verify.
 *
 * Without --url it needs dist/ (`npm run build`) and starts the monolith (with --split, the split apps
 * behind the edge) on a scratch database, Redis prefix, RabbitMQ prefix and JWT keys, removed afterwards
 * even on error or Ctrl-C, with BANK_WEEKEND=none (today is a paying day) and a database pool of --pool
 * (20) for the monolith; split, for transactions and payments, with 6 for accounts and auth and 3 for the
 * others (eight pools share Postgres's 100 connections). It prints the configuration it used. With
 * --url it measures that deployment: ADMIN_EMAIL, ADMIN_PASSWORD and DATABASE_URL (the SQL below) from the
 * environment; its data stay there, and today must be a paying day there.
 *
 * Setup through the API: ceil(orders / 100) customers (100 active standing orders each at most), two
 * funded GBP accounts each, up to 4 internal payees each (another customer's account; payee creation is
 * limited to 30 an hour a user), and `orders` monthly standing orders starting tomorrow, spread evenly.
 * Then `clients` loops run the uniform transfer mix of bench:transfers for `transferSeconds` (after a 2 s
 * warm-up not counted), once before the drain and once after it. The drain starts with the one shortcut:
 * a single SQL UPDATE moves every order's start and next payment date to today (the API takes no past
 * dates, and waiting for midnight is not a benchmark), and the clock starts. POST
 * /admin/payments/run-due asks for a sweep (the every-minute job scheduler may start one first: either
 * way, one sweep at a time pays them), and payments.payments is polled until none is pending or
 * processing.
 */
const { randomInt } = require('node:crypto');
const { Client } = require('pg');
const { Stop, httpClient } = require('./lib/http');
const { drive, ms, outboxDrained, pct, pool, setupCustomers, uniformTransfers } = require('./lib/load');
const { scratchRuns } = require('./lib/scratch');

const args = process.argv.slice(2);
const flag = (name) =>
  new RegExp(`^--${name}=(.+)$`).exec(args.find((a) => a.startsWith(`--${name}=`)) ?? '')?.[1];
const target = flag('url')?.replace(/\/+$/, '');
const kind = args.includes('--split') ? 'split' : 'monolith';
const positional = args.filter((a) => !a.startsWith('--'));
const orders = Number(positional[0] ?? 10000);
const seconds = Number(positional[1] ?? 15);
const clients = Number(positional[2] ?? 32);
const poolSize = Number(flag('pool') ?? 20);
const SPLIT_POOLS = { small: 6, others: 3 };
const ORDERS_PER_CUSTOMER = 100; // MAX_STANDING_ORDERS
const PAYEES_PER_CUSTOMER = 4;
const SETUP_CONCURRENCY = 8;
const WARMUP_MS = 2000;
const POLL_MS = 200;
/** No payment settled for this long: the sweep is stuck (or today is not a paying day). */
const STALL_MS = 120000;
const TIME_ZONE = process.env.BANK_TIME_ZONE || 'Europe/London';
const run = Date.now().toString(36);

const say = (line) => process.stdout.write(`${line}\n`);
const sleep = (n) => new Promise((r) => setTimeout(r, n));
const secs = (n) => `${(n / 1000).toFixed(1)} s`;

const runs = scratchRuns('payments');
const stopped = () => runs.interrupted;

/** Customers, payees and `orders` standing orders starting tomorrow; times each step. */
async function setup(api, admin, tomorrow) {
  let t = Date.now();
  const count = Math.max(2, Math.ceil(orders / ORDERS_PER_CUSTOMER));
  const customers = await setupCustomers(api, {
    admin,
    tag: 'payments',
    count,
    accountsPerCustomer: 2,
    concurrency: SETUP_CONCURRENCY,
    stopped,
  });
  say(`setup: ${count} customers, ${2 * count} accounts funded, in ${secs(Date.now() - t)}`);
  t = Date.now();
  // Customer i pays from its first account to the second accounts of the next customers round the ring.
  const perCustomer = Math.min(PAYEES_PER_CUSTOMER, count - 1, Math.ceil(orders / count));
  const payees = await pool(
    customers,
    SETUP_CONCURRENCY,
    async (c, i) => {
      const mine = [];
      for (let k = 0; k < perCustomer; k++) {
        const to = customers[(i + 1 + k) % count].accounts[1];
        const body = { name: `Bench payee ${k}`, sort_code: to.sort_code, account_number: to.account_number };
        mine.push(
          (await api.call('POST', '/payees', { token: c.token, body, status: 201, what: 'save payee' })).id,
        );
      }
      return mine;
    },
    stopped,
  );
  say(`       ${count * perCustomer} payees in ${secs(Date.now() - t)}`);
  t = Date.now();
  // Order j is customer j % count's: neighbours in the list belong to different customers, whose
  // creations do not queue on one another's lock.
  await pool(
    Array.from({ length: orders }, (_, j) => j),
    SETUP_CONCURRENCY,
    (j) => {
      const i = j % count;
      const body = {
        from_account_id: customers[i].accounts[0].id,
        payee_id: payees[i][Math.floor(j / count) % perCustomer],
        amount: randomInt(1, 101),
        currency: 'GBP',
        reference: `BENCH ${j}`,
        frequency: 'monthly',
        start_date: tomorrow,
      };
      const created = {
        token: customers[i].token,
        idempotent: true,
        body,
        status: 201,
        what: 'standing order',
      };
      return api.call('POST', '/standing-orders', created);
    },
    stopped,
  );
  say(`       ${orders} standing orders (monthly, from ${tomorrow}) in ${secs(Date.now() - t)}`);
  return customers;
}

/**
 * The shortcut, then the drain: every order due today in one UPDATE (its clock_timestamp() is the start),
 * a staff sweep asked for, and payments.payments polled until none is pending or processing.
 */
async function drain(api, db, admin, owners, today) {
  const [{ n, at }] = (
    await db.query(
      `WITH due AS (
         UPDATE payments.standing_orders SET start_date = $1, next_payment_date = $1, updated_at = now()
          WHERE owner_id = ANY($2::uuid[]) AND status = 'active' RETURNING id)
       SELECT count(*)::int AS n, clock_timestamp() AS at FROM due`,
      [today, owners],
    )
  ).rows;
  if (n !== orders) throw new Stop(`made ${n} of ${orders} standing orders due: some were not active`);
  const started = Date.now();
  const sweep = { answered: undefined, seconds: undefined, error: undefined };
  const asked = api
    .call('POST', '/admin/payments/run-due', { token: admin, what: 'run-due' })
    .then((counts) => Object.assign(sweep, { answered: counts }))
    .catch((err) => (sweep.error = err.message))
    .finally(() => (sweep.seconds = (Date.now() - started) / 1000));
  let last = { settled: -1 };
  let progressAt = Date.now();
  for (;;) {
    const { rows } = await db.query(
      `SELECT count(*)::int AS total,
              count(*) FILTER (WHERE status IN ('paid', 'failed', 'retrying', 'skipped'))::int AS settled,
              count(*) FILTER (WHERE pay_on > $2)::int AS later
         FROM payments.payments WHERE owner_id = ANY($1::uuid[])`,
      [owners, today],
    );
    const now = rows[0];
    if (now.later > 0)
      throw new Stop(`${now.later} payments are to be paid after ${today}: today is no paying day there`);
    if (now.total === orders && now.settled === orders) break;
    if (now.settled !== last.settled || now.total !== last.total) progressAt = Date.now();
    if (Date.now() - progressAt > STALL_MS)
      throw new Stop(
        `the sweep stalled: ${now.settled} of ${orders} payments settled (${now.total} scheduled)`,
      );
    if (stopped()) throw new Stop('interrupted');
    last = now;
    await sleep(POLL_MS);
  }
  const observed = Date.now() - started;
  await runs.guard(Promise.race([asked, sleep(30000)]));
  // updated_at is now() of the transaction that recorded the outcome; settled_at is the sweep's start.
  const { rows: statuses } = await db.query(
    `SELECT status, count(*)::int AS n, min(updated_at) AS first, max(updated_at) AS last,
            count(DISTINCT transaction_id)::int AS entries
       FROM payments.payments WHERE owner_id = ANY($1::uuid[]) GROUP BY status`,
    [owners],
  );
  const [{ wrong }] = (
    await db.query(
      `SELECT count(*)::int AS wrong FROM payments.standing_orders o
        WHERE owner_id = ANY($1::uuid[])
          AND (payments_made <> 1 OR (SELECT count(*) FROM payments.payments p WHERE p.order_id = o.id) <> 1)`,
      [owners],
    )
  ).rows;
  const first = Math.min(...statuses.map((s) => s.first.getTime()));
  const lastAt = Math.max(...statuses.map((s) => s.last.getTime()));
  return {
    at,
    first: first - at.getTime(),
    drainMs: lastAt - at.getTime(),
    observed,
    statuses,
    wrong,
    sweep,
  };
}

async function measure(base, databaseUrl) {
  const api = httpClient(base, { maxSockets: clients + SETUP_CONCURRENCY + 1 });
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const [{ today, tomorrow }] = (
      await db.query(
        `SELECT to_char((now() AT TIME ZONE $1)::date, 'YYYY-MM-DD') AS today,
                to_char((now() AT TIME ZONE $1)::date + 1, 'YYYY-MM-DD') AS tomorrow`,
        [TIME_ZONE],
      )
    ).rows;
    const admin = await runs.guard(api.adminToken({ waitMs: target ? 0 : 60000, stopped }));
    const customers = await setup(api, admin, tomorrow);

    // The mix runs before and after the drain, and transfers/s is their mean: on a shared machine the
    // load of others drifts, and bracketing the drain keeps the ratio from catching one lucky phase.
    const load = { clients, seconds, warmupMs: WARMUP_MS, stopped };
    const mix = uniformTransfers(api, customers);
    await outboxDrained(db, { stopped });
    const before = await drive(mix, load);
    await outboxDrained(db, { stopped });
    const payments = await drain(
      api,
      db,
      admin,
      customers.map((c) => c.id),
      today,
    );
    await outboxDrained(db, { schema: 'payments', stopped });
    await outboxDrained(db, { stopped });
    const after = await drive(mix, load);
    const transfers = { before, after, rate: (before.rate + after.rate) / 2 };
    const verify = await api.call('GET', '/admin/ledger/verify', { token: admin, what: 'ledger verify' });
    return { transfers, payments, verify, today };
  } finally {
    await db.end();
    api.agent.destroy();
  }
}

function report(label, { transfers, payments, verify, today }) {
  const paid = payments.statuses.find((s) => s.status === 'paid') ?? { n: 0, entries: 0 };
  const rate = (paid.n * 1000) / payments.drainMs;
  const row = (name, r, time, rest) =>
    say(`  ${name.padEnd(28)}${r.padStart(10)}  ${time.padEnd(14)}${rest}`);
  say(`\n${label}, ${orders} standing orders due ${today}, transfers ${clients} clients x ${seconds} s`);
  row('', 'rate', 'time', 'count');
  row('payments (due sweep)', `${rate.toFixed(1)}/s`, `drain ${secs(payments.drainMs)}`, `${paid.n} paid`);
  for (const [when, r] of [
    ['before', transfers.before],
    ['after', transfers.after],
  ]) {
    const l = r.latencies;
    const rest = `${r.statuses[201] || 0} x 201  p50 ${ms(pct(l, 50))}  p95 ${ms(pct(l, 95))}`;
    row(`transfers ${when} the drain`, `${r.rate.toFixed(1)}/s`, `${seconds} s`, rest);
  }
  row('transfers (uniform, HTTP)', `${transfers.rate.toFixed(1)}/s`, '', 'the mean of the two');
  row('ratio payments/transfers', (rate / transfers.rate).toFixed(2), '', '(the issue aims at >= 0.5)');
  const others = payments.statuses.filter((s) => s.status !== 'paid');
  const sweep = payments.sweep;
  say(
    `  first payment recorded ${secs(payments.first)} after the UPDATE; the poll saw the last at ${secs(payments.observed)}\n` +
      `  run-due: ${sweep.error ? `failed (${sweep.error})` : JSON.stringify(sweep.answered ?? 'no answer in 30 s after the drain')}` +
      `${sweep.seconds === undefined ? '' : ` in ${sweep.seconds.toFixed(1)} s`}\n` +
      `  transfer statuses ${JSON.stringify(transfers.before.statuses)}, ${JSON.stringify(transfers.after.statuses)}\n` +
      `  checks: payments by status ${JSON.stringify(Object.fromEntries(payments.statuses.map((s) => [s.status, s.n])))}, ` +
      `${paid.entries} distinct ledger entries, orders without exactly one payment ${payments.wrong}, ` +
      `ledger verify ${verify.ok ? 'ok' : `NOT ok (${verify.mismatches.length} mismatches)`} ` +
      `(${verify.checked_entries} entries, ${verify.checked_accounts} accounts)`,
  );
  const problems = [];
  if (others.length)
    problems.push(`payments not paid: ${others.map((s) => `${s.n} ${s.status}`).join(', ')}`);
  if (paid.entries !== paid.n) problems.push(`${paid.n} paid payments share ${paid.entries} ledger entries`);
  if (payments.wrong) problems.push(`${payments.wrong} orders made other than one payment`);
  if (!verify.ok) problems.push('the ledger does not verify');
  return problems;
}

async function main() {
  if (!(orders >= 1 && seconds > 0 && Number.isInteger(clients) && clients >= 1 && poolSize >= 1))
    throw new Stop(
      'usage: payments.js [orders >= 1] [transferSeconds > 0] [clients >= 1] [--split] [--pool=N] [--url=...]',
    );
  runs.listen();
  let label;
  let started;
  if (target) {
    if (!process.env.ADMIN_EMAIL || !process.env.ADMIN_PASSWORD || !process.env.DATABASE_URL)
      throw new Stop('with --url, set ADMIN_EMAIL, ADMIN_PASSWORD and DATABASE_URL');
    label = target;
    started = async () => ({ base: target, databaseUrl: process.env.DATABASE_URL });
  } else {
    const missing = runs.missing();
    if (missing.length) throw new Stop(`dist/ lacks ${missing.join(', ')}: run \`npm run build\` first`);
    process.env.ADMIN_EMAIL = `admin.${run}@protobank.test`;
    process.env.ADMIN_PASSWORD = 'a-bench-admin-passphrase';
    const env = { BANK_WEEKEND: 'none', BANK_HOLIDAYS: '', DATABASE_POOL_SIZE: String(poolSize) };
    // Split: eight pools share Postgres's 100 connections; the ledger and the sweep get the large ones.
    const appEnv = {};
    if (kind === 'split') {
      env.DATABASE_POOL_SIZE = String(SPLIT_POOLS.others);
      for (const app of ['transactions', 'payments']) appEnv[app] = { DATABASE_POOL_SIZE: String(poolSize) };
      for (const app of ['accounts', 'auth']) appEnv[app] = { DATABASE_POOL_SIZE: String(SPLIT_POOLS.small) };
    }
    const pools =
      kind === 'split'
        ? `transactions and payments ${poolSize}, accounts and auth ${SPLIT_POOLS.small}, others ${SPLIT_POOLS.others}`
        : String(poolSize);
    label = `${kind} (BANK_WEEKEND=none, DATABASE_POOL_SIZE ${pools})`;
    started = () => runs.start(kind, env, appEnv);
  }
  say(`bench:payments: ${label}`);
  const result = await runs.once(() => started().then(({ base, databaseUrl }) => measure(base, databaseUrl)));
  const problems = report(label, result);
  say(
    '\nhow: payments/s = payments paid / drain; drain = from the UPDATE that made every order due (its\n' +
      "  clock_timestamp()) to the last payment's recording (payments.updated_at, now() of the transaction\n" +
      '  that recorded it): one Postgres clock. It covers scheduling the payments, posting each through the\n' +
      '  ledger and recording it. transfers/s = 201s of POST /transactions per second over the uniform mix,\n' +
      '  the mean of a mix before the drain and one after it (outboxes drained in between), same app, same\n' +
      '  machine: compare the two to see how much the machine drifted meanwhile.',
  );
  if (problems.length) throw new Stop(problems.join('; '));
}

runs.exit(main());
