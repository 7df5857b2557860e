import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The role a registration was made for, so that a pending registration (e.g. the startup admin's, when
 * users did not answer) can be taken over only by a retry of the same kind, never by a public sign-up.
 */
export class CredentialRole1763700000005 implements MigrationInterface {
  name = 'CredentialRole1763700000005';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE auth.credentials ADD COLUMN role text NOT NULL DEFAULT 'customer'
         CONSTRAINT credentials_role_check CHECK (role IN ('customer', 'staff', 'admin'))`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE auth.credentials DROP COLUMN role`);
  }
}
