#!/usr/bin/env node
/**
 * `npm run bench:memory -- [seconds=20] [clients=16] [logins=16] [--docker[=image]]`: where the split
 * apps' memory goes.
 * Starts the eight split apps from dist/ (`npm run build`) on a scratch database, Redis prefix, RabbitMQ
 * prefix and JWT keys, removed afterwards even on error or Ctrl-C, each with the Node and allocator
 * settings its container gets: the `environment` of its service in docker/docker-compose.split.yml
 * (NODE_OPTIONS, MALLOC_*, UV_*), on top of the ENV of docker/Dockerfile's runtime stage; read from those
 * files, never copied here. Then prints, per app, its memory limit there and its RSS and V8 heap:
 *   idle     after boot and 5 s of quiet;
 *   peak     during `seconds` of load after setup: `clients` loops of the uniform transfer mix
 *            (bench:transfers), `logins` loops logging in as users of their own (argon2id verifications) and `logins / 4`
 *            loops registering new customers (argon2id hashes and the common-password check); RSS is
 *            the kernel's high-water mark (VmHWM: boot included, exact), heap the highest of samples
 *            of /metrics every 500 ms;
 *   settled  10 s after the load.
 * A benchmark, not a test: it fails only on a broken setup or an app that dies, never on a figure. Run
 * without a cgroup, so an app over its limit is not killed here: compare peak RSS with the limit.
 *
 * --docker (needs a Docker engine with cgroup v1 and the image, default protobank/monolith:local, which
 * has every app's dependencies): after the processes are up, one container per app as well, with this
 * dist/ mounted, `--network host`, its compose memory limit (no swap) and settings; prints what each
 * cgroup is charged at idle and its peak since boot, then drives `logins * 2` loops of logins at the
 * auth container alone for `seconds` and says whether it survived (OOMKilled) and its peak RSS.
 */
const { execFileSync } = require('node:child_process');
const { clearInterval, setInterval } = require('node:timers');
const fs = require('node:fs');
const path = require('node:path');
const { parse } = require('yaml');
const { Stop, httpClient } = require('./lib/http');
const { PASSWORD, drive, pct, ms, pool, setupCustomers, uniformTransfers } = require('./lib/load');
const { scratchRuns } = require('./lib/scratch');
const { freePort, waitReady } = require('../lib/processes');
const { SERVICE_NAMES } = require('../lib/topology');

const ROOT = path.resolve(__dirname, '../..');
const COMPOSE = path.join(ROOT, 'docker/docker-compose.split.yml');
const DOCKERFILE = path.join(ROOT, 'docker/Dockerfile');
const args = process.argv.slice(2);
const positional = args.filter((a) => !a.startsWith('--'));
const dockerFlag = args.find((a) => a === '--docker' || a.startsWith('--docker='));
const image = dockerFlag?.split('=')[1] || 'protobank/monolith:local';
const seconds = Number(positional[0] ?? 20);
const clients = Number(positional[1] ?? 16);
const logins = Number(positional[2] ?? 16);
const registrations = Math.max(1, Math.floor(logins / 4));
const SETUP_CONCURRENCY = 4;
// Connections per app: eight apps share the local Postgres (compose puts PgBouncer in between).
const POOL = 4;
const IDLE_MS = 5000;
const SETTLE_MS = 10000;
const SAMPLE_MS = 500;
const MiB = 1024 * 1024;
const run = Date.now().toString(36);

const say = (line) => process.stdout.write(`${line}\n`);
const runs = scratchRuns('memory');
const stopped = () => runs.interrupted;
const sleep = (t) => new Promise((resolve) => setTimeout(resolve, t));

/** Env keys of a container that shape its memory: Node's flags and the allocator's and libuv's knobs. */
const MEMORY_ENV = /^(NODE_OPTIONS|MALLOC_\w+|UV_THREADPOOL_SIZE)$/;

