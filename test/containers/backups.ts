/**
 * The split stack's backup service (docker/backup/), checked by split.containers-spec.ts on its stack,
 * which runs it with BACKUP_TEST_ENV: a backup every minute, the newest one kept. By the time this runs
 * (after the stack came up and served a customer's day) it has run a few times: each run logged its file,
 * size and seconds, the volume holds exactly the newest backup, and every older one was deleted.
 */
import { execFileSync } from 'node:child_process';
import { eventually } from '../support/test-env';
import type { ComposeStack } from './compose';

export const BACKUP_TEST_ENV = { BACKUP_CRON: '* * * * *', BACKUP_KEEP: '1' };

const NAME = /^protobank-\d{8}T\d{6}Z\.dump$/;

export function backupService(stack: () => ComposeStack): void {
  it('backs up into its volume on schedule, logging each backup, and keeps only the newest BACKUP_KEEP', async () => {
    const id = () => stack().state('backup')!.id;
    const inBackup = (...command: string[]) =>
      execFileSync('docker', ['exec', '-u', 'postgres', id(), ...command], { encoding: 'utf8' });
    // Two runs at least (a deletion logged), and the volume as the last run left it: exactly the newest.
    const { kept, written, deleted } = await eventually(
      async () => {
        const log = execFileSync('docker', ['logs', id()], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        const written = [...log.matchAll(/^backup written: \/backups\/(\S+) \((\d+) bytes, (\d+) s\)$/gm)];
        const deleted = [...log.matchAll(/^backup deleted \(BACKUP_KEEP=1\): \/backups\/(\S+)$/gm)].map(
          (m) => m[1],
        );
        const files = inBackup('ls', '-1', '/backups').split('\n').filter(Boolean);
        const newest = written[written.length - 1]?.[1];
        return deleted.length > 0 && files.length === 1 && files[0] === newest
          ? { kept: files[0], written, deleted }
          : undefined;
      },
      240_000,
      'two scheduled backups, the older one deleted',
    );
    expect(kept).toMatch(NAME);
    expect(written.every(([, , bytes]) => Number(bytes) > 0)).toBe(true);
    expect(deleted.every((name) => NAME.test(name) && name < kept)).toBe(true);
    // A whole archive of the stack's database, readable by pg_restore.
    const contents = inBackup('pg_restore', '--list', `/backups/${kept}`);
    expect(contents).toMatch(/TABLE DATA transactions entries /);
    expect(contents).toMatch(/TABLE DATA analytics movements /);
    expect(stack().state('backup')).toMatchObject({ status: 'running', restarts: 0 });
  }, 300_000);
}
