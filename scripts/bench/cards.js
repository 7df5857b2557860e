#!/usr/bin/env node
/**
 * `npm run bench:cards -- [seconds=15] [clients=32] [--split] [--pool=N] [--url=http://...]`: how fast,
 * and how quickly, the issuer answers the card network's authorisations, against how fast the same app
 * moves money by POST /transactions, in the same run. A benchmark, not a test: it prints figures and
 * never fails on one; it fails on a broken setup, an authorisation answered other than 200, or a ledger
 * that does not verify.
 *
 * Without --url it needs dist/ (`npm run build`) and starts the monolith (with --split, the split apps
 * behind the edge) on a scratch database, Redis prefix, RabbitMQ prefix, JWT keys and card keys, removed
 * afterwards even on error or Ctrl-C, with a database pool of --pool (20; split: for transactions and
 * cards, 6 for accounts and auth, 3 for the others). With --url it measures that deployment: ADMIN_EMAIL,
 * ADMIN_PASSWORD, CARD_NETWORK_SECRET and DATABASE_URL from the environment; its data stay there.
 *
 * Setup through the API: `clients` customers, two funded GBP accounts each, and one virtual card on the
 * first (POST /cards answers its number and CVC once). Then, each `seconds` long from `clients` concurrent
 * keep-alive loops after a 2 s warm-up not counted: the uniform transfer mix of bench:transfers; the
 * authorisation mix, loop i as card i, signed POST /card-network/authorisations of 1 to 100 pence at one
 * of a few merchants (contactless, no CVC: a card-present payment); the clearing mix, signed POST
 * /card-network/clearings of the approved authorisations, oldest first, each for the amount authorised
 * (the loops share one queue of them; an empty queue ends a loop early and is printed); the transfer mix
 * again.
 */
const { createHmac, randomBytes, randomInt } = require('node:crypto');
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
const seconds = Number(positional[0] ?? 15);
const clients = Number(positional[1] ?? 32);
const poolSize = Number(flag('pool') ?? 20);
const SPLIT_POOLS = { small: 6, others: 3 };
const SETUP_CONCURRENCY = 8;
const WARMUP_MS = 2000;
const MERCHANTS = [
  { name: 'Starbucks', category_code: '5814', city: 'London', country: 'GB' },
  { name: 'Tesco', category_code: '5411', city: 'Leeds', country: 'GB' },
  { name: 'TfL', category_code: '4111', city: 'London', country: 'GB' },
  { name: 'Boots', category_code: '5912', city: 'Bristol', country: 'GB' },
];
const run = Date.now().toString(36);

const say = (line) => process.stdout.write(`${line}\n`);
const runs = scratchRuns('cards');
const stopped = () => runs.interrupted;

/** The network's signature header over POST `path` with exactly `payload` (libs/cards/src/network/signature.ts). */
function sign(secret, path, payload) {
  const t = Math.floor(Date.now() / 1000);
  return `t=${t},v2=${createHmac('sha256', secret).update(`${t}.POST ${path}.${payload}`).digest('hex')}`;
}

/** Customers with their funded accounts, each with a card on its first account (number, expiry, CVC). */
async function setup(api, admin) {
  const t = Date.now();
  const customers = await setupCustomers(api, {
    admin,
    tag: 'cards',
    count: clients,
    accountsPerCustomer: 2,
    concurrency: SETUP_CONCURRENCY,
    stopped,
  });
  const cards = await pool(
    customers,
    SETUP_CONCURRENCY,
    (c) =>
      api.call('POST', '/cards', {
        token: c.token,
        body: { account_id: c.accounts[0].id, type: 'virtual' },
        status: 201,
        what: 'issue card',
      }),
    stopped,
  );
  say(
    `setup: ${clients} customers, ${2 * clients} accounts funded, ${cards.length} cards, in ${((Date.now() - t) / 1000).toFixed(1)} s`,
  );
  return { customers, cards };
}

