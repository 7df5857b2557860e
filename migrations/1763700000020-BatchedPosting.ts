import type { MigrationInterface, QueryRunner } from 'typeorm';
import { POST_PAYMENT } from './1763700000013-LedgerPayments';
import {
  ACCOUNT_JSON as ACCOUNT_JSON_BEFORE,
  AUTHORISE_CARD as AUTHORISE_CARD_BEFORE,
  POST_ENTRY as POST_ENTRY_BEFORE,
  REFUND_CARD as REFUND_CARD_BEFORE,
} from './1763700000016-CardHolds';
import { CLEAR_CARD as CLEAR_CARD_BEFORE } from './1763700000019-CardClearingOnce';
import { ledgerSql } from './ledger-sql';

/**
 * Batched posting (issue 17), and the ledger's write path moved into `libs/transactions/sql/` (see
 * ledgerSql):
 * - `post_entries(jsonb)` posts a batch of items in one transaction: keys claimed in (owner, key) order,
 *   every row locked once in id order, items decided in arrival order against the running balances,
 *   one write per table. It holds the posting rules that post_entry held.
 * - `post_entry` becomes a batch of one (same parameters, plus p_forget_refusal), for the card
 *   functions. Its outcomes are facts, not HTTP statuses: `http_status` is gone from its result and
 *   from idempotency_keys (the application maps outcomes to statuses), `replayed` is a column rather
 *   than a `replayed:` prefix, and a closed credit account is `credit_account_closed`.
 * - `post_payment` is dropped: a payment is a batch item (its key's refusal forgotten, as post_payment
 *   did) and its outcomes are mapped in TypeScript.
 * - The available-balance rule gets one home, `available_balance_v01.sql`: `spendable` decides (post_entries'
 *   and authorise_card's funds rules call it) and `available_balance` is what the API shows
 *   (account_json carries it to the cache, and the application reads it with every ledger row instead of
 *   computing it).
 * - `clear_card` and `refund_card` follow post_entry's new result; `release_hold` is unchanged,
 *   re-created from its file so that the files are the whole write path.
 */
export class BatchedPosting1763700000020 implements MigrationInterface {
  name = 'BatchedPosting1763700000020';

  async up(q: QueryRunner): Promise<void> {
    for (const fn of ['post_payment', 'clear_card', 'refund_card', 'post_entry']) {
      await q.query(`DROP FUNCTION transactions.${fn}`);
    }
    await q.query(`ALTER TABLE transactions.idempotency_keys DROP COLUMN http_status`);
    for (const file of [
      'available_balance_v01.sql',
      'account_json_v01.sql',
      'post_entries_v01.sql',
      'post_entry_v01.sql',
      'authorise_card_v01.sql',
      'release_hold_v01.sql',
      'clear_card_v01.sql',
      'refund_card_v01.sql',
    ]) {
      await q.query(ledgerSql(file));
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const fn of ['refund_card', 'clear_card', 'post_entry', 'post_entries']) {
      await q.query(`DROP FUNCTION transactions.${fn}`);
    }
    await q.query(`DROP TYPE transactions.posting_item`);
    await q.query(`ALTER TABLE transactions.idempotency_keys ADD COLUMN http_status smallint`);
    // The statuses the earlier post_entry kept with each outcome (and its one word for a closed account).
    await q.query(`
      UPDATE transactions.idempotency_keys SET
        outcome = CASE outcome WHEN 'credit_account_closed' THEN 'account_closed' ELSE outcome END,
        http_status = CASE outcome
          WHEN 'posted' THEN 201
          WHEN 'debit_not_found' THEN 404 WHEN 'credit_not_found' THEN 404
          WHEN 'own_account' THEN 403
          WHEN 'account_closed' THEN 409 WHEN 'credit_account_closed' THEN 409
          WHEN 'account_frozen' THEN 409 WHEN 'already_reversed' THEN 409
          ELSE 422 END
       WHERE outcome IS NOT NULL`);
    await q.query(ACCOUNT_JSON_BEFORE);
    await q.query(AUTHORISE_CARD_BEFORE.replace('CREATE FUNCTION', 'CREATE OR REPLACE FUNCTION'));
    await q.query(`DROP FUNCTION transactions.available_balance`);
    await q.query(`DROP FUNCTION transactions.spendable`);
    await q.query(POST_ENTRY_BEFORE);
    await q.query(POST_PAYMENT);
    await q.query(CLEAR_CARD_BEFORE);
    await q.query(REFUND_CARD_BEFORE);
  }
}
