import type { MigrationInterface, QueryRunner } from 'typeorm';

const CHECK = 'cards_cancel_reason_check';

/**
 * cards.cards.cancel_reason may be account_closed: a closed account's cards are cancelled with it (the
 * cards module's account.closed handler). Outside one transaction, as 1763700000029 is: the check is
 * swapped in a short transaction of its own, NOT VALID (the exclusive lock every authorisation's read of
 * the table waits behind is held for the catalogue change only), then validated under a lock that lets
 * reads and writes go on. Run again after a failure, it starts over. Down turns account_closed back into
 * `closed` (the customer's "no longer needed"), the nearest reason the release before knows.
 */
export class CardsCancelledWithAccount1763700000035 implements MigrationInterface {
  name = 'CardsCancelledWithAccount1763700000035';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await q.startTransaction();
    try {
      await q.query(`ALTER TABLE cards.cards DROP CONSTRAINT IF EXISTS ${CHECK}`);
      await q.query(
        `ALTER TABLE cards.cards ADD CONSTRAINT ${CHECK}
           CHECK (cancel_reason IN ('lost', 'stolen', 'closed', 'account_closed')) NOT VALID`,
      );
      await q.commitTransaction();
    } catch (err) {
      await q.rollbackTransaction();
      throw err;
    }
    await q.query(`ALTER TABLE cards.cards VALIDATE CONSTRAINT ${CHECK}`);
  }

  async down(q: QueryRunner): Promise<void> {
    // A revert runs in a transaction (see 1763700000029): one plain swap.
    await q.query(`UPDATE cards.cards SET cancel_reason = 'closed' WHERE cancel_reason = 'account_closed'`);
    await q.query(`ALTER TABLE cards.cards DROP CONSTRAINT ${CHECK}`);
    await q.query(
      `ALTER TABLE cards.cards ADD CONSTRAINT ${CHECK} CHECK (cancel_reason IN ('lost', 'stolen', 'closed'))`,
    );
  }
}