/** The authorisation mix: loop i pays with card i (modulo), a fresh network id each time. */
function authorisations(api, cards, secret) {
  let n = 0;
  return (i) => {
    const card = cards[i % cards.length];
    const payload = JSON.stringify({
      network_transaction_id: `bench-${run}-${n++}`,
      pan: card.pan,
      expiry_month: card.expiry_month,
      expiry_year: card.expiry_year,
      amount: randomInt(1, 101),
      currency: 'GBP',
      merchant: MERCHANTS[randomInt(MERCHANTS.length)],
      channel: 'contactless',
    });
    return api.request('POST', '/card-network/authorisations', {
      payload,
      headers: { 'x-card-network-signature': sign(secret, '/card-network/authorisations', payload) },
    });
  };
}

/** The clearing mix: the loops take the next approved authorisation from one queue and clear it in full. */
function clearings(api, pending, secret) {
  let n = 0;
  return async (i) => {
    const next = pending.shift();
    if (!next) {
      // Nothing left to clear: this loop idles (a pause, not a spin) until the mix ends.
      await new Promise((resolve) => setTimeout(resolve, 100));
      return { status: 'queue empty', arrayBuffer: async () => undefined };
    }
    const payload = JSON.stringify({
      network_transaction_id: `bench-${run}-clear-${i}-${n++}`,
      authorisation_id: next.id,
      amount: next.amount,
      currency: next.currency,
    });
    return api.request('POST', '/card-network/clearings', {
      payload,
      headers: { 'x-card-network-signature': sign(secret, '/card-network/clearings', payload) },
    });
  };
}

async function measure(base, databaseUrl, secret) {
  const api = httpClient(base, { maxSockets: clients + SETUP_CONCURRENCY + 1 });
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const admin = await runs.guard(api.adminToken({ waitMs: target ? 0 : 60000, stopped }));
    const { customers, cards } = await setup(api, admin);
    const load = { clients, seconds, warmupMs: WARMUP_MS, stopped };
    const transfers = uniformTransfers(api, customers);
    await outboxDrained(db, { stopped });
    const before = await drive(transfers, load);
    await outboxDrained(db, { stopped });
    const started = new Date();
    const auths = await drive(authorisations(api, cards, secret), { ...load, ok: 200 });
    const decisions = (
      await db.query(
        `SELECT status, decline_reason, count(*)::int AS n FROM cards.authorisations
          WHERE created_at >= $1 GROUP BY 1, 2 ORDER BY 3 DESC`,
        [started],
      )
    ).rows;
    await outboxDrained(db, { schema: 'cards', stopped });
    await outboxDrained(db, { stopped });
    const pending = (
      await db.query(
        `SELECT id, amount::int AS amount, currency FROM cards.authorisations
          WHERE created_at >= $1 AND status = 'pending' ORDER BY created_at, id`,
        [started],
      )
    ).rows;
    const cleared = await drive(clearings(api, pending, secret), { ...load, ok: 200 });
    await outboxDrained(db, { schema: 'cards', stopped });
    await outboxDrained(db, { stopped });
    const after = await drive(transfers, load);
    const verify = await api.call('GET', '/admin/ledger/verify', { token: admin, what: 'ledger verify' });
    return {
      transfers: { before, after, rate: (before.rate + after.rate) / 2 },
      auths,
      cleared,
      decisions,
      verify,
    };
  } finally {
    await db.end();
    api.agent.destroy();
  }
}

