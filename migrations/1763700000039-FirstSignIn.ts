import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * auth.credentials.first_signed_in_at: the account's first successful sign-in. A later sign-in from a
 * device the account has no token of is told to its owner (user.new_device_sign_in); the first, at
 * registration, is not. Accounts made before this are taken as signed in already, so their next new
 * device is told (at worst a notice for a first sign-in, rather than none for a stranger's).
 */
export class FirstSignIn1763700000039 implements MigrationInterface {
  name = 'FirstSignIn1763700000039';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE auth.credentials ADD COLUMN first_signed_in_at timestamptz(3)`);
    await q.query(`UPDATE auth.credentials SET first_signed_in_at = created_at WHERE status = 'active'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE auth.credentials DROP COLUMN first_signed_in_at`);
  }
}
