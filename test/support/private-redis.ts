import { spawn, type ChildProcess } from 'node:child_process';

/**
 * A Redis server of a suite's own on `port` (no persistence), for what must not touch the shared one on
 * 6379: stopping it, or flushing its scripts. The caller stops it (processes.stop or kill).
 */
export function startRedis(port: number): ChildProcess {
  return spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
}
