import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Disabling users, and the audit trail of staff actions. */
export class UsersAdministration1763700000002 implements MigrationInterface {
  name = 'UsersAdministration1763700000002';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users.users ADD COLUMN disabled_at timestamptz`);
    // Staff list users newest first, page by (created_at, id).
    await q.query(`CREATE INDEX users_created_idx ON users.users (created_at DESC, id DESC)`);
    await q.query(`
      CREATE TABLE users.audit_log (
        id uuid PRIMARY KEY,
        actor_id uuid NOT NULL,
        action text NOT NULL,
        target_user_id uuid,
        details jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX audit_log_created_idx ON users.audit_log (created_at DESC, id DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE users.audit_log`);
    await q.query(`DROP INDEX users.users_created_idx`);
    await q.query(`ALTER TABLE users.users DROP COLUMN disabled_at`);
  }
}
