import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The holder's name in Latin letters as the identity document spells it (a passport's machine-readable
 * zone), given with a KYC submission and verified with it: a card carries it when the legal name is in a
 * script with no Latin spelling (Han, Arabic…), where it carried CARDHOLDER before. On the submission, and
 * on the user once approved. Down drops both columns.
 */
export class LatinNames1763700000056 implements MigrationInterface {
  name = 'LatinNames1763700000056';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users.kyc ADD COLUMN latin_name text`);
    await q.query(`ALTER TABLE users.users ADD COLUMN latin_name text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users.users DROP COLUMN latin_name`);
    await q.query(`ALTER TABLE users.kyc DROP COLUMN latin_name`);
  }
}
