/**
 * pgbench for the benchmarks: where it connects (libpq's view of a postgres:// URL), and one run of a
 * script with its per-transaction log (-l) read back for percentiles, which pgbench's report lacks.
 */
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Stop } = require('./http');

const onPath = (cmd) =>
  (process.env.PATH || '').split(path.delimiter).some((dir) => dir && fs.existsSync(path.join(dir, cmd)));

/** libpq's view of a postgres:// URL: pgbench's connection arguments, environment and database name. */
function pgbenchTarget(databaseUrl) {
  const u = new URL(databaseUrl);
  const args = ['-h', decodeURIComponent(u.hostname) || '127.0.0.1', '-p', u.port || '5432'];
  if (u.username) args.push('-U', decodeURIComponent(u.username));
  const env = { ...process.env };
  if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
  if (u.searchParams.get('sslmode')) env.PGSSLMODE = u.searchParams.get('sslmode');
  return { args, env, dbname: decodeURIComponent(u.pathname.slice(1)) };
}

/**
 * One pgbench run on `databaseUrl`: `file` (a pgbench script), or `script` (its text, written to a
 * temporary file named `name`.sql), from `clients` clients (-j up to 2 threads) for `seconds` (-T),
 * with `options` (more flags, e.g. ['-M', 'prepared', '-D', 'n=64']). `track(child)` is called with the
 * pgbench process while it runs and with undefined after, so that an interruption can stop it.
 * Resolves to { command (as a reader would type it: no log flags, the script by its file name, the
 * database by name), tps (pgbench's, without initial connection time), average (ms), failed,
 * latencies (ms, sorted: every transaction of the run, from the per-transaction log), problems (up to
 * three stderr lines that look like errors) }.
 */
async function pgbench({
  databaseUrl,
  name,
  file,
  script,
  clients,
  seconds,
  options = [],
  track = () => {},
}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-pgbench-${name}-`));
  try {
    const scriptFile = file ?? path.join(dir, `${name}.sql`);
    if (!file) fs.writeFileSync(scriptFile, script);
    const target = pgbenchTarget(databaseUrl);
    const shown = ['-n', ...options, '-c', String(clients), '-j', String(Math.min(2, clients))];
    shown.push('-T', String(seconds));
    const args = [...shown, '-l', '--log-prefix', path.join(dir, 'log'), '-f', scriptFile];
    args.push(...target.args, target.dbname);
    const { code, stdout, stderr } = await new Promise((resolve, reject) => {
      let out = '';
      let err = '';
      const child = spawn('pgbench', args, { env: target.env });
      track(child);
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.on('error', reject);
      child.on('close', (c) => resolve({ code: c, stdout: out, stderr: err }));
    }).finally(() => track(undefined));
    const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout);
    const avg = /latency average = ([\d.]+) ms/.exec(stdout);
    const failed = /number of failed transactions: (\d+)/.exec(stdout);
    const latencies = [];
    // One log per thread: log.<pid> and log.<pid>.<thread>; the third field is the latency in µs.
    for (const log of fs.readdirSync(dir).filter((f) => f.startsWith('log.'))) {
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
    return {
      command: `pgbench ${[...shown, '-f', path.basename(scriptFile), target.dbname].join(' ')}`,
      tps: tps ? Number(tps[1]) : undefined,
      average: avg ? Number(avg[1]) : undefined,
      failed: failed ? Number(failed[1]) : undefined,
      latencies,
      problems,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Stops a run unless pgbench is there. */
function needPgbench() {
  if (!onPath('pgbench')) {
    throw new Stop('pgbench is not on PATH (Debian ships it in postgresql-<version>, the server package)');
  }
}

module.exports = { pgbench, pgbenchTarget, needPgbench };
