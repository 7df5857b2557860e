/**
 * A PgBouncer in transaction mode in front of this suite's database, as docker-compose.split.yml puts one
 * in front of Postgres: the split topology's apps reach Postgres through it, so whatever needs a session
 * (LISTEN, session advisory locks, session settings, named prepared statements) fails here as it would in
 * production. Debian's `pgbouncer` package; .ci/run installs it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processes, waitListening } from './processes';

export interface PgBouncer {
  /** `directUrl` with PgBouncer's host and port. */
  url: string;
  stop(): Promise<void>;
}

const BINARY = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer'];

function binary(): string {
  const found = BINARY.find((path) => spawnSync(path, ['--version']).status === 0);
  if (!found)
    throw new Error(
      'the split topology runs through PgBouncer in transaction mode, as in production: install it (apt-get install pgbouncer)',
    );
  return found;
}

export async function startPgBouncer(directUrl: string, logFile: string): Promise<PgBouncer> {
  const direct = new URL(directUrl);
  const port = await processes.freePort();
  // Its own directory, readable by the postgres user: PgBouncer refuses to run as root (-u below).
  const dir = mkdtempSync(join(tmpdir(), 'protobank-pgbouncer-'));
  const user = decodeURIComponent(direct.username || 'postgres');
  writeFileSync(join(dir, 'userlist.txt'), `"${user}" "${decodeURIComponent(direct.password)}"\n`);
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${direct.hostname} port=${direct.port || 5432}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      // As in docker-compose.split.yml.
      'pool_mode = transaction',
      'max_client_conn = 1000',
      'default_pool_size = 25',
    ].join('\n'),
  );
  spawnSync('chmod', ['-R', 'a+rX', dir]);
  const asRoot = process.getuid?.() === 0;
  const child: ChildProcess = spawn(
    binary(),
    [...(asRoot ? ['-u', 'postgres'] : []), join(dir, 'pgbouncer.ini')],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const log = createWriteStream(logFile);
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  await waitListening(child, port, stop, () => `PgBouncer did not start (see ${logFile})`);
  const url = new URL(directUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return { url: url.toString(), stop };
}
