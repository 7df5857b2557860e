import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The card authorisations still pending, by age: what the hold-expiry sweep's reconcile pass reads every
 * run (pending ones are few, live at most CARD_HOLD_EXPIRY_DAYS; the table keeps every authorisation).
 */
export class PendingAuthorisations1763700000027 implements MigrationInterface {
  name = 'PendingAuthorisations1763700000027';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX authorisations_pending_idx ON cards.authorisations (created_at) WHERE status = 'pending'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX cards.authorisations_pending_idx`);
  }
}
