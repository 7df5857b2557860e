import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Reversals of a recorded, pending authorisation while their ledger call is under way: written before the
 * call, deleted with the reversal's own record. One left behind (the call timed out, or the app stopped
 * during it) is looked at by the hold expiry sweep at next_check_at: when the ledger did release the hold,
 * the authorisation is marked as its hold reads, instead of reading pending until a hold's life has passed.
 * Down drops the table.
 */
export class ReversalsInFlight1763700000052 implements MigrationInterface {
  name = 'ReversalsInFlight1763700000052';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE cards.reversals_in_flight (
        authorisation_id uuid PRIMARY KEY,
        next_check_at timestamptz(3) NOT NULL DEFAULT now() + interval '30 seconds'
      )`);
    await q.query(
      `CREATE INDEX reversals_in_flight_next_check_idx ON cards.reversals_in_flight (next_check_at)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE cards.reversals_in_flight');
  }
}
