/**
 * Typed access to the plain-JS process helpers in scripts/, so the tests start apps exactly as
 * `npm start` and `npm run start:split` do.
 */
import type { ChildProcess } from 'node:child_process';

export type AppProcess = ChildProcess & { app: string };

interface Processes {
  spawnApp(
    app: string,
    env: Record<string, string>,
    opts?: { logFile?: string; nodeArgs?: string[] },
  ): AppProcess;
  runOnce(app: string, env: Record<string, string>, opts?: { logFile?: string }): Promise<void>;
  freePort(): Promise<number>;
  portAnswers(port: number, host?: string, timeoutMs?: number): Promise<boolean>;
  waitReady(url: string, opts?: { timeoutMs?: number; children?: AppProcess[] }): Promise<void>;
  stop(child: AppProcess | undefined, graceMs?: number): Promise<number | null>;
}

interface SplitRun {
  children: AppProcess[];
  upstreams: Record<string, string>;
  edgePort: number;
  stop(): Promise<void>;
}

interface StartSplit {
  startSplit(opts: {
    env: Record<string, string>;
    ports?: Record<string, number>;
    edgePort?: number;
    logDir?: string;
    host?: string;
    /** Where the migrate one-shot connects, when DATABASE_URL goes through PgBouncer. */
    migrateUrl?: string;
  }): Promise<SplitRun>;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const processes = require('../../scripts/lib/processes.js') as Processes;
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const { startSplit } = require('../../scripts/start-split.js') as StartSplit;
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const topology = require('../../scripts/lib/topology.js') as {
  SERVICE_NAMES: string[];
  SERVICES: Record<string, { port: number; memory: string; prefixes: string[] }>;
};

/**
 * Waits until a helper server (PgBouncer, nginx) listens on `port` on loopback; throws `failure()`'s
 * message once it has exited or 5 s have passed, after `stop()`.
 */
export async function waitListening(
  child: ChildProcess,
  port: number,
  stop: () => Promise<void>,
  failure: () => string,
): Promise<void> {
  for (let i = 0; !(await processes.portAnswers(port)); i++) {
    if (child.exitCode !== null || i > 100) {
      const message = failure();
      await stop();
      throw new Error(message);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
