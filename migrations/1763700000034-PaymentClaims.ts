import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * payments.payments.claim_id: which sweep's claim a `processing` payment is under. Sweeps run one at a
 * time under a session advisory lock, but a sweep whose lock connection died runs on while another takes
 * the lock and claims the same payments again; the first could then record its outcome (a refusal, say:
 * failed, the customer told so) over a posting the second made. Now only the latest claim records.
 * A nullable column with no default: no table rewrite.
 */
export class PaymentClaims1763700000034 implements MigrationInterface {
  name = 'PaymentClaims1763700000034';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE payments.payments ADD COLUMN claim_id uuid`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE payments.payments DROP COLUMN claim_id`);
  }
}
