#!/usr/bin/env node
/**
 * `npm run bench:events -- [transfers=200] [rate=20] [--url=http://...] [--only=monolith|split]
 * [--in-flight=8] [--settle-s=30] [--to=id] [--pairs=1]`: how long a transfer takes to become a
 * notification, and whether the consumers keep up. A benchmark, not a test: it prints figures and never
 * fails on one.
 *
 * Without --url it needs dist/ (`npm run build`) and measures both topologies in turn, each on its own
 * scratch database (pb_bench_events_<random>, from BENCH_DATABASE_URL or postgres@127.0.0.1:5432), Redis
 * key prefix, RabbitMQ prefix and JWT keys, removed afterwards even on error or Ctrl-C. With --url it
 * measures that deployment (ADMIN_EMAIL/ADMIN_PASSWORD from the environment) and leaves its data there.
 *
 * Per run: `pairs` pairs of customers (each sender's account funded), every customer's notification
 * stream open, `transfers` transfers started at `rate` per second (open loop, at most MAX_IN_FLIGHT at a
 * time), transfer i from the sender of pair i mod `pairs` to its receiver, then up to --settle-s for every
 * notification to be stored and streamed. One pair is one payer debited by every transfer (its account row
 * is hot, its notifications and analytics belong to two users); several pairs spread the load as a bank's
 * customers do, and let the benchmark offer the ledger's full rate. With --url, setup registers 2 x pairs
 * customers and logs each in from this one address: past REGISTER_RATE_LIMIT_PER_MINUTE and
 * LOGIN_RATE_LIMIT_PER_MINUTE (20 and 30 by default) it stops on a 429 unless the deployment raises them,
 * as the scratch runs do.
 */
const { randomInt, randomUUID } = require('node:crypto');
const http = require('node:http');
const { performance } = require('node:perf_hooks');
const { clearInterval, setInterval } = require('node:timers');
const { Client } = require('pg');
const { Stop } = require('./lib/http');
const { scratchRuns } = require('./lib/scratch');

