#!/usr/bin/env node
/**
 * `npm run start:split`: the production topology on one machine. Migrate once, then every service app
 * as its own process on its own port (3001-3008), talking over RabbitMQ, and the edge on :3000 routing
 * each path to the service that serves it. The e2e harness starts the split topology through startSplit().
 */
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { createEdge, timeoutsFromEnv } = require('./edge');
const { SERVICES, SERVICE_NAMES, EDGE_PORT } = require('./lib/topology');
const { runOnce, spawnApp, stop, waitReady } = require('./lib/processes');

/**
 * Starts the eight services and the edge. `ports` overrides the service ports (tests use free ones);
 * `logDir` sends each app's output to <logDir>/<app>.log instead of this terminal; `migrateUrl` is where
 * the migrate one-shot connects when DATABASE_URL goes through PgBouncer.
 */
async function startSplit({ env, ports = {}, edgePort = EDGE_PORT, logDir, host = '0.0.0.0', migrateUrl }) {
  const logFile = (app) => (logDir ? path.join(logDir, `${app}.log`) : undefined);
  // migrateUrl: straight to Postgres when DATABASE_URL goes through PgBouncer, as in docker-compose.split.yml.
  const migrateEnv = migrateUrl ? { ...env, DATABASE_URL: migrateUrl } : env;
  await runOnce('migrate', migrateEnv, { logFile: logFile('migrate') });
  const upstreams = {};
  const children = SERVICE_NAMES.map((service) => {
    const port = ports[service] ?? SERVICES[service].port;
    upstreams[service] = `http://127.0.0.1:${port}`;
    return spawnApp(service, { ...env, PORT: String(port) }, { logFile: logFile(service) });
  });
  const stopAll = async () => {
    if (edge) await new Promise((r) => edge.close(r) && edge.closeAllConnections());
    await Promise.all(children.map((c) => stop(c)));
  };
  let edge;
  try {
    edge = await createEdge({ port: edgePort, host, upstreams, ...timeoutsFromEnv(env) });
    await waitReady(`http://127.0.0.1:${edgePort}/health/ready`, { children, timeoutMs: 90000 });
  } catch (err) {
    await stopAll();
    throw err;
  }
  return { children, upstreams, edgePort, stop: stopAll };
}

async function main() {
  const { ensurePostgres, ensureRedis, ensureRabbit, log } = require('./lib/local-services');
  execFileSync(process.execPath, [path.join(__dirname, 'build.js')], { stdio: 'inherit' });
  const env = { ...process.env };
  const cleanups = [];
  try {
    for (const ensure of [ensurePostgres, ensureRedis, ensureRabbit]) {
      const stopIt = await ensure(env);
      if (stopIt) cleanups.push(stopIt);
    }
    const split = await startSplit({ env, edgePort: Number(env.EDGE_PORT) || EDGE_PORT });
    log(
      `split topology ready: edge on :${split.edgePort}, services on ${SERVICE_NAMES.map((s) => `${s}:${SERVICES[s].port}`).join(' ')}`,
    );
    let stopping = false;
    const shutdown = async () => {
      if (stopping) return;
      stopping = true;
      await split.stop();
      for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch(() => undefined);
      process.exit(0);
    };
    process.on('SIGINT', shutdown);
    process.on('SIGTERM', shutdown);
    for (const child of split.children) {
      child.on('exit', (code) => {
        if (!stopping) log(`${child.app} exited (${code}); stopping the rest`);
        void shutdown();
      });
    }
  } catch (err) {
    process.stderr.write(`start:split: ${err.message}\n`);
    for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch(() => undefined);
    process.exit(1);
  }
}

if (require.main === module) void main();

module.exports = { startSplit };
