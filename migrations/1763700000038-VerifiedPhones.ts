import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * notifications.verified_phones: the number each user proved they read texts on (a code sent to it and
 * confirmed, POST /notifications/phone/verification). The SMS channel sends only to the profile's number
 * when it is the one recorded here, so a number typed into a profile gets nothing until its owner
 * confirms it, and changing the number unverifies it. One row per user: verifying another replaces it.
 */
export class VerifiedPhones1763700000038 implements MigrationInterface {
  name = 'VerifiedPhones1763700000038';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE notifications.verified_phones (
        user_id uuid PRIMARY KEY,
        phone text NOT NULL CHECK (phone ~ '^\\+[1-9][0-9]{6,14}$'),
        verified_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE notifications.verified_phones`);
  }
}