const args = process.argv.slice(2);
const target = /^--url=(.+?)\/*$/.exec(args.find((a) => a.startsWith('--url=')) ?? '')?.[1];
const positional = args.filter((a) => !a.startsWith('--'));
const transfers = Number(positional[0] ?? 200);
const rate = Number(positional[1] ?? 20);
const option = (name) => /^--[^=]+=(.+)$/.exec(args.find((a) => a.startsWith(`--${name}=`)) ?? '')?.[1];
const MAX_IN_FLIGHT = Number(option('in-flight') ?? 8);
const PAIRS = Number(option('pairs') ?? 1);
const only = option('only');
// By account number (the default) at most TRANSFER_MISS_LIMIT lookups may be in flight, the excess is
// 429: --to=id sends to the receiver's account id, for more in flight than that.
const BY_ID = option('to') === 'id';
const SAMPLE_MS = 250;
const NOTICES = 'TransactionNoticesHandler.onTransactionCreated';
const MOVEMENTS = 'TransactionCreatedHandler.onTransactionCreated';
const SETTLE_MS = Number(option('settle-s') ?? 30) * 1000;
const PASSWORD = 'correct horse battery staple';
const TYPES = { sender: 'transaction.sent', receiver: 'transaction.received' };
const run = Date.now().toString(36);

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const ms = (v) => (v === undefined ? '-' : `${v.toFixed(1)} ms`);
const say = (line) => process.stdout.write(`${line}\n`);
const sleep = (n) => new Promise((r) => setTimeout(r, n));

const runs = scratchRuns('events');
const { cleanups } = runs;

const agent = new http.Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT + 4 });

/** One request with node:http (cheaper than fetch on a machine shared with the apps); the JSON or a Stop. */
function api(base, method, route, { token, body, status = 200 } = {}) {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers = { 'idempotency-key': randomUUID() };
  if (payload !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${route}`, { method, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode === status) return resolve(text ? JSON.parse(text) : {});
        reject(
          new Stop(`${method} ${route}: expected ${status}, got ${res.statusCode}: ${text.slice(0, 300)}`),
        );
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** A customer with one GBP current account, KYC approved by the admin. */
async function customer(base, admin, i) {
  const email = `bench.events.${run}.${i}@example.com`;
  const user = await api(base, 'POST', '/auth/register', {
    body: { email, password: PASSWORD, full_name: `Bench ${i}` },
    status: 201,
  });
  const session = await api(base, 'POST', '/auth/login', { body: { email, password: PASSWORD } });
  const token = session.access_token;
  // One document verifies one customer: each gets a passport number of their own.
  const number = `P${String(randomInt(1e9)).padStart(9, '0')}`;
  const kyc = { document_type: 'passport', document_number: number, country: 'GB' };
  await api(base, 'POST', '/users/me/kyc', {
    token,
    body: { ...kyc, date_of_birth: '1990-04-12' },
    status: 201,
  });
  const { submitted_at } = await api(base, 'GET', `/admin/kyc/${user.id}`, { token: admin });
  await api(base, 'POST', `/admin/kyc/${user.id}/approve`, { token: admin, body: { submitted_at } });
  const body = { type: 'current', currency: 'GBP' };
  const account = await api(base, 'POST', '/accounts', { token, body, status: 201 });
  const renewAt = Date.now() + session.expires_in * 500;
  return { token, refresh_token: session.refresh_token, renewAt, account };
}

/**
 * `c`'s access token, renewed first (the refresh token rotates) once half of its life has passed: a run
 * longer than ACCESS_TOKEN_TTL_SECONDS (15 min by default) would otherwise have its transfers and list
 * reads answered 401. The streams opened with the first token still end at its expiry (`event: end`):
 * arrivals after that are not seen, so keep a run's load shorter than the TTL.
 */
async function tokenOf(base, c) {
  if (Date.now() > c.renewAt) {
    const pair = await api(base, 'POST', '/auth/refresh', { body: { refresh_token: c.refresh_token } });
    c.token = pair.access_token;
    c.refresh_token = pair.refresh_token;
    c.renewAt = Date.now() + pair.expires_in * 500;
  }
  return c.token;
}

/** Opens /notifications/stream; onEvent(notification, arrival time) for each `event: notification`. */
function openStream(base, token, onEvent) {
  return new Promise((resolve, reject) => {
    const headers = { accept: 'text/event-stream', authorization: `Bearer ${token}` };
    const req = http.request(`${base}/notifications/stream`, { headers }, (res) => {
      if (res.statusCode !== 200) return reject(new Stop(`GET /notifications/stream: ${res.statusCode}`));
      res.setEncoding('utf8');
      res.on('error', () => undefined); // ends when we close it or the app stops: nothing to report
      let buffer = '';
      res.on('data', (chunk) => {
        const at = performance.now(); // the chunk's arrival, before any parsing
        buffer += chunk;
        for (let end; (end = buffer.indexOf('\n\n')) >= 0; buffer = buffer.slice(end + 2)) {
          const lines = buffer.slice(0, end).split('\n'); // `: keep-alive` comments have no data line
          const data = lines.filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart());
          if (lines.includes('event: notification') && data.length) onEvent(JSON.parse(data.join('\n')), at);
        }
      });
      resolve(req);
    });
    req.on('error', reject); // a no-op once resolved
    req.end();
  });
}

/** Every stored notification of `type` about one of `ids` in `who`'s list (all of it, 100 a page). */
async function stored(base, who, type, ids) {
  const found = [];
  let cursor = '';
  do {
    const route = `/notifications?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const page = await api(base, 'GET', route, { token: await tokenOf(base, who) });
    found.push(...page.data.filter((n) => n.type === type && ids.has(n.data?.transaction_id)));
    cursor = page.next_cursor;
  } while (cursor && !runs.interrupted);
  return found;
}

/**
 * Every SAMPLE_MS from the start of the load (printed each second): transfers answered 201 so far, and (with the database at
 * hand: a scratch run) the events the notifications and analytics consumers have applied since (their
 * inbox rows), else the transfers whose both notifications reached the streams. The backlog is the
 * difference: what the ledger committed and the consumers have not turned into notifications yet.
 */
