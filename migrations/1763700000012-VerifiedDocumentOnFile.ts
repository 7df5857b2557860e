import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The document that verified a customer stays on file while they re-verify with another one. A KYC row
 * holds one submission: a verified customer's new submission (a change of name or date of birth) used
 * to replace the verified document, which then no longer counted as used, and another user could be
 * verified with it. `verified_document_*` keep the verified document's type, country and lookup hash
 * from such a submission until it is approved (then the new document is the verified one); the
 * duplicate check looks both up by hash alone, and shows staff the type and country.
 *
 * Nothing to fill in: a verified row's own document is its verified one. Rows already in a
 * re-verification when this runs lost their verified document before it (nothing recorded it).
 */
export class VerifiedDocumentOnFile1763700000012 implements MigrationInterface {
  name = 'VerifiedDocumentOnFile1763700000012';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE users.kyc
        ADD COLUMN verified_document_type text,
        ADD COLUMN verified_country char(2),
        ADD COLUMN verified_document_hash bytea,
        ADD CONSTRAINT kyc_verified_document_check CHECK (
          (verified_document_type IS NULL) = (verified_document_hash IS NULL)
          AND (verified_country IS NULL) = (verified_document_hash IS NULL))`);
    await q.query(
      `CREATE INDEX kyc_verified_document_hash_idx ON users.kyc (verified_document_hash)
        WHERE verified_document_hash IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX users.kyc_verified_document_hash_idx`);
    await q.query(`
      ALTER TABLE users.kyc
        DROP CONSTRAINT kyc_verified_document_check,
        DROP COLUMN verified_document_hash, DROP COLUMN verified_country, DROP COLUMN verified_document_type`);
  }
}
