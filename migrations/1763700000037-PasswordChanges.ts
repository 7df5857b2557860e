import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * auth.credentials.password_changed_at: when its owner last changed the password (POST /auth/password);
 * null until then. Device tokens issued before it no longer exempt a login from the e-mail's lockout.
 */
export class PasswordChanges1763700000037 implements MigrationInterface {
  name = 'PasswordChanges1763700000037';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE auth.credentials ADD COLUMN password_changed_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE auth.credentials DROP COLUMN password_changed_at`);
  }
}
