/** Setup and load shared by the benchmarks that drive a running app: customers, concurrent loops. */
const { randomInt } = require('node:crypto');
const { Stop } = require('./http');

const PASSWORD = 'correct horse battery staple';
const FUNDING = 100000000; // the default MAX_AMOUNT

/** Runs fn over items with at most n at a time; `stopped()` true ends it (Stop) after the calls under way. */
async function pool(items, n, fn, stopped = () => false) {
  let next = 0;
  const out = new Array(items.length);
  const worker = async () => {
    while (next < items.length && !stopped()) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  if (stopped()) throw new Stop('interrupted');
  return out;
}

/**
 * `count` customers (registered as bench.<tag>.<run>.<i>@example.com, KYC-approved by the admin), each
 * with `accountsPerCustomer` GBP current accounts funded by a staff deposit of FUNDING. Resolves to
 * [{ id, token, accounts: [account as POST /accounts answers] }].
 */
async function setupCustomers(api, { admin, tag, count, accountsPerCustomer, concurrency, stopped }) {
  const run = Date.now().toString(36);
  const customers = await pool(
    Array.from({ length: count }, (_, i) => i),
    concurrency,
    async (i) => {
      const email = `bench.${tag}.${run}.${i}@example.com`;
      const body = { email, password: PASSWORD, full_name: `Bench ${i}` };
      const user = await api.call('POST', '/auth/register', { body, status: 201, what: 'register' });
      const token = await api.login(email, PASSWORD);
      const kyc = {
        document_type: 'passport',
        // One document verifies one customer: each gets a passport number of their own.
        document_number: `P${String(randomInt(1e9)).padStart(9, '0')}`,
        country: 'GB',
        date_of_birth: '1990-04-12',
      };
      await api.call('POST', '/users/me/kyc', { token, body: kyc, status: 201, what: 'submit KYC' });
      // A decision names the submission the reviewer read (409 kyc_changed otherwise).
      const { submitted_at } = await api.call('GET', `/admin/kyc/${user.id}`, {
        token: admin,
        what: 'read KYC',
      });
      await api.call('POST', `/admin/kyc/${user.id}/approve`, {
        token: admin,
        body: { submitted_at },
        what: 'approve KYC',
      });
      const accounts = [];
      for (let a = 0; a < accountsPerCustomer; a++) {
        const opened = {
          token,
          body: { type: 'current', currency: 'GBP' },
          status: 201,
          what: 'open account',
        };
        accounts.push(await api.call('POST', '/accounts', opened));
      }
      return { id: user.id, token, accounts };
    },
    stopped,
  );
  await pool(
    customers.flatMap((c) => c.accounts),
    concurrency,
    (account) =>
      api.call('POST', '/admin/deposits', {
        token: admin,
        idempotent: true,
        body: { account_id: account.id, amount: FUNDING, currency: 'GBP', reason: 'Bench funding' },
        status: 201,
        what: 'fund account',
      }),
    stopped,
  );
  return customers;
}

/**
 * The uniform transfer mix: loop i, as customer i (modulo), POST /transactions from one of its accounts
 * to any other account of `customers`, 1 to 100 pence.
 */
function uniformTransfers(api, customers) {
  const accounts = customers.flatMap((c) => c.accounts.map((a) => a.id));
  return (i) => {
    const me = customers[i % customers.length];
    const from = me.accounts[randomInt(me.accounts.length)].id;
    let to = accounts[randomInt(accounts.length - 1)];
    if (to === from) to = accounts[accounts.length - 1];
    return api.request('POST', '/transactions', {
      token: me.token,
      idempotent: true,
      body: { from_account_id: from, to_account_id: to, amount: randomInt(1, 101), currency: 'GBP' },
    });
  };
}

/**
 * The hot customer-account mix: loop i, as customer i (modulo), POST /transactions from one of its
 * accounts to the one account `to` (not one of theirs), 1 to 100 pence.
 */
function transfersInto(api, customers, to) {
  return (i) => {
    const me = customers[i % customers.length];
    const from = me.accounts[randomInt(me.accounts.length)].id;
    return api.request('POST', '/transactions', {
      token: me.token,
      idempotent: true,
      body: { from_account_id: from, to_account_id: to, amount: randomInt(1, 101), currency: 'GBP' },
    });
  };
}

/**
 * `clients` loops calling request(i) for warmupMs + `seconds`; counts what completes in the last
 * `seconds` (as pgbench -T counts what completes in its run), so the rate is count / seconds.
 * Resolves to { rate: `ok` (201) answers per second, latencies (ms, sorted), statuses }.
 */
async function drive(request, { clients, seconds, warmupMs, stopped = () => false, ok = 201 }) {
  const now = () => process.hrtime.bigint();
  const from = now() + BigInt(warmupMs) * 1000000n;
  const until = from + BigInt(Math.round(seconds * 1e9));
  const latencies = [];
  const statuses = {};
  const loop = async (i) => {
    while (!stopped() && now() < until) {
      const started = now();
      let status;
      try {
        const res = await request(i);
        await res.arrayBuffer();
        status = res.status;
      } catch (err) {
        status = `error ${err.cause?.code ?? err.message}`;
      }
      const ended = now();
      if (ended >= from && ended <= until) {
        latencies.push(Number(ended - started) / 1e6);
        statuses[status] = (statuses[status] || 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, i) => loop(i)));
  if (stopped()) throw new Stop('interrupted');
  latencies.sort((a, b) => a - b);
  return { rate: (statuses[ok] || 0) / seconds, latencies, statuses };
}

/** Waits (up to 60 s) until the relay has published `schema`'s events, so no backlog runs into a mix. */
async function outboxDrained(db, { schema = 'transactions', stopped = () => false } = {}) {
  for (let i = 0; i < 600 && !stopped(); i++) {
    const { rows } = await db.query(
      `SELECT count(*)::int AS n FROM ${schema}.outbox WHERE published_at IS NULL`,
    );
    if (rows[0].n === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const ms = (v) => (v === undefined ? '-' : `${v.toFixed(1)} ms`);

module.exports = {
  PASSWORD,
  FUNDING,
  pool,
  setupCustomers,
  uniformTransfers,
  transfersInto,
  drive,
  outboxDrained,
  pct,
  ms,
};
