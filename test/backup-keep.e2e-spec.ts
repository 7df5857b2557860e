/**
 * `npm run backup` with BACKUP_KEEP: the older backups go only once the new one is both whole and
 * recorded. A backup taken of the wrong database (one without ops.backups: a typo in DATABASE_URL) used
 * to delete the good backups before it.
 */
import { dataSourceOptions, ensureDatabase, loadConfig } from '@protobank/platform';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { createTestEnv, type TestEnv } from './support/test-env';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { backup } = require('../scripts/backup.js') as { backup: (env: NodeJS.ProcessEnv) => string };

describe('backup retention (BACKUP_KEEP)', () => {
  let t: TestEnv;
  let dir: string;
  const older = ['protobank-20200101T000000Z.dump', 'protobank-20200102T000000Z.dump'];
  const env = () => ({ ...process.env, DATABASE_URL: t.databaseUrl, BACKUP_DIR: dir, BACKUP_KEEP: '1' });

  beforeAll(async () => {
    t = await createTestEnv('backupkeep');
    await ensureDatabase(t.databaseUrl);
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'protobank-backup-keep-'));
    for (const name of older) writeFileSync(join(dir, name), 'an older backup');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  afterAll(async () => {
    await t?.cleanup();
  });

  it('keeps every older backup when the new one cannot be recorded (a database without ops.backups)', () => {
    expect(() => backup(env())).toThrow(/written, but not recorded in ops\.backups/);
    const files = readdirSync(dir).sort();
    expect(files).toHaveLength(3);
    expect(files.slice(0, 2)).toEqual(older);
    expect(files[2]).toMatch(/^protobank-\d{8}T\d{6}Z\.dump$/);
  });

  it('deletes all but the newest BACKUP_KEEP once the new one is recorded', async () => {
    const ds = new DataSource(dataSourceOptions(loadConfig(t.env)));
    await ds.initialize();
    try {
      await ds.runMigrations({ transaction: 'each' });
    } finally {
      await ds.destroy();
    }
    const file = backup(env());
    expect(readdirSync(dir)).toEqual([file.split('/').pop()]);
    for (const name of older) expect(existsSync(join(dir, name))).toBe(false);
  });
});
