import type { MigrationInterface, QueryRunner } from 'typeorm';

const STATUSES = `'pending', 'cleared', 'reversed', 'expired', 'declined'`;

/**
 * What the card network API needs besides the authorisations table:
 * - an authorisation is first recorded `authorising` (the decision being made, its hold id reserved)
 *   and then decided, so that a retry after a crash between the ledger's decision and its recording
 *   finds the same hold id and completes it, instead of placing a second hold;
 * - `released_amount`: what reversals gave back of a hold so far (a partial reversal leaves it pending);
 * - `cards.network_messages`: the answer given to each clearing, reversal and refund, by its network
 *   transaction id, so that a retried message gets the same answer and changes nothing.
 */
export class CardNetworkMessages1763700000018 implements MigrationInterface {
  name = 'CardNetworkMessages1763700000018';

  async up(q: QueryRunner): Promise<void> {
    await this.statuses(q, `'authorising', ${STATUSES}`);
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
    // Undecided authorisations were never answered: the network retries them, or they lapse.
    await q.query(`DELETE FROM cards.authorisations WHERE status = 'authorising'`);
    await this.statuses(q, STATUSES);
  }

  private async statuses(q: QueryRunner, statuses: string): Promise<void> {
    await q.query(`
      ALTER TABLE cards.authorisations
        DROP CONSTRAINT authorisations_status_check,
        ADD CONSTRAINT authorisations_status_check CHECK (status IN (${statuses}))`);
  }
}
