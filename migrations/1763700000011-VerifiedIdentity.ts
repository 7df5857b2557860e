import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * KYC verifies a legal name, not just a document: each submission carries the name it asks to verify,
 * and `verified_at` remembers the last approval through a later submission (a change of name or date of
 * birth), so a customer stays verified while it is reviewed and after it is refused.
 *
 * Existing submissions take the profile's current name (the name they were reviewed against) and
 * verified ones their review time; verified profiles take the date of birth their KYC verified, since
 * approval now copies it there and locks it. A name changed after verification before this migration
 * cannot be told from the original (nothing recorded it): see the README's security section.
 *
 * Account numbers are now drawn at random (accounts.service); the old serial sequence is kept, unused,
 * so that reverting stays a schema-only change.
 */
export class VerifiedIdentity1763700000011 implements MigrationInterface {
  name = 'VerifiedIdentity1763700000011';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users.kyc ADD COLUMN full_name text, ADD COLUMN verified_at timestamptz(3)`);
    await q.query(
      `UPDATE users.kyc k SET full_name = u.full_name,
              verified_at = CASE WHEN k.status = 'verified' THEN coalesce(k.reviewed_at, k.submitted_at) END
         FROM users.users u WHERE u.id = k.user_id`,
    );
    // A submission whose profile is gone (none should be) keeps a marker rather than blocking the migration.
    await q.query(`UPDATE users.kyc SET full_name = '' WHERE full_name IS NULL`);
    await q.query(`ALTER TABLE users.kyc ALTER COLUMN full_name SET NOT NULL`);
    await q.query(
      `UPDATE users.users u SET date_of_birth = k.date_of_birth
         FROM users.kyc k WHERE k.user_id = u.id AND k.status = 'verified'
          AND u.date_of_birth IS DISTINCT FROM k.date_of_birth`,
    );
    await q.query(
      `COMMENT ON SEQUENCE accounts.account_serial IS 'Unused since VerifiedIdentity1763700000011: account numbers are random'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    // Profiles keep the dates of birth copied from KYC: they are the verified ones.
    await q.query(`COMMENT ON SEQUENCE accounts.account_serial IS NULL`);
    await q.query(`ALTER TABLE users.kyc DROP COLUMN verified_at, DROP COLUMN full_name`);
  }
}
