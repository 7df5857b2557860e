import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The rest of the profile, and KYC submissions (one current submission per user). */
export class ProfilesAndKyc1763700000003 implements MigrationInterface {
  name = 'ProfilesAndKyc1763700000003';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE users.users ADD COLUMN date_of_birth date, ADD COLUMN phone text, ADD COLUMN address jsonb`,
    );
    await q.query(`
      CREATE TABLE users.kyc (
        user_id uuid PRIMARY KEY,
        status text NOT NULL CHECK (status IN ('pending', 'verified', 'rejected')),
        document_type text NOT NULL CHECK (document_type IN ('passport', 'driving_licence', 'national_id')),
        document_number_encrypted text NOT NULL,
        document_number_last3 text NOT NULL,
        country char(2) NOT NULL,
        date_of_birth date NOT NULL,
        submitted_at timestamptz NOT NULL,
        reviewed_at timestamptz,
        reviewer_id uuid,
        rejection_reason text
      )`);
    // Staff work the queue oldest first by status.
    await q.query(`CREATE INDEX kyc_status_idx ON users.kyc (status, submitted_at, user_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE users.kyc`);
    await q.query(
      `ALTER TABLE users.users DROP COLUMN address, DROP COLUMN phone, DROP COLUMN date_of_birth`,
    );
  }
}
