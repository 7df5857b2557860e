import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * auth.credentials.email_verified_at: when the user confirmed a code e-mailed to the address the account was
 * registered with (POST /auth/email/verification/confirm). Password-reset e-mails go only to verified
 * addresses. Accounts made before this are unverified: their owners verify once to be able to reset.
 */
export class VerifiedEmails1763700000041 implements MigrationInterface {
  name = 'VerifiedEmails1763700000041';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE auth.credentials ADD COLUMN email_verified_at timestamptz(3)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE auth.credentials DROP COLUMN email_verified_at`);
  }
}
