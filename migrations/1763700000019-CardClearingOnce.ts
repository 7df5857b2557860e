import type { MigrationInterface, QueryRunner } from 'typeorm';
import { CLEAR_CARD as CLEAR_CARD_BEFORE } from './1763700000016-CardHolds';

/**
 * One clearing per authorisation, whatever became of its hold. CardHolds' clear_card refused a second
 * clearing of a hold only while the first had found it active (status cleared): a clearing that came
 * after a reversal or expiry was posted as forced and left the hold as it was, so every further
 * clearing of that authorisation (another network id) was posted too, charging the customer again.
 * Now a forced clearing of a known hold writes its entry on the hold (transaction_id; the status stays
 * reversed or expired), and a hold with an entry refuses any other clearing (hold_not_found, 409
 * already_cleared), as a cleared one always did. A replay tells forced by the hold's status.
 */
export class CardClearingOnce1763700000019 implements MigrationInterface {
  name = 'CardClearingOnce1763700000019';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION transactions.clear_card`);
    await q.query(CLEAR_CARD);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP FUNCTION transactions.clear_card`);
    await q.query(CLEAR_CARD_BEFORE);
  }
}

function replaceOnce(text: string, before: string, after: string): string {
  const at = text.indexOf(before);
  if (at < 0 || text.indexOf(before, at + 1) >= 0) {
    throw new Error(`clear_card: the text to change is not there once: ${before.trim().split('\n')[0]}`);
  }
  return text.slice(0, at) + after + text.slice(at + before.length);
}

const REFUSAL_BEFORE = `
            OR h.status IN ('cleared', 'declined')) THEN`;
const REFUSAL = `
            OR h.status IN ('cleared', 'declined') OR h.transaction_id IS NOT NULL) THEN`;

const REPLAY_BEFORE = `
    forced := NOT EXISTS (SELECT 1 FROM transactions.holds x WHERE x.transaction_id = clear_card.entry_id);`;
const REPLAY = `
    forced := NOT EXISTS (SELECT 1 FROM transactions.holds x
                           WHERE x.transaction_id = clear_card.entry_id AND x.status = 'cleared');`;

const FORCED_BEFORE = `
  forced := h.id IS NULL OR h.status <> 'active';
  IF NOT forced THEN`;
const FORCED = `
  forced := h.id IS NULL OR h.status <> 'active';
  IF forced AND h.id IS NOT NULL THEN
    -- Reversed or expired: nothing to release, but this is its clearing, and the only one.
    UPDATE transactions.holds x SET transaction_id = p_entry_id, updated_at = clear_card.created_at
     WHERE x.id = h.id;
  ELSIF NOT forced THEN`;

/** clear_card as CardHolds made it, with the three changes above (derived, so the rest is the same). */
export const CLEAR_CARD = replaceOnce(
  replaceOnce(replaceOnce(CLEAR_CARD_BEFORE, REFUSAL_BEFORE, REFUSAL), REPLAY_BEFORE, REPLAY),
  FORCED_BEFORE,
  FORCED,
);
