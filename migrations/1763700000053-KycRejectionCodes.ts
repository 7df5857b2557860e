import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Why staff rejected an identity check, by code (KYC_REJECTION_REASONS): the customer is told the bank's
 * wording for it, in `rejection_reason`, and the reviewer's note goes to the audit trail only. Rows
 * rejected before keep the reviewer's text in `rejection_reason` and no code. Down drops the column (the
 * wording stays in `rejection_reason`).
 */
export class KycRejectionCodes1763700000053 implements MigrationInterface {
  name = 'KycRejectionCodes1763700000053';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users.kyc ADD COLUMN rejection_code text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users.kyc DROP COLUMN rejection_code`);
  }
}
