#!/usr/bin/env node
/**
 * `npm run backup`: one consistent, compressed logical backup of the database (pg_dump's custom
 * format, one snapshot) into BACKUP_DIR (default ./backups), named protobank-<UTC time>.dump, written
 * under a temporary name and renamed when whole; prints the file and its size. BACKUP_KEEP=N also
 * deletes all but the newest N. The database is a direct connection (scripts/lib/database-url.js:
 * DATABASE_LISTEN_URL, else DATABASE_URL, each also as *_FILE), never PgBouncer, as the owner: the apps'
 * login may read every row but not record the backup in ops.backups.
 *
 * The work is scripts/backup.sh, the same script the split stack's backup container runs on its schedule.
 * pg_dump must be at least as new as the server (it refuses an older one, with a message saying so).
 */
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { describe, directDatabaseUrl, libpqEnv } = require('./lib/database-url');

function backup(env = process.env) {
  const url = directDatabaseUrl(env);
  const dir = path.resolve(env.BACKUP_DIR || 'backups');
  const res = spawnSync('sh', [path.join(__dirname, 'backup.sh')], {
    env: { ...env, ...libpqEnv(url), PGPASSWORD_FILE: '', BACKUP_DIR: dir },
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  process.stdout.write(res.stdout ?? '');
  if (res.status === 3)
    throw new Error(`backup of ${describe(url)} written, but not recorded in ops.backups`);
  if (res.status !== 0) throw new Error(`no backup of ${describe(url)} (exit ${res.status ?? res.signal})`);
  const file = /^backup written: (.+) \(\d+ bytes/m.exec(res.stdout)?.[1];
  if (!file) throw new Error('backup.sh named no file');
  return file;
}

if (require.main === module) {
  try {
    backup();
  } catch (err) {
    process.stderr.write(`backup: ${err.message}\n`);
    process.exit(1);
  }
}

module.exports = { backup };
