import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * auth.credentials.password_reset_at: when the password was last reset by e-mail (not changed with the
 * current one). Sessions opened within PASSWORD_RESET_HOLD_HOURS of it may not send money to others or
 * see card numbers: the reset proved only the mailbox.
 */
export class PasswordResetHold1763700000040 implements MigrationInterface {
  name = 'PasswordResetHold1763700000040';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE auth.credentials ADD COLUMN password_reset_at timestamptz(3)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE auth.credentials DROP COLUMN password_reset_at`);
  }
}