function report(label, { transfers, auths, cleared, decisions, verify }) {
  const line = (name, r, unit) => {
    const l = r.latencies;
    say(
      `  ${name.padEnd(34)}${`${r.rate.toFixed(1)}/s`.padStart(10)}  p50 ${ms(pct(l, 50))}  p95 ${ms(pct(l, 95))}  ` +
        `p99 ${ms(pct(l, 99))}  ${JSON.stringify(r.statuses)} ${unit}`,
    );
  };
  say(`\n${label}, ${clients} clients x ${seconds} s each`);
  line('transfers before (POST /transactions)', transfers.before, '');
  line('authorisations (signed, approved)', auths, '');
  line('clearings (signed, in full)', cleared, '');
  line('transfers after', transfers.after, '');
  say(`  ${'transfers (mean of the two)'.padEnd(34)}${`${transfers.rate.toFixed(1)}/s`.padStart(10)}`);
  say(
    `  ${'ratio authorisations/transfers'.padEnd(34)}${(auths.rate / transfers.rate).toFixed(2).padStart(10)}`,
  );
  say(
    `  decisions: ${decisions.map((d) => `${d.n} ${d.status}${d.decline_reason ? ` (${d.decline_reason})` : ''}`).join(', ')}\n` +
      `  ledger verify ${verify.ok ? 'ok' : `NOT ok (${verify.mismatches.length} mismatches)`} ` +
      `(${verify.checked_entries} entries, ${verify.checked_accounts} accounts)`,
  );
  const problems = [];
  const other = Object.keys(auths.statuses).filter((s) => s !== '200');
  if (other.length) problems.push(`authorisations answered ${other.join(', ')}`);
  const unclear = Object.keys(cleared.statuses).filter((s) => s !== '200' && s !== 'queue empty');
  if (unclear.length) problems.push(`clearings answered ${unclear.join(', ')}`);
  if (!verify.ok) problems.push('the ledger does not verify');
  return problems;
}

async function main() {
  if (!(seconds > 0 && Number.isInteger(clients) && clients >= 1 && poolSize >= 1))
    throw new Stop('usage: cards.js [seconds > 0] [clients >= 1] [--split] [--pool=N] [--url=...]');
  runs.listen();
  let label;
  let started;
  let secret;
  if (target) {
    const need = ['ADMIN_EMAIL', 'ADMIN_PASSWORD', 'CARD_NETWORK_SECRET', 'DATABASE_URL'];
    if (need.some((n) => !process.env[n])) throw new Stop(`with --url, set ${need.join(', ')}`);
    label = target;
    secret = process.env.CARD_NETWORK_SECRET.split(',')[0].trim();
    started = async () => ({ base: target, databaseUrl: process.env.DATABASE_URL });
  } else {
    const missing = runs.missing();
    if (missing.length) throw new Stop(`dist/ lacks ${missing.join(', ')}: run \`npm run build\` first`);
    process.env.ADMIN_EMAIL = `admin.${run}@protobank.test`;
    process.env.ADMIN_PASSWORD = 'a-bench-admin-passphrase';
    secret = `bench-${randomBytes(16).toString('hex')}`;
    const env = {
      DATABASE_POOL_SIZE: String(poolSize),
      CARD_NETWORK_SECRET: secret,
      CARD_DATA_KEY: randomBytes(32).toString('base64'),
    };
    const appEnv = {};
    if (kind === 'split') {
      env.DATABASE_POOL_SIZE = String(SPLIT_POOLS.others);
      for (const app of ['transactions', 'cards']) appEnv[app] = { DATABASE_POOL_SIZE: String(poolSize) };
      for (const app of ['accounts', 'auth']) appEnv[app] = { DATABASE_POOL_SIZE: String(SPLIT_POOLS.small) };
    }
    const pools =
      kind === 'split'
        ? `transactions and cards ${poolSize}, accounts and auth ${SPLIT_POOLS.small}, others ${SPLIT_POOLS.others}`
        : String(poolSize);
    label = `${kind} (DATABASE_POOL_SIZE ${pools})`;
    started = () => runs.start(kind, env, appEnv);
  }
  say(`bench:cards: ${label}`);
  const result = await runs.once(() =>
    started().then(({ base, databaseUrl }) => measure(base, databaseUrl, secret)),
  );
  const problems = report(label, result);
  say(
    '\nhow: each mix counts the answers completed in its `seconds` after a 2 s warm-up, from `clients`\n' +
      '  keep-alive loops; latency is request to last byte at the client. An authorisation is the signature\n' +
      "  check, the card's checks and one ledger call that places the hold under the account's row lock;\n" +
      '  a clearing one ledger call that posts the amount and releases the hold. "queue empty": the\n' +
      '  clearing loops ran out of authorisations to clear before the end of their mix (its rate is then low).',
  );
  if (problems.length) throw new Stop(problems.join('; '));
}

runs.exit(main());
