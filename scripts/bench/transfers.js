#!/usr/bin/env node
/**
 * `npm run bench:transfers -- [url] [seconds] [clients]`: how fast a running Protobank (monolith or the
 * split edge) moves money over HTTP, against how fast Postgres alone runs the same SQL. A benchmark, not
 * a test: it prints figures and never fails on one.
 *
 * Setup goes through the API: `clients` customers (registered, KYC-approved by ADMIN_EMAIL), two GBP
 * accounts each, every account funded by a staff deposit. Then two mixes, each `seconds` long from
 * `clients` concurrent loops after a 2 s warm-up that is not counted:
 * - uniform: POST /transactions, client i as customer i, from one of its accounts to any other account;
 * - hot: POST /admin/deposits to a random account; every one debits the cash system account (16 shards).
 * Then pgbench runs the one statement the app runs per posting, transactions.post_entry, with the same
 * clients and seconds on the same database (DATABASE_URL), and the script prints the ratio HTTP/raw and
 * the ledger's own verification. Both write real, balanced entries into that database.
 * The app must allow the setup's registrations and logins: start it with
 * REGISTER_RATE_LIMIT_PER_MINUTE=10000 LOGIN_RATE_LIMIT_PER_MINUTE=10000.
 */
const { spawn } = require('node:child_process');
const { randomInt } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Client } = require('pg');
const { Stop, httpClient } = require('./lib/http');
const { drive, ms, outboxDrained, pct, setupCustomers, uniformTransfers } = require('./lib/load');

const url = (process.argv[2] || 'http://127.0.0.1:3000').replace(/\/+$/, '');
const seconds = Number(process.argv[3] || 15);
const clients = Number(process.argv[4] || 32);
const databaseUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/protobank';
const ACCOUNTS_PER_CUSTOMER = 2;
const SETUP_CONCURRENCY = 8;
const WARMUP_MS = 2000;
const HOT_LABEL = 'hot (every request debits the cash system account)';
const run = Date.now().toString(36);

const amount = () => randomInt(1, 101);
const say = (line) => process.stdout.write(`${line}\n`);

let interrupted = false;
const stopped = () => interrupted;
let child;

const api = httpClient(url, { maxSockets: clients + SETUP_CONCURRENCY });

async function setup() {
  const admin = await api.login(process.env.ADMIN_EMAIL, process.env.ADMIN_PASSWORD);
  const adminId = (await api.call('GET', '/users/me', { token: admin })).id;
  const customers = await setupCustomers(api, {
    admin,
    tag: 'transfers',
    count: clients,
    accountsPerCustomer: ACCOUNTS_PER_CUSTOMER,
    concurrency: SETUP_CONCURRENCY,
    stopped,
  });
  return { admin, adminId, customers, accounts: customers.flatMap((c) => c.accounts.map((a) => a.id)) };
}

/** libpq's view of DATABASE_URL: pgbench's connection arguments and environment. */
function pgbenchTarget() {
  const u = new URL(databaseUrl);
  const args = ['-h', decodeURIComponent(u.hostname) || '127.0.0.1', '-p', u.port || '5432'];
  if (u.username) args.push('-U', decodeURIComponent(u.username));
  const env = { ...process.env };
  if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
  if (u.searchParams.get('sslmode')) env.PGSSLMODE = u.searchParams.get('sslmode');
  return { args, env, dbname: decodeURIComponent(u.pathname.slice(1)) };
}

function onPath(cmd) {
  return (process.env.PATH || '')
    .split(path.delimiter)
    .some((dir) => dir && fs.existsSync(path.join(dir, cmd)));
}

const transferSql = (keys) => `\\set a random(0, :n - 1)
\\set b random(0, :n - 2)
\\set b :b + case when :b >= :a then 1 else 0 end
\\set amt random(1, 100)
SELECT * FROM transactions.post_entry(gen_random_uuid(), 'transfer',
  (SELECT id FROM bench_accounts WHERE n = :a), (SELECT id FROM bench_accounts WHERE n = :b), :amt, 'GBP',
  NULL, NULL, NULL, NULL, (SELECT owner_id FROM bench_accounts WHERE n = :a),
  (SELECT owner_id FROM bench_accounts WHERE n = :a), NULL, false, (SELECT owner_id FROM bench_accounts WHERE n = :a),
  '${keys}' || gen_random_uuid(), md5(random()::text) || md5(random()::text), '{}');
`;
const depositSql = (keys, staffId) => `\\set s random(0, :shards - 1)
\\set c random(0, :n - 1)
\\set amt random(1, 100)
SELECT * FROM transactions.post_entry(gen_random_uuid(), 'deposit',
  (SELECT id FROM bench_cash WHERE n = :s), (SELECT id FROM bench_accounts WHERE n = :c), :amt, 'GBP',
  NULL, NULL, NULL, NULL, '${staffId}', NULL, '${staffId}', false, '${staffId}',
  '${keys}' || gen_random_uuid(), md5(random()::text) || md5(random()::text), '{}');
`;