function sampler(databaseUrl, answered, arrived) {
  const samples = [];
  let db;
  let timer;
  let base = { notices: 0, movements: 0 };
  const count = async () => {
    if (!db) {
      const streamed = Math.min(arrived.sender.size, arrived.receiver.size);
      return { notices: streamed, movements: undefined };
    }
    const { rows } = await db.query(
      `SELECT (SELECT count(*) FROM notifications.inbox WHERE consumer = $1)::int AS notices,
              (SELECT count(*) FROM analytics.inbox WHERE consumer = $2)::int AS movements`,
      [NOTICES, MOVEMENTS],
    );
    return rows[0];
  };
  return {
    async start(t0) {
      if (databaseUrl) {
        db = new Client({ connectionString: databaseUrl });
        // Its database may be dropped under it by the cleanup of a run that failed: that run's error is
        // the one to report, not this connection's end.
        db.on('error', () => undefined);
        await db.connect();
        base = await count();
      }
      const tick = async () => {
        const c = await count().catch(() => undefined);
        if (c) {
          samples.push({
            t: (performance.now() - t0) / 1000,
            committed: answered.size,
            notices: c.notices - base.notices,
            movements: c.movements === undefined ? undefined : c.movements - base.movements,
          });
        }
      };
      await tick();
      timer = setInterval(() => void tick(), SAMPLE_MS);
      return tick;
    },
    async stop(tick) {
      clearInterval(timer);
      await tick?.();
      await db?.end().catch(() => undefined);
      return samples;
    },
  };
}

/** Setup, load, settle; returns the latencies of each kind, sorted, and the backlog samples. */
async function measure(base, databaseUrl) {
  // An app we started creates its first admin in the background after start-up: a 401 means not yet
  // (failed logins lock an e-mail, so only there, where LOGIN_MAX_FAILURES is raised, is it retried).
  const credentials = { email: process.env.ADMIN_EMAIL, password: process.env.ADMIN_PASSWORD };
  const until = Date.now() + (target ? 0 : 60000);
  const login = () =>
    api(base, 'POST', '/auth/login', { body: credentials }).then(
      (r) => r.access_token,
      (err) => (/got 401/.test(err.message) && Date.now() < until ? undefined : Promise.reject(err)),
    );
  let admin;
  while (!(admin = await login()) && !runs.interrupted) await sleep(500);
  const pairs = [];
  for (let i = 0; i < PAIRS; i++) {
    const [sender, receiver] = await Promise.all([
      customer(base, admin, 2 * i),
      customer(base, admin, 2 * i + 1),
    ]);
    pairs.push({ sender, receiver });
  }
  const fundings = [];
  for (const { sender } of pairs) {
    const body = {
      account_id: sender.account.id,
      amount: 10000000,
      currency: 'GBP',
      reason: 'Bench funding',
    };
    fundings.push(await api(base, 'POST', '/admin/deposits', { token: admin, body, status: 201 }));
  }
  // transaction id -> arrival time on the stream of its sender (receiver): each stream carries only its
  // user's notifications, so one map per role serves every pair.
  const arrived = { sender: new Map(), receiver: new Map() };
  for (const [i, pair] of pairs.entries()) {
    for (const who of ['sender', 'receiver']) {
      const seen = arrived[who];
      const onEvent = (n, at) =>
        n.type === TYPES[who] && !seen.has(n.data?.transaction_id) && seen.set(n.data.transaction_id, at);
      const stream = await openStream(base, pair[who].token, onEvent);
      cleanups.push([`pair ${i} ${who}'s stream`, () => stream.destroy()]);
    }
  }
  // Warm-up, not counted: every funding deposit's notice has gone the whole way (outbox, consumer, store).
  const deadline = Date.now() + SETTLE_MS;
  for (const [i, { sender }] of pairs.entries()) {
    while (!(await stored(base, sender, 'deposit.received', new Set([fundings[i].id]))).length) {
      if (Date.now() > deadline || runs.interrupted) throw new Stop('a funding deposit was never notified');
      await sleep(200);
    }
  }
  // ... and analysed (the deposits are the only transactions yet): the backlog's baseline counts none of them.
  if (databaseUrl) {
    const db = new Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      const analysed = async () =>
        (await db.query('SELECT count(*)::int AS n FROM analytics.inbox WHERE consumer = $1', [MOVEMENTS]))
          .rows[0].n;
      while ((await analysed()) < PAIRS) {
        if (Date.now() > deadline || runs.interrupted) throw new Stop('a funding deposit was never analysed');
        await sleep(200);
      }
    } finally {
      await db.end();
    }
  }

  // The load: transfer i starts at i / rate s whatever the earlier ones do (open loop), unless
  // MAX_IN_FLIGHT are still unanswered (then the achieved rate printed falls short of `rate`).
  const answered = new Map(); // transaction id -> { committed: Postgres ms, at: 201 arrival time }
  const statuses = {};
  const pending = new Set();
  const backlog = sampler(databaseUrl, answered, arrived);
  const t0 = performance.now();
  const tick = await backlog.start(t0);
  for (let i = 0; i < transfers && !runs.interrupted; i++) {
    await sleep(Math.max(0, t0 + (i * 1000) / rate - performance.now()));
    while (pending.size >= MAX_IN_FLIGHT) await Promise.race(pending);
    const { sender, receiver } = pairs[i % PAIRS];
    const body = {
      from_account_id: sender.account.id,
      ...(BY_ID
        ? { to_account_id: receiver.account.id }
        : { to_account_number: receiver.account.account_number }),
      amount: randomInt(1, 101),
      currency: 'GBP',
    };
    const p = api(base, 'POST', '/transactions', { token: await tokenOf(base, sender), body, status: 201 })
      .then((t) => {
        answered.set(t.id, { committed: Date.parse(t.created_at), at: performance.now() });
        statuses[201] = (statuses[201] || 0) + 1;
      })
      .catch((err) => {
        const key = /got (\d+)/.exec(err.message)?.[1] ?? `error ${err.code ?? err.message}`;
        statuses[key] = (statuses[key] || 0) + 1;
      })
      .finally(() => pending.delete(p));
    pending.add(p);
  }
  await Promise.all(pending);
  const seconds = (performance.now() - t0) / 1000;

  // Settle: every answered transfer's two notifications stored and streamed, or SETTLE_MS.
  const ids = new Set(answered.keys());
  const settleBy = Date.now() + SETTLE_MS;
  let lists;
  // The streams tell when everything arrived; the lists (a page per 100) are read only then, so reading
  // them does not load the app while its consumers are still catching up.
  const streamed = () => ['sender', 'receiver'].every((w) => arrived[w].size >= ids.size);
  while (!streamed() && !runs.interrupted && Date.now() < settleBy) await sleep(200);
  for (;;) {
    lists = { sender: [], receiver: [] };
    for (const pair of pairs) {
      for (const who of ['sender', 'receiver'])
        lists[who].push(...(await stored(base, pair[who], TYPES[who], ids)));
    }
    const done = ['sender', 'receiver'].every(
      (w) => lists[w].length >= ids.size && arrived[w].size >= ids.size,
    );
    if (done || runs.interrupted || Date.now() > settleBy) break;
    await sleep(500);
  }
  const samples = await backlog.stop(tick);
  // Both parties' notifications are stored in one transaction (same now()): one row for the two.
  const rows = {
    'commit -> stored': [...lists.sender, ...lists.receiver].map(
      (n) => Date.parse(n.created_at) - answered.get(n.data.transaction_id).committed,
    ),
  };
  for (const who of ['sender', 'receiver']) {
    rows[`201 -> SSE, ${who}`] = [...arrived[who]]
      .filter(([id]) => answered.has(id))
      .map(([id, at]) => at - answered.get(id).at);
  }
  for (const l of Object.values(rows)) l.sort((a, b) => a - b);
  return { rows, expected: ids.size, seconds, statuses, samples };
}

