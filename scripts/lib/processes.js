/**
 * Starting and stopping the apps as real processes; used by `npm start`, `npm run start:split` and the
 * e2e harness, so the tests exercise the same start-up path operators use.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '../..');
const appEntry = (app) => path.join(ROOT, 'dist/apps', app, 'src/main.js');

/** Spawns `node dist/apps/<app>/src/main.js`; output goes to `logFile` when given, else to ours. */
function spawnApp(app, env, { logFile, nodeArgs = [] } = {}) {
  const out = logFile ? fs.openSync(logFile, 'a') : 'inherit';
  const childEnv = { ...process.env, ...env };
  const child = spawn(process.execPath, [...nodeArgs, appEntry(app)], {
    cwd: ROOT,
    env: childEnv,
    stdio: ['ignore', out, out],
  });
  if (logFile) fs.closeSync(out);
  child.app = app;
  child.env = childEnv;
  return child;
}

/** Runs an app to completion (the migrate one-shot); rejects on a non-zero exit. */
function runOnce(app, env, opts) {
  return new Promise((resolve, reject) => {
    const child = spawnApp(app, env, opts);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${app} exited with ${code}`))));
  });
}

function portAnswers(port, host = '127.0.0.1', timeoutMs = 500) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Ports handed out below the kernel's ephemeral range (32768-60999 on Linux), which outgoing connections
 * take theirs from: a port of that range, free when asked, could be an outgoing socket's before the app
 * bound it (EADDRINUSE under load). Here only another caller of freePort() can collide, and it picks at
 * random from 12,000. Each Jest worker (JEST_WORKER_ID 1-4) has a quarter of the range to itself: a suite
 * that stops a private Redis or RabbitMQ and starts it again on its port must not find that port handed
 * to the other worker's suite meanwhile.
 *
 * A second Jest run on the same machine (a colleague's clone) has the same workers and quarters: one of
 * its apps could bind a port ours had checked and not yet bound, and our readiness poll then reached its
 * stack (its first admin, locked by our failed logins). TEST_PORTS=low-high gives a run a range of its
 * own, split among its workers the same way.
 */
const PORT_RANGE = portRange(Number(process.env.JEST_WORKER_ID), process.env.TEST_PORTS);

function portRange(worker, span) {
  const [low, high] = span === undefined || span === '' ? [20000, 32000] : parseSpan(span);
  if (!Number.isInteger(worker) || worker < 1 || worker > 4) return [low, high];
  const size = Math.floor((high - low) / 4);
  return [low + (worker - 1) * size, low + worker * size];
}

/** TEST_PORTS: `low-high`, at least 400 ports, within 1024-32768 (below the ephemeral range). */
function parseSpan(span) {
  const m = /^([0-9]{4,5})-([0-9]{4,5})$/.exec(span);
  const [low, high] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
  if (!(low >= 1024 && high <= 32768 && high - low >= 400)) {
    throw new Error(`TEST_PORTS must be low-high, at least 400 ports within 1024-32768, not "${span}"`);
  }
  return [low, high];
}

/**
 * Every port this process has handed out (or found taken), never handed out again: a port is free when
 * picked but bound only later, so callers that pick several before starting anything (the split topology:
 * eight services and the edge, then PgBouncer) could be given one port twice. That happened: PgBouncer
 * listened on a port a service was then started on (EADDRINUSE, 2026-12-02). Reserved before the check,
 * so concurrent calls cannot pick the same one either.
 */
const handedOut = new Set();

function bindable(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function freePort() {
  for (let i = 0; i < 100; i++) {
    const port = PORT_RANGE[0] + Math.floor(Math.random() * (PORT_RANGE[1] - PORT_RANGE[0]));
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port in ${PORT_RANGE.join('-')}`);
}

/** Polls `url` until it answers 200; fails early if one of `children` exits. */
async function waitReady(url, { timeoutMs = 60000, children = [] } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    const dead = children.find((c) => c.exitCode !== null);
    if (dead) throw new Error(`${dead.app} exited with ${dead.exitCode} while starting`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return;
      last = `${res.status} ${await res.text()}`;
    } catch (err) {
      last = err.message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms: ${last}`);
}

/**
 * SIGTERM, then SIGKILL after `graceMs`: by default the app's own SHUTDOWN_DELAY_MS and
 * SHUTDOWN_TIMEOUT_MS (from the environment it was started with) and two seconds more, so that the app
 * drains before it is killed. Resolves with the exit code.
 */
function stop(child, graceMs = defaultGraceMs((child && child.env) || process.env)) {
  if (!child || child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve(child && child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    child.kill('SIGTERM');
  });
}

function defaultGraceMs(env) {
  const ms = (name, fallback) => Number(env[name] || fallback) || fallback;
  return ms('SHUTDOWN_DELAY_MS', 0) + ms('SHUTDOWN_TIMEOUT_MS', 10000) + 2000;
}

module.exports = { ROOT, appEntry, spawnApp, runOnce, portAnswers, freePort, portRange, waitReady, stop };