/** `ENV` of the Dockerfile's runtime stage (every image), as { key: value }, memory-related keys only. */
function dockerfileEnv() {
  const lines = fs.readFileSync(DOCKERFILE, 'utf8').replace(/\\\n/g, ' ').split('\n');
  const from = lines.findIndex((l) => /^FROM\s+\S+\s+AS\s+runtime\b/i.test(l));
  if (from < 0) throw new Stop(`${DOCKERFILE}: no runtime stage`);
  const env = {};
  for (const line of lines.slice(from + 1)) {
    if (/^FROM\s/i.test(line)) break;
    const m = /^ENV\s+(.*)$/i.exec(line);
    if (!m) continue;
    for (const [, key, value] of m[1].matchAll(/(\w+)=("[^"]*"|\S*)/g))
      if (MEMORY_ENV.test(key)) env[key] = value.replace(/^"|"$/g, '');
  }
  return env;
}

/** Per app, its container's memory limit (bytes) and memory-related env, from the compose file. */
function composeSettings() {
  const compose = parse(fs.readFileSync(COMPOSE, 'utf8'), { merge: true });
  const base = dockerfileEnv();
  const units = { k: 1024, m: MiB, g: 1024 * MiB };
  return Object.fromEntries(
    SERVICE_NAMES.map((app) => {
      const service = compose.services?.[app];
      const limit = /^(\d+)([kmg])?b?$/i.exec(String(service?.deploy?.resources?.limits?.memory ?? ''));
      if (!service || !limit) throw new Stop(`${COMPOSE}: no service ${app} with a memory limit`);
      const env = { ...base };
      for (const [key, value] of Object.entries(service.environment ?? {}))
        if (MEMORY_ENV.test(key)) env[key] = String(value);
      return [app, { limit: Number(limit[1]) * (units[limit[2]?.toLowerCase()] ?? 1), env }];
    }),
  );
}

/**
 * RSS now, its anonymous part (heap, malloc, stacks: what a cgroup cannot reclaim; the rest is mostly
 * the node binary's code, file pages the kernel drops under pressure) and RSS's high-water mark, bytes.
 */
function procMemory(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), hwm: kb('VmHWM') };
}

/** V8's heap (used, total) and external memory, as the app's /metrics (prom-client) reports them. */
async function heapOf(base) {
  const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  const value = (name) => Number(new RegExp(`^${name}(?:{[^}]*})? (\\S+)`, 'm').exec(text)?.[1] ?? NaN);
  return {
    used: value('nodejs_heap_size_used_bytes'),
    total: value('nodejs_heap_size_total_bytes'),
    external: value('nodejs_external_memory_bytes'),
  };
}

/** Fails the run, naming it, once an app has exited. */
function assertAlive(apps) {
  const dead = apps.find((a) => a.child.exitCode !== null || a.child.signalCode !== null);
  if (dead)
    throw new Stop(
      `${dead.app} died (exit ${dead.child.exitCode ?? dead.child.signalCode}); its log is kept`,
    );
}

/** One sample of every app: { app: { rss, hwm, used, total, external } }. */
async function sample(apps) {
  assertAlive(apps);
  const out = {};
  await Promise.all(
    apps.map(async (a) => {
      out[a.app] = { ...procMemory(a.pid), ...(await heapOf(a.base)) };
    }),
  );
  return out;
}