/**
 * One pgbench run of a script: tps and latency average from its report, percentiles from its log, and
 * the outcomes post_entry recorded under the run's idempotency keys (it reports a refusal such as
 * insufficient_funds as a result, not an error, so pgbench would count it): the rate is of postings.
 */
async function pgbench(db, dir, name, script, vars) {
  const keys = `pgbench.${run}.${name}.`;
  const sql = script(keys);
  const file = path.join(dir, `${name}.sql`);
  fs.writeFileSync(file, sql);
  const target = pgbenchTarget();
  const args = [
    '-n',
    '-M',
    'prepared',
    '-c',
    String(clients),
    '-j',
    String(Math.min(2, clients)),
    '-T',
    String(seconds),
    ...Object.entries(vars).flatMap(([k, v]) => ['-D', `${k}=${v}`]),
    '-l',
    '--log-prefix',
    path.join(dir, name),
    '-f',
    file,
    ...target.args,
    target.dbname,
  ];
  const { code, stdout, stderr } = await new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child = spawn('pgbench', args, { env: target.env });
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
  });
  child = undefined;
  if (interrupted) throw new Stop('interrupted');
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout);
  const avg = /latency average = ([\d.]+) ms/.exec(stdout);
  const failed = /number of failed transactions: (\d+)/.exec(stdout);
  const latencies = [];
  for (const log of fs.readdirSync(dir).filter((f) => f.startsWith(`${name}.`) && !f.endsWith('.sql'))) {
    for (const line of fs.readFileSync(path.join(dir, log), 'utf8').split('\n')) {
      const us = Number(line.split(' ')[2]);
      if (line && Number.isFinite(us)) latencies.push(us / 1000);
    }
  }
  latencies.sort((a, b) => a - b);
  const problems = stderr
    .split('\n')
    .filter((l) => /abort|error|fatal/i.test(l))
    .slice(0, 3);
  if (code !== 0 && !problems.length) problems.push(`pgbench exited ${code}`);
  const { rows } = await db.query(
    `SELECT outcome, count(*)::int AS n FROM transactions.idempotency_keys WHERE key LIKE $1 GROUP BY outcome`,
    [`${keys}%`],
  );
  const outcomes = Object.fromEntries(rows.map((r) => [r.outcome, r.n]));
  const total = rows.reduce((sum, r) => sum + r.n, 0);
  return {
    command: `pgbench ${args.map((a) => (a.includes(dir) ? path.basename(a) : a)).join(' ')}`,
    rate: tps && total ? (Number(tps[1]) * (outcomes.posted || 0)) / total : undefined,
    outcomes,
    average: avg ? Number(avg[1]) : undefined,
    failed: failed ? Number(failed[1]) : undefined,
    latencies,
    problems,
  };
}

/** Creates and fills the helper tables pgbench picks accounts from; returns the number of cash shards. */
async function benchTables(db, accounts) {
  const { rows: ledger } = await db.query(
    `SELECT id, owner_id FROM transactions.ledger_accounts WHERE kind = 'customer' AND id = ANY($1)`,
    [accounts],
  );
  const { rows: cash } = await db.query(
    `SELECT id FROM transactions.ledger_accounts WHERE system_code = 'cash' AND currency = 'GBP' ORDER BY shard`,
  );
  if (ledger.length !== accounts.length) {
    throw new Stop(
      `found ${ledger.length} of the ${accounts.length} bench accounts in the ledger of ${databaseUrl}`,
    );
  }
  try {
    await db.query(
      'CREATE TABLE public.bench_accounts (n int PRIMARY KEY, id uuid NOT NULL, owner_id uuid NOT NULL)',
    );
  } catch (err) {
    if (err.code !== '42P07') throw err;
    throw new Stop(
      'public.bench_accounts already exists: another bench:transfers is using this database, or an ' +
        'interrupted one left it (DROP TABLE public.bench_accounts, public.bench_cash)',
    );
  }
  try {
    await db.query('CREATE TABLE public.bench_cash (n int PRIMARY KEY, id uuid NOT NULL)');
    await db.query(
      'INSERT INTO public.bench_accounts SELECT o::int - 1, id, owner_id FROM unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY AS t(id, owner_id, o)',
      [ledger.map((r) => r.id), ledger.map((r) => r.owner_id)],
    );
    await db.query(
      'INSERT INTO public.bench_cash SELECT o::int - 1, id FROM unnest($1::uuid[]) WITH ORDINALITY AS t(id, o)',
      [cash.map((r) => r.id)],
    );
    await db.query('ANALYZE public.bench_accounts, public.bench_cash');
  } catch (err) {
    await dropBenchTables(db);
    throw err;
  }
  return cash.length;
}

const dropBenchTables = (db) => db.query('DROP TABLE IF EXISTS public.bench_accounts, public.bench_cash');

