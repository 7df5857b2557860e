/**
 * The two ways Protobank runs, behind one interface: tests get a base URL and do not care whether one
 * process or nine answer it.
 */
import { tracked } from './abandoned-starts';
import { processes, startSplit, topology, type AppProcess } from './processes';
import { startPgBouncer, type PgBouncer } from './pgbouncer';
import { createTestEnv, type TestEnv } from './test-env';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * An app that exits on its own with an error code (an uncaught exception) would otherwise show up only
 * as ECONNREFUSED in the tests after it, with its log deleted at cleanup: its last lines go to stderr.
 */
function reportCrash(child: AppProcess, logDir: string): void {
  child.once('exit', (code) => {
    if (!code) return; // a clean stop, or a signal a test sent
    const file = join(logDir, `${child.app}.log`);
    const tail = existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-40).join('\n') : '';
    process.stderr.write(
      `\n${child.app} exited with ${code} during the tests; the end of its log:\n${tail}\n`,
    );
  });
}

/**
 * The error and fatal lines of the apps' logs (an app that could not start logs why, e.g. EADDRINUSE, and
 * exits 1; waitReady sees only the exit code), the last few, for the message of a start-up failure.
 */
export function startupErrors(logDir: string, last = 6): string {
  const lines: string[] = [];
  for (const file of existsSync(logDir) ? readdirSync(logDir).filter((f) => f.endsWith('.log')) : []) {
    for (const line of readFileSync(join(logDir, file), 'utf8').split('\n')) {
      if (/"level":(50|60)\b/.test(line) || /^[a-z-]+(: | failed: )/.test(line))
        lines.push(`${file}: ${line.slice(0, 400)}`);
    }
  }
  return lines.length ? `\n${lines.slice(-last).join('\n')}` : '';
}

export type TopologyKind = 'monolith' | 'split';

export interface Running {
  kind: TopologyKind;
  baseUrl: string;
  t: TestEnv;
  /** The environment the apps were started with (to start one again as it was). */
  env: Record<string, string>;
  /** Service name -> base URL of that service (split only). */
  services: Record<string, string>;
  /** The app processes; a test may replace one, and stop() stops whatever is in this list. */
  children: AppProcess[];
  /** Stops the apps and removes what the suite made (but its logs, with keepLogs); once, however often called. */
  stop(opts?: { keepLogs?: boolean }): Promise<void>;
}

/** Once, whoever asks first: the suite's afterAll and the abandoned-start sweep may both ask. */
function once(stop: (keepLogs: boolean) => Promise<void>): Running['stop'] {
  let stopping: Promise<void> | undefined;
  return ({ keepLogs = false } = {}) => (stopping ??= stop(keepLogs));
}

/**
 * A topology on its own database, queues and key prefix. One that is still starting when its suite ends
 * (its beforeAll timed out) is stopped once started (abandoned-starts).
 */
export function startTopology(kind: TopologyKind, extraEnv: Record<string, string> = {}): Promise<Running> {
  return tracked(start(kind, extraEnv));
}

async function start(kind: TopologyKind, extraEnv: Record<string, string>): Promise<Running> {
  const t = await createTestEnv(kind);
  const env = { ...t.env, ...extraEnv };
  let pgbouncer: PgBouncer | undefined;
  try {
    if (kind === 'monolith') {
      const port = await processes.freePort();
      await processes.runOnce('migrate', env, { logFile: join(t.logDir, 'migrate.log') });
      // The app as the suite's runtime login (rows only), migrate as the owner.
      const appEnv = { ...env, DATABASE_URL: t.runtimeDatabaseUrl };
      const child: AppProcess = processes.spawnApp(
        'monolith',
        { ...appEnv, PORT: String(port) },
        { logFile: join(t.logDir, 'monolith.log') },
      );
      reportCrash(child, t.logDir);
      const baseUrl = `http://127.0.0.1:${port}`;
      try {
        await processes.waitReady(`${baseUrl}/health/ready`, { children: [child] });
      } catch (err) {
        await processes.stop(child);
        throw err;
      }
      const children = [child];
      return {
        kind,
        baseUrl,
        t,
        env: appEnv,
        services: {},
        children,
        stop: once(async (keepLogs) => {
          await Promise.all(children.map((c) => processes.stop(c)));
          await t.cleanup({ keepLogs });
        }),
      };
    }
    const ports: Record<string, number> = {};
    for (const service of topology.SERVICE_NAMES) {
      ports[service] = await processes.freePort();
    }
    const edgePort = await processes.freePort();
    // As in production: queries through PgBouncer in transaction mode, LISTEN, session locks and the
    // migration straight to Postgres.
    // The apps as the suite's runtime login (rows only), migrate as the owner.
    pgbouncer = await startPgBouncer(t.runtimeDatabaseUrl, join(t.logDir, 'pgbouncer.log'));
    const appEnv = {
      ...env,
      DATABASE_URL: pgbouncer.url,
      DATABASE_LISTEN_URL: t.runtimeDatabaseUrl,
    };
    const split = await startSplit({
      env: appEnv,
      ports,
      edgePort,
      logDir: t.logDir,
      host: '127.0.0.1',
      migrateUrl: t.databaseUrl,
    });
    for (const child of split.children) reportCrash(child, t.logDir);
    const bouncer = pgbouncer;
    return {
      kind,
      baseUrl: `http://127.0.0.1:${edgePort}`,
      t,
      env: appEnv,
      services: split.upstreams,
      children: split.children,
      stop: once(async (keepLogs) => {
        await split.stop();
        await bouncer.stop();
        await t.cleanup({ keepLogs });
      }),
    };
  } catch (err) {
    await pgbouncer?.stop();
    // The logs stay (the database, queues and Redis keys go): a failure seen once in twenty runs is read
    // from them or not at all.
    await t.cleanup({ keepLogs: true });
    throw new Error(
      `${kind} did not start (logs kept in ${t.logDir}): ${(err as Error).message}${startupErrors(t.logDir)}`,
    );
  }
}
