import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * ops.backups: one row per backup scripts/backup.sh completed (the split stack's scheduled one, or
 * `npm run backup`), written by the backup itself once its file is in place. The transactions app
 * reports the newest as backup_last_success_timestamp_seconds, and BackupTooOld fires when it ages: a
 * backup that stopped working used to show only in its container's log. Operational records, apart from
 * every module's schema.
 */
export class BackupRecords1763700000030 implements MigrationInterface {
  name = 'BackupRecords1763700000030';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE SCHEMA ops`);
    await q.query(`
      CREATE TABLE ops.backups (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        file text NOT NULL,
        bytes bigint NOT NULL CHECK (bytes >= 0),
        seconds integer NOT NULL CHECK (seconds >= 0),
        finished_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX backups_finished_at_idx ON ops.backups (finished_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP SCHEMA ops CASCADE`);
  }
}