function line(label, width, r) {
  const rate = r.rate === undefined ? '-' : `${r.rate.toFixed(1)}/s`;
  const l = r.latencies;
  return (
    `  ${`${label}:`.padEnd(width + 1)} ${rate.padStart(9)}  p50 ${ms(pct(l, 50))}  p95 ${ms(pct(l, 95))}  ` +
    `p99 ${ms(pct(l, 99))}`
  );
}

async function main() {
  if (!process.env.ADMIN_EMAIL || !process.env.ADMIN_PASSWORD) {
    throw new Stop('set ADMIN_EMAIL and ADMIN_PASSWORD (the first admin of the running app)');
  }
  if (!(seconds > 0) || !Number.isInteger(clients) || clients < 1) {
    throw new Stop('usage: transfers.js [url] [seconds > 0] [clients >= 1]');
  }
  const stopping = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write('bench:transfers: interrupted, cleaning up (again to quit at once)\n');
    child?.kill('SIGINT');
  };
  process.on('SIGINT', stopping);
  process.on('SIGTERM', stopping);

  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const t0 = Date.now();
    const { admin, adminId, customers, accounts } = await setup();
    say(
      `setup: ${customers.length} customers, ${accounts.length} accounts funded, ` +
        `in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    const width = HOT_LABEL.length;

    say(
      `transfers through HTTP (${url}, ${clients} clients, ${seconds} s each after a ${WARMUP_MS / 1000} s warm-up)`,
    );
    const http = {};
    await outboxDrained(db, { stopped });
    const load = { clients, seconds, warmupMs: WARMUP_MS, stopped };
    http.uniform = await drive(uniformTransfers(api, customers), load);
    say(`${line('uniform', width, http.uniform)}  statuses ${JSON.stringify(http.uniform.statuses)}`);
    await outboxDrained(db, { stopped });
    http.hot = await drive(
      () =>
        api.request('POST', '/admin/deposits', {
          token: admin,
          idempotent: true,
          body: {
            account_id: accounts[randomInt(accounts.length)],
            amount: amount(),
            currency: 'GBP',
            reason: 'Bench deposit',
          },
        }),
      load,
    );
    say(`${line(HOT_LABEL, width, http.hot)}  statuses ${JSON.stringify(http.hot.statuses)}`);

    const raw = {};
    if (!onPath('pgbench')) {
      say('raw Postgres: pgbench is not on PATH; skipped');
    } else {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-transfers-'));
      let created = false;
      try {
        const shards = await benchTables(db, accounts);
        created = true;
        const vars = { n: accounts.length, shards };
        await outboxDrained(db, { stopped });
        raw.uniform = await pgbench(db, dir, 'uniform', transferSql, vars);
        await outboxDrained(db, { stopped });
        raw.hot = await pgbench(db, dir, 'hot', (keys) => depositSql(keys, adminId), vars);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
        if (created) await dropBenchTables(db);
      }
      say(`raw Postgres (pgbench, same statement, same database, same clients)`);
      say(`  ${raw.uniform.command.replace(/uniform/g, '<mix>')}`);
      for (const [mix, label] of [
        ['uniform', 'uniform'],
        ['hot', HOT_LABEL],
      ]) {
        const r = raw[mix];
        const failed = r.failed ? `  failed ${r.failed}` : '';
        const avg = r.average === undefined ? '' : `  (pgbench average ${ms(r.average)})`;
        say(`${line(label, width, r)}  outcomes ${JSON.stringify(r.outcomes)}${avg}${failed}`);
        for (const p of r.problems) say(`    pgbench: ${p}`);
      }
      say(
        '  notes: the raw statement looks its accounts up in public.bench_* by subselect, work the app does\n' +
          '  not do: that understates the raw rate slightly, which flatters the ratio HTTP/raw a little.\n' +
          '  Over HTTP a transfer or a deposit runs post_entry alone. pgbench holds a connection per client,\n' +
          '  the app at most DATABASE_POOL_SIZE (start it with as many as clients for a like-for-like run).\n' +
          '  No warm-up run for pgbench (the data are warm from the HTTP runs).',
      );
      const ratio = (mix) => (raw[mix].rate ? (http[mix].rate / raw[mix].rate).toFixed(2) : '-');
      say(`ratio HTTP/raw: uniform ${ratio('uniform')}, hot ${ratio('hot')}`);
    }

    const verify = await api.call('GET', '/admin/ledger/verify', { token: admin, what: 'ledger verify' });
    say(
      `ledger verify: ${verify.ok ? 'ok' : `NOT ok, ${verify.mismatches.length} mismatches`} ` +
        `(${verify.checked_entries} entries, ${verify.checked_accounts} accounts)`,
    );
  } finally {
    await db.end();
    api.agent.destroy();
  }
}

main().catch((err) => {
  const message =
    err instanceof Stop || err.code
      ? err.message
      : ['ECONNREFUSED', 'ENOTFOUND', 'ECONNRESET'].includes(err.code)
        ? `cannot reach ${url} (${err.code})`
        : (err.stack ?? err.message);
  process.stderr.write(`bench:transfers: ${message}\n`);
  process.exit(1);
});
