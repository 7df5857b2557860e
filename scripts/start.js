#!/usr/bin/env node
/**
 * `npm start`: build (incremental), make sure PostgreSQL and Redis are there (see lib/local-services.js),
 * run pending migrations, then run the monolith on :3000 until SIGINT/SIGTERM.
 * `npm run start:dev` (--watch): the same, then `nest start monolith --watch`, which rebuilds and
 * restarts the monolith on every change (the Nest CLI resolves the @protobank/* aliases at run time).
 * A new migration needs a restart of start:dev (or `npm run migration:run`): migrations run once here.
 */
const { execFileSync, spawn } = require('node:child_process');
const path = require('node:path');
const { runOnce, spawnApp, stop } = require('./lib/processes');
const { ensurePostgres, ensureRedis, log } = require('./lib/local-services');

const watch = process.argv.includes('--watch');

/** `nest start monolith --watch` in its own process group, so stopping it also stops the app it runs. */
function spawnWatch(env) {
  const nest = path.join(__dirname, '..', 'node_modules', '.bin', 'nest');
  const child = spawn(nest, ['start', 'monolith', '--watch', '--preserveWatchOutput'], {
    cwd: path.join(__dirname, '..'),
    env,
    stdio: 'inherit',
    detached: true,
  });
  child.stopAll = () => {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
  };
  return child;
}

async function main() {
  execFileSync(process.execPath, [path.join(__dirname, 'build.js')], { stdio: 'inherit' });
  const env = { ...process.env };
  const cleanups = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch(() => undefined);
  };
  try {
    for (const ensure of [ensurePostgres, ensureRedis]) {
      const stopIt = await ensure(env);
      if (stopIt) cleanups.push(stopIt);
    }
    await runOnce('migrate', env);
  } catch (err) {
    process.stderr.write(`start: ${err.message}\n`);
    await cleanup();
    process.exit(1);
  }
  const app = watch ? spawnWatch(env) : spawnApp('monolith', env);
  const forward = () => (watch ? app.stopAll() : void stop(app));
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  // `npm start` runs this under a shell that a SIGTERM to npm ends without passing it on (a process
  // manager stopping npm left the bank running, adopted by init): a parent gone is a stop too.
  // (process.ppid is read once, at startup: ask whether that process still exists.)
  const parent = process.ppid;
  const alive = () => {
    try {
      process.kill(parent, 0);
      return true;
    } catch (err) {
      return err.code === 'EPERM';
    }
  };
  const orphaned = setInterval(() => {
    if (alive()) return;
    clearInterval(orphaned);
    log('the process that started this one has exited: stopping the monolith');
    forward();
  }, 1000).unref();
  app.on('exit', async (code) => {
    await cleanup();
    log(`monolith exited (${code})`);
    process.exit(code ?? 0);
  });
}

void main();