function report(label, r) {
  const achieved = (r.expected / r.seconds).toFixed(1);
  say(`\n${label}: ${transfers} transfers in ${r.seconds.toFixed(1)} s (${achieved}/s answered 201)`);
  say(`  statuses ${JSON.stringify(r.statuses)}`);
  say(`  ${''.padEnd(20)}${['p50', 'p95', 'p99', 'max'].map((h) => h.padStart(10)).join('')}      count`);
  for (const [name, l] of Object.entries(r.rows)) {
    const expected = name === 'commit -> stored' ? 2 * r.expected : r.expected;
    const cells = [pct(l, 50), pct(l, 95), pct(l, 99), l[l.length - 1]]
      .map((v) => ms(v).padStart(10))
      .join('');
    say(`  ${name.padEnd(20)}${cells}  ${`${l.length}/${expected}`.padStart(9)}`);
  }
  reportBacklog(r);
}

/**
 * The backlog each second, whether it stayed bounded, and the rates: the consumers' while the load ran
 * and, if a backlog was left, while they drained it with no load (their own sustained rate).
 */
function reportBacklog(r) {
  const s = r.samples;
  if (!s?.length) return;
  const db = s[0].movements !== undefined;
  const what = db ? 'events applied (notifications inbox / analytics inbox)' : 'transfers streamed to both';
  say(`  backlog each second: committed transfers - ${what}`);
  say(
    `  ${'t (s)'.padStart(7)}${'committed'.padStart(11)}${'notified'.padStart(10)}${db ? 'analysed'.padStart(10) : ''}${'backlog'.padStart(9)}`,
  );
  let printed = -1;
  for (const [i, x] of s.entries()) {
    if (Math.floor(x.t) === printed && i !== s.length - 1) continue;
    printed = Math.floor(x.t);
    const cells = [x.committed, x.notices, ...(db ? [x.movements] : []), x.committed - x.notices];
    say(
      `  ${x.t.toFixed(1).padStart(7)}${cells.map((c, i) => String(c).padStart(i === 0 ? 11 : i === cells.length - 1 ? 9 : 10)).join('')}`,
    );
  }
  const during = s.filter((x) => x.t <= r.seconds + 0.5);
  const third = Math.max(1, Math.floor(during.length / 3));
  const mean = (xs) => xs.reduce((a, x) => a + (x.committed - x.notices), 0) / xs.length;
  const early = mean(during.slice(0, third));
  const late = mean(during.slice(-third));
  const peak = Math.max(...s.map((x) => x.committed - x.notices));
  const bounded = late <= Math.max(2 * early, early + 50);
  say(
    `  backlog: peak ${peak}; mean ${early.toFixed(0)} in the load's first third, ${late.toFixed(0)} in its last: ${bounded ? 'bounded' : 'GROWING (the consumers fall behind this rate)'}`,
  );
  const end = during[during.length - 1];
  say(
    `  consumers during the load: ${(end.notices / r.seconds).toFixed(0)} events/s notified (ledger ${(end.committed / r.seconds).toFixed(0)}/s)`,
  );
  const left = end.committed - end.notices;
  const drained = s.find((x) => x.t > end.t && x.notices >= x.committed);
  const last = drained ?? s[s.length - 1];
  if (left > 50 && last.t > end.t) {
    say(
      `  after the load: ${left} left, ${drained ? 'drained' : `${last.committed - last.notices} still left`} after ${(last.t - end.t).toFixed(1)} s: ${((last.notices - end.notices) / (last.t - end.t)).toFixed(0)} events/s (the consumers' own rate, sampled every ${SAMPLE_MS} ms)`,
    );
  }
}

