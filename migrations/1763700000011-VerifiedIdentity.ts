import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * KYC verifies a legal name, not just a document: each submission carries the name it asks to verify,
 * and `verified_at` remembers the last approval through a later submission (a change of name or date of
 * birth), so a customer stays verified while it is reviewed and after it is refused.
 *
 * Existing submissions take the profile's current name (the name they were reviewed against) and
 * verified ones their review time. Verified profiles take the date of birth their KYC verified, since
 * approval now copies it there and the profile locks it (before, the profile did not, and a customer
 * could change it after approval). The values this replaces are kept in users.dob_before_verified_identity
 * for `down`, which puts each back unless the profile has changed since (an approved re-verification).
 * A name changed after verification cannot be told from the original (nothing recorded it): see the
 * security notes (docs/security.md).
 *
 * Account numbers are now drawn at random (accounts.service); the old serial sequence is kept, unused.
 * Reverting is not harmless for them: the previous release takes the next serial with no retry, so once
 * random numbers have been issued, each one the sequence reaches fails one account opening with a 500
 * (a unique violation on account_number) before the sequence moves past it.
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
    // Only for `down` (no entity reads it): what each overwritten profile held, and what replaced it.
    await q.query(
      `CREATE TABLE users.dob_before_verified_identity (
         user_id uuid PRIMARY KEY, date_of_birth date, verified_date_of_birth date NOT NULL)`,
    );
    await q.query(
      `INSERT INTO users.dob_before_verified_identity (user_id, date_of_birth, verified_date_of_birth)
       SELECT u.id, u.date_of_birth, k.date_of_birth FROM users.users u JOIN users.kyc k ON k.user_id = u.id
        WHERE k.status = 'verified' AND u.date_of_birth IS DISTINCT FROM k.date_of_birth`,
    );
    await q.query(
      `UPDATE users.users u SET date_of_birth = b.verified_date_of_birth
         FROM users.dob_before_verified_identity b WHERE b.user_id = u.id`,
    );
    await q.query(
      `COMMENT ON SEQUENCE accounts.account_serial IS 'Unused since VerifiedIdentity1763700000011: account numbers are random'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`COMMENT ON SEQUENCE accounts.account_serial IS NULL`);
    await q.query(
      `UPDATE users.users u SET date_of_birth = b.date_of_birth
         FROM users.dob_before_verified_identity b
        WHERE b.user_id = u.id AND u.date_of_birth = b.verified_date_of_birth`,
    );
    await q.query(`DROP TABLE users.dob_before_verified_identity`);
    await q.query(`ALTER TABLE users.kyc DROP COLUMN verified_at, DROP COLUMN full_name`);
  }
}
