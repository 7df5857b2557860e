#!/usr/bin/env node
/**
 * `npm start`: build (incremental), make sure PostgreSQL and Redis are there (see lib/local-services.js),
 * run pending migrations, then run the monolith on :3000 until SIGINT/SIGTERM.
 */
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { runOnce, spawnApp, stop } = require('./lib/processes');
const { ensurePostgres, ensureRedis, log } = require('./lib/local-services');

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
  const app = spawnApp('monolith', env);
  const forward = () => void stop(app);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  app.on('exit', async (code) => {
    await cleanup();
    log(`monolith exited (${code})`);
    process.exit(code ?? 0);
  });
}

void main();
