/**
 * A RabbitMQ node of a suite's own, which it may stop and start again: the shared broker on 5672 serves
 * every other suite and is never stopped. Its own node name, ports, data and log directories, and a
 * config with no plugins (no management listener to collide with the shared node's). Started with the
 * server script of the installed RabbitMQ (Debian's /usr/lib/rabbitmq/bin/rabbitmq-server, not the
 * /usr/sbin wrapper, which switches to the rabbitmq user and drops this environment); RABBITMQ_SERVER
 * names another. Stopping it is a clean broker shutdown (SIGTERM): clients see their connections
 * closed, and the durable queues are there again after the next start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { processes } from './processes';

const DEBIAN_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';
/**
 * How long a boot may take. A node boots in 5-10 s on an idle machine; on this 2-core one, beside the
 * suites that run in parallel with this one, a boot took over a minute (a run of 2026-12-01).
 */
const BOOT_DEADLINE_MS = 180_000;

/** The end of each log the node wrote, for the error when it did not start (the files go with the suite). */
function logTails(files: string[]): string {
  return files
    .filter((f) => existsSync(f))
    .map((f) => {
      const lines = readFileSync(f, 'utf8').trimEnd().split('\n');
      return `--- ${f} (last ${Math.min(lines.length, 25)} lines)\n${lines.slice(-25).join('\n')}`;
    })
    .join('\n');
}

export interface PrivateRabbit {
  /** The AMQP URL of this node (guest on loopback). */
  url: string;
  /** Resolves once the node first accepts connections (rejects if it did not start). */
  booted: Promise<void>;
  logFile: string;
  /** Stops the node (clean shutdown); resolves once it has exited. */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it if running and removes its files. */
  destroy(): Promise<void>;
}

/**
 * Starts the node and answers at once, with its URL: a caller may start its apps meanwhile (they connect
 * when it is up) and await `booted`.
 */
export async function startPrivateRabbit(label: string): Promise<PrivateRabbit> {
  const dir = mkdtempSync(join(tmpdir(), `protobank-rabbit-${label}-`));
  const port = await processes.freePort();
  const distPort = await processes.freePort();
  const node = `pbtest_${label}_${randomBytes(3).toString('hex')}@localhost`;
  for (const sub of ['home', 'mnesia', 'log']) mkdirSync(join(dir, sub));
  writeFileSync(join(dir, 'rabbitmq.conf'), 'loopback_users.guest = true\n');
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  writeFileSync(join(dir, 'rabbitmq-env.conf'), '');
  const logFile = join(dir, 'server.log');
  const server =
    process.env.RABBITMQ_SERVER ?? (existsSync(DEBIAN_SERVER) ? DEBIAN_SERVER : 'rabbitmq-server');
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LANG: 'C.UTF-8',
    HOME: join(dir, 'home'), // the Erlang cookie goes here, not in the caller's home
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'), // not the system node's /etc/rabbitmq one
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    ERL_EPMD_ADDRESS: '127.0.0.1',
    ERL_FLAGS: '-kernel inet_dist_use_interface {127,0,0,1}',
  };
  let child: ChildProcess | undefined;

  const start = async () => {
    const out = openSync(logFile, 'a');
    // Its own process group: a boot given up on is killed whole (the script and the Erlang VM under it).
    const started = spawn(server, [], { env, stdio: ['ignore', out, out], detached: true });
    child = started;
    const exited = new Promise<void>((resolve) => started.once('exit', () => resolve()));
    const deadline = Date.now() + BOOT_DEADLINE_MS;
    while (!(await processes.portAnswers(port))) {
      const gone = await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(r, 200))]);
      if (gone || Date.now() > deadline) {
        if (!gone) process.kill(-started.pid!, 'SIGKILL');
        const logs = [logFile, ...readdirSync(join(dir, 'log')).map((f) => join(dir, 'log', f))];
        throw new Error(
          `the private RabbitMQ node ${gone ? 'exited before it' : `did not within ${BOOT_DEADLINE_MS / 1000} s`} accept connections\n${logTails(logs)}`,
        );
      }
    }
  };

  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((r) => running.once('exit', r));
    running.kill('SIGTERM'); // the script stops the node cleanly and exits
    await exited;
  };

  const booted = start();
  booted.catch(() => undefined); // the caller awaits it; unobserved until then
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    booted,
    logFile,
    stop,
    start,
    async destroy() {
      await booted.catch(() => undefined);
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