/** Samples every SAMPLE_MS until stop() is called; resolves to the highest of each figure per app. */
function sampler(apps) {
  const peak = {};
  let running = true;
  let failure;
  const done = (async () => {
    while (running) {
      try {
        const s = await sample(apps);
        for (const [app, m] of Object.entries(s))
          peak[app] = Object.fromEntries(
            Object.entries(m).map(([k, v]) => [k, Math.max(v, peak[app]?.[k] ?? 0)]),
          );
      } catch (err) {
        failure = err;
        running = false;
      }
      if (running) await sleep(SAMPLE_MS);
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      if (failure) throw failure;
      return peak;
    },
  };
}

/** Logins, loop i as user i: argon2id verifications in auth. */
const loginMix = (api, users) => (i) =>
  api.request('POST', '/auth/login', { body: { email: users[i % users.length], password: PASSWORD } });

/** Registrations of new customers: an argon2id hash and the common-password check in auth. */
function registerMix(api) {
  let n = 0;
  return () => {
    const email = `bench.memory.${run}.r${n++}@example.com`;
    return api.request('POST', '/auth/register', { body: { email, password: PASSWORD, full_name: 'Bench' } });
  };
}

async function measure({ base, apps }) {
  const api = httpClient(base, { maxSockets: clients + logins + registrations + SETUP_CONCURRENCY + 1 });
  try {
    await runs.guard(sleep(IDLE_MS));
    const idle = await sample(apps);
    const admin = await runs.guard(api.adminToken({ waitMs: 60000, stopped }));
    const t = Date.now();
    const customers = await setupCustomers(api, {
      admin,
      tag: 'memory',
      count: clients,
      accountsPerCustomer: 2,
      concurrency: SETUP_CONCURRENCY,
      stopped,
    });
    say(
      `setup: ${clients} customers, ${2 * clients} accounts funded, in ${((Date.now() - t) / 1000).toFixed(1)} s`,
    );
    // The login loops log in as users of their own: past SESSIONS_PER_USER_MAX logins a user's least
    // recently used session ends, and it must not be a transfer loop's.
    const loginUsers = await pool(
      Array.from({ length: logins }, (_, i) => `bench.memory.${run}.login${i}@example.com`),
      SETUP_CONCURRENCY,
      async (email) => {
        const body = { email, password: PASSWORD, full_name: 'Bench' };
        await api.call('POST', '/auth/register', { body, status: 201, what: 'register' });
        return email;
      },
      stopped,
    );
    const peaks = sampler(apps);
    const load = { seconds, warmupMs: 0, stopped };
    const [transfers, loginsDone, registered] = await Promise.all([
      drive(uniformTransfers(api, customers), { ...load, clients }),
      drive(loginMix(api, loginUsers), { ...load, clients: logins, ok: 200 }),
      drive(registerMix(api), { ...load, clients: registrations }),
    ]);
    const peak = await peaks.stop();
    await runs.guard(sleep(SETTLE_MS));
    const settled = await sample(apps);
    return { idle, peak, settled, load: { transfers, logins: loginsDone, registrations: registered } };
  } finally {
    api.agent.destroy();
  }
}

const mb = (v) => (Number.isFinite(v) ? (v / MiB).toFixed(0) : '-');

function report(settings, { idle, peak, settled, load }) {
  say(`\nload, ${seconds} s at once:`);
  for (const [name, r, n] of [
    ['transfers (POST /transactions)', load.transfers, clients],
    ['logins (POST /auth/login)', load.logins, logins],
    ['registrations (POST /auth/register)', load.registrations, registrations],
  ]) {
    const l = r.latencies;
    say(
      `  ${name.padEnd(38)}${String(n).padStart(3)} loops ${`${r.rate.toFixed(1)}/s`.padStart(9)}  p50 ${ms(pct(l, 50))}` +
        `  p99 ${ms(pct(l, 99))}  ${JSON.stringify(r.statuses)}`,
    );
  }
  const head = [
    'app',
    'limit',
    'idle RSS/anon',
    'idle heap',
    'peak RSS/anon',
    'peak heap',
    'settled RSS',
    'headroom',
  ];
  const rows = SERVICE_NAMES.map((app) => {
    const { limit } = settings[app];
    const pair = (a, b) => `${mb(a)}/${mb(b)}`;
    const top = peak[app] ?? {};
    return [
      app,
      mb(limit),
      pair(idle[app].rss, idle[app].anon),
      pair(idle[app].used, idle[app].total),
      pair(settled[app].hwm, top.anon),
      pair(top.used, top.total),
      mb(settled[app].rss),
      mb(limit - settled[app].hwm),
    ];
  });
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) =>
    `  ${cells.map((c, i) => (i ? c.padStart(width[i]) : c.padEnd(width[i]))).join('  ')}`;
  say('\nmemory per app, MiB (heap: V8 used/total):');
  say(line(head));
  for (const r of rows) say(line(r));
  say('\nsettings (docker/Dockerfile runtime ENV, then the compose service environment):');
  for (const app of SERVICE_NAMES)
    say(
      `  ${app.padEnd(14)}${Object.entries(settings[app].env)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
  say(
    '\nhow: RSS from /proc/<pid>/status (peak: VmHWM, boot included; anon: RssAnon, sampled); heap from\n' +
      "  each app's /metrics; headroom = limit - peak RSS. Processes, not containers: no cgroup enforces\n" +
      '  the limit here, and in one the file-backed part of RSS (the node binary) is reclaimable.',
  );
}

/** Docker CLI, synchronously; its output trimmed. */
const docker = (...a) =>
  execFileSync('docker', a, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

/** Reads of one container's memory cgroup (v1, cgroupfs driver), in bytes. */
function cgroupOf(id) {
  const dir = `/sys/fs/cgroup/memory/docker/${id}`;
  const read = (f) => fs.readFileSync(path.join(dir, f), 'utf8').trim();
  const stat = (key) => Number(new RegExp(`^${key} (\\d+)`, 'm').exec(read('memory.stat'))?.[1] ?? NaN);
  return {
    usage: () => Number(read('memory.usage_in_bytes')),
    max: () => Number(read('memory.max_usage_in_bytes')),
    failcnt: () => Number(read('memory.failcnt')),
    rss: () => stat('rss'),
  };
}

/** The apps again, each in a container with its compose limit and settings; then a login storm on auth. */
async function containers(settings, env) {
  try {
    docker('image', 'inspect', image);
  } catch {
    throw new Stop(`--docker: no Docker engine, or no image ${image} (build it, or pass --docker=<image>)`);
  }
  const started = {};
  for (const app of SERVICE_NAMES) {
    const port = await freePort();
    const limit = String(settings[app].limit);
    const run = ['run', '-d', '--network', 'host', '--memory', limit, '--memory-swap', limit];
    run.push('-v', `${path.join(ROOT, 'dist')}:/app/dist:ro`);
    const vars = { ...env, ...settings[app].env, DATABASE_POOL_SIZE: String(POOL), PORT: String(port) };
    for (const [k, v] of Object.entries(vars)) if (v !== undefined) run.push('-e', `${k}=${v}`);
    const id = docker(...run, image, 'node', `dist/apps/${app}/src/main.js`);
    runs.cleanups.push([`container ${app}`, () => docker('rm', '-f', id)]);
    started[app] = { id, base: `http://127.0.0.1:${port}`, cgroup: cgroupOf(id) };
  }
  const state = (app) =>
    docker('inspect', started[app].id, '--format', '{{.State.Status}} {{.State.OOMKilled}}');
  for (const app of SERVICE_NAMES) {
    await runs.guard(waitReady(`${started[app].base}/health/ready`, { timeoutMs: 120000 })).catch((err) => {
      throw new Stop(`--docker: ${app} did not start (${state(app)}): ${err.message}`);
    });
  }
  await runs.guard(sleep(IDLE_MS * 2));
  say(`\nin containers (${image}, this dist/), MiB: charged to the cgroup at idle and its peak since boot`);
  for (const app of SERVICE_NAMES) {
    const cg = started[app].cgroup;
    say(
      `  ${app.padEnd(14)}limit ${mb(settings[app].limit).padStart(4)}  idle ${mb(cg.usage()).padStart(4)} ` +
        `(RSS ${mb(cg.rss()).padStart(3)})  peak ${mb(cg.max()).padStart(4)}  failcnt ${cg.failcnt()}`,
    );
  }
  const auth = started.auth;
  const api = httpClient(auth.base, { maxSockets: logins * 2 });
  let peakRss = 0;
  const timer = setInterval(() => {
    try {
      peakRss = Math.max(peakRss, auth.cgroup.rss());
    } catch {
      // the container is gone: its state says why
    }
  }, 200);
  const login = () =>
    api.request('POST', '/auth/login', {
      body: { email: process.env.ADMIN_EMAIL, password: process.env.ADMIN_PASSWORD },
    });
  const storm = await drive(login, { clients: logins * 2, seconds, warmupMs: 0, stopped, ok: 200 });
  clearInterval(timer);
  api.agent.destroy();
  const [status, oomKilled] = state('auth').split(' ');
  say(
    `  auth, ${logins * 2} clients logging in for ${seconds} s: ${storm.rate.toFixed(1)}/s ` +
      `p99 ${ms(pct(storm.latencies, 99))} ${JSON.stringify(storm.statuses).slice(0, 160)}; peak RSS ` +
      `${mb(peakRss)} MiB; ${status}${oomKilled === 'true' ? ', OOM-killed' : ''}`,
  );
  if (status !== 'running')
    throw new Stop(`--docker: the auth container died (${status}, OOMKilled ${oomKilled})`);
}

async function main() {
  if (!(seconds > 0 && clients >= 1 && logins >= 1))
    throw new Stop('usage: memory.js [seconds > 0] [clients >= 1] [logins >= 1]');
  runs.listen();
  const missing = runs.missing();
  if (missing.length) throw new Stop(`dist/ lacks ${missing.join(', ')}: run \`npm run build\` first`);
  const settings = composeSettings();
  process.env.ADMIN_EMAIL = `admin.${run}@protobank.test`;
  process.env.ADMIN_PASSWORD = 'a-bench-admin-passphrase';
  const appEnv = Object.fromEntries(SERVICE_NAMES.map((app) => [app, settings[app].env]));
  say(
    `bench:memory: split apps with their compose settings; ${clients} transfer, ${logins} login, ${registrations} registration loops`,
  );
  await runs.once(() =>
    runs.start('split', { DATABASE_POOL_SIZE: String(POOL) }, appEnv).then(async (started) => {
      const out = await measure(started);
      assertAlive(started.apps);
      report(settings, out);
      if (dockerFlag) await containers(settings, started.env);
    }),
  );
}

runs.exit(main());
