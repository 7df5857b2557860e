import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the card network API needs besides the authorisations table:
 * - a forced post (a clearing with no authorisation) is listed with the card's authorisations, as cleared
 *   and forced, with no channel: `channel` may be null;
 * - `released_amount`: what reversals gave back of a hold so far (a partial reversal leaves it pending);
 * - `cards.network_messages`: the answer given to each clearing, reversal and refund, by its network
 *   transaction id, so that a retried message gets the same answer and changes nothing.
 */
export class CardNetworkMessages1763700000018 implements MigrationInterface {
  name = 'CardNetworkMessages1763700000018';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE cards.authorisations ALTER COLUMN channel DROP NOT NULL`);
    await q.query(
      `ALTER TABLE cards.authorisations
         ADD COLUMN released_amount bigint NOT NULL DEFAULT 0 CHECK (released_amount >= 0)`,
    );
    await q.query(`
      CREATE TABLE cards.network_messages (
        kind text NOT NULL CHECK (kind IN ('clearing', 'reversal', 'refund')),
        network_transaction_id text NOT NULL,
        -- The request it answered: the same id with another request is refused, not replayed.
        request_hash text NOT NULL,
        response jsonb NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        PRIMARY KEY (kind, network_transaction_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE cards.network_messages`);
    await q.query(`ALTER TABLE cards.authorisations DROP COLUMN released_amount`);
    // The previous release lists authorisations only: forced posts stay in the ledger and its events.
    await q.query(`DELETE FROM cards.authorisations WHERE channel IS NULL`);
    await q.query(`ALTER TABLE cards.authorisations ALTER COLUMN channel SET NOT NULL`);
  }
}
