import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * notifications.verified_emails: the address each user proved they read, as auth told it
 * (`user.email_verified`). The e-mail channel sends notices other than security ones only to a profile
 * address recorded here, as SMS goes only to a verified number. Filled at once with the addresses verified
 * since 1763700000041 (auth.credentials.email_verified_at); later verifications arrive as events.
 */
export class VerifiedEmailsForNotices1763700000042 implements MigrationInterface {
  name = 'VerifiedEmailsForNotices1763700000042';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE notifications.verified_emails (
        user_id uuid PRIMARY KEY,
        email text NOT NULL,
        verified_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await q.query(`
      INSERT INTO notifications.verified_emails (user_id, email, verified_at)
      SELECT user_id, email, email_verified_at FROM auth.credentials WHERE email_verified_at IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE notifications.verified_emails`);
  }
}