/** One measurement, reported; whatever it set up is undone however it ends. */
async function once(label, fn) {
  report(label, await runs.once(fn));
}

async function main() {
  if (!(transfers >= 1 && rate > 0 && Number.isInteger(PAIRS) && PAIRS >= 1))
    throw new Stop('usage: events.js [transfers >= 1] [rate > 0] [--pairs=N >= 1] [--url=...]');
  runs.listen();
  if (target) {
    if (!process.env.ADMIN_EMAIL || !process.env.ADMIN_PASSWORD)
      throw new Stop('set ADMIN_EMAIL and ADMIN_PASSWORD');
    await once(target, () => measure(target));
  } else {
    const missing = runs.missing();
    if (missing.length) throw new Stop(`dist/ lacks ${missing.join(', ')}: run \`npm run build\` first`);
    process.env.ADMIN_EMAIL = `admin.${run}@protobank.test`;
    process.env.ADMIN_PASSWORD = 'a-bench-admin-passphrase';
    for (const kind of ['monolith', 'split'].filter((k) => !only || k === only))
      await once(kind, () => runs.start(kind).then(({ base, databaseUrl }) => measure(base, databaseUrl)));
  }
  say(
    `\nhow: ${transfers} transfers sender -> receiver started at ${rate}/s (open loop, at most ${MAX_IN_FLIGHT} in flight),\n` +
      `  over ${PAIRS} sender/receiver pair(s) in turn, after a warm-up (each funding deposit notified),\n` +
      "  every user's stream open throughout.\n" +
      '  commit -> stored: notification.created_at (now() of the storing transaction) - transaction.created_at\n' +
      '  (clock_timestamp() in the posting, within a millisecond of its commit), read from GET /notifications and\n' +
      '  the 201: one Postgres clock, no client clock; ISO strings with milliseconds, so +-1 ms.\n' +
      "  201 -> SSE: arrival of the chunk carrying the notification on that user's stream - arrival of the 201,\n" +
      "  both on this process's monotonic clock; it adds the in-app push (Redis pub/sub) to the store.",
  );
}

runs.exit(main());
