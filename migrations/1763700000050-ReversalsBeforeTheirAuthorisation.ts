import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The network ids of authorisations the network reversed in full by their own id
 * (`original_network_transaction_id`) while no decision of them was recorded: the reversal came while the
 * authorisation was being decided, or before it reached us. An approval recorded after its reversal
 * finds the id here and gives its hold back (CardNetworkService.authorise); the reversal, having written
 * the id first, looks for the approval after it released the hold. Kept CARD_HOLD_EXPIRY_DAYS (the hold
 * expiry sweep deletes older ones). Down drops the table.
 */
export class ReversalsBeforeTheirAuthorisation1763700000050 implements MigrationInterface {
  name = 'ReversalsBeforeTheirAuthorisation1763700000050';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE cards.early_reversals (
        network_transaction_id text PRIMARY KEY,
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX early_reversals_created_idx ON cards.early_reversals (created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE cards.early_reversals');
  }
}
