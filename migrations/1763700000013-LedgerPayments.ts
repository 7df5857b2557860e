import type { MigrationInterface, QueryRunner } from 'typeorm';
import { CURRENCIES, SHARDS } from './1763700000006-AccountsAndLedger';
import { POST_ENTRY as POST_ENTRY_BEFORE } from './1763700000010-StaffControlsAndDocumentHashes';

/**
 * The ledger side of payments (standing orders and scheduled payments, posted by the payments module
 * through TRANSACTIONS_API.pay):
 * - `outbound_clearing`, a sharded system account like cash: a payment to an external payee is credited
 *   to it, and a payment-scheme adapter (outside Protobank) sends the money on from there.
 * - `post_entry` lets standing_order and scheduled_payment entries credit that account (and no other
 *   system account); nothing else in it changes (see POST_ENTRY below).
 * - `post_payment` posts one payment through post_entry under the payer's idempotency key (see its
 *   comment: unlike a transfer's, a refused payment's key is not kept).
 * - Payment keys are kept for good (the retention prune skips them, through a partial index of the
 *   others): the payments module relies on a posted payment replaying whenever it asks again.
 *
 * down() leaves the outbound_clearing shards that have postings: the ledger is append-only, and the
 * money that left through them stays accounted for (the restored post_entry only refuses new credits to
 * them). up() then fills in the shards that are missing.
 */
export class LedgerPayments1763700000013 implements MigrationInterface {
  name = 'LedgerPayments1763700000013';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `INSERT INTO transactions.ledger_accounts (id, kind, system_code, shard, currency)
       SELECT gen_random_uuid(), 'system', 'outbound_clearing', shard, currency
         FROM unnest($1::text[]) currency, generate_series(0, $2 - 1) shard
       ON CONFLICT ON CONSTRAINT ledger_accounts_system_unique DO NOTHING`,
      [CURRENCIES, SHARDS],
    );
    await q.query(`DROP FUNCTION transactions.post_entry`);
    await q.query(POST_ENTRY);
    await q.query(POST_PAYMENT);
    await q.query(`DROP INDEX transactions.idempotency_keys_created_idx`);
    await q.query(
      `CREATE INDEX idempotency_keys_expiring_idx ON transactions.idempotency_keys (created_at)
        WHERE ${NOT_PAYMENT_KEY}`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX transactions.idempotency_keys_expiring_idx`);
    await q.query(`CREATE INDEX idempotency_keys_created_idx ON transactions.idempotency_keys (created_at)`);
    await q.query(`DROP FUNCTION transactions.post_payment`);
    await q.query(`DROP FUNCTION transactions.post_entry`);
    await q.query(POST_ENTRY_BEFORE);
    await q.query(`
      DELETE FROM transactions.ledger_accounts a
       WHERE a.system_code = 'outbound_clearing'
         AND NOT EXISTS (SELECT 1 FROM transactions.postings p WHERE p.account_id = a.id)`);
  }
}

/**
 * What post_payment puts before a payment's key. A space cannot occur in an Idempotency-Key header
 * (1-255 visible ASCII characters), so a customer's own request can never claim, or collide with, the
 * key of one of their payments.
 */
const PAYMENT_KEY_PREFIX = 'payment ';

/** The idempotency keys the retention prune may delete: all but payments' (kept for good). */
const NOT_PAYMENT_KEY = `key NOT LIKE '${PAYMENT_KEY_PREFIX}%'`;

const RULE_BEFORE = `
  ELSIF c.id IS NULL OR (c.kind = 'system' AND p_kind NOT IN ('card', 'fee', 'reversal')) THEN
    -- Only card spends, fees and reversals pay into a system account.
    outcome := 'credit_not_found'; http_status := 404;`;
const RULE = `
  ELSIF c.id IS NULL OR (c.kind = 'system' AND p_kind NOT IN ('card', 'fee', 'reversal')
                         AND NOT (p_kind IN ('standing_order', 'scheduled_payment')
                                  AND c.system_code = 'outbound_clearing')) THEN
    -- Only card spends, fees and reversals pay into a system account, and payments to an external
    -- payee into outbound clearing.
    outcome := 'credit_not_found'; http_status := 404;`;

function replaceOnce(text: string, before: string, after: string): string {
  const at = text.indexOf(before);
  if (at < 0 || text.indexOf(before, at + 1) >= 0)
    throw new Error('post_entry: the rule to change is not there once');
  return text.slice(0, at) + after + text.slice(at + before.length);
}

/**
 * transactions.post_entry as StaffControlsAndDocumentHashes made it, with one rule changed: a standing
 * order's or scheduled payment's entry may credit the outbound_clearing system account. Derived from
 * that text, so everything else is the same by construction.
 */
export const POST_ENTRY = replaceOnce(POST_ENTRY_BEFORE, RULE_BEFORE, RULE);

/**
 * Posts one payment through post_entry: the payer's account is debited and must be theirs (p_owner),
 * the entry is initiated by them, and it is kept under the payer's idempotency key
 * PAYMENT_KEY_PREFIX || p_key with p_request_hash, so a repeated call replays the posted entry (with its
 * time) and the same key with another payment is idempotency_key_reused.
 *
 * Unlike a transfer's key, a refusal is not kept: when post_entry refuses, the key row it claimed is
 * deleted again in the same transaction. A payment is retried on a schedule (after insufficient funds,
 * a freeze lifted) and each attempt must be decided on the account as it is then; the key still
 * serialises concurrent attempts (a second one waits on the key's unique index until the first commits,
 * then replays its posting, or, when the first was refused, claims the key and is decided anew).
 *
 * post_entry's account_closed names no side: here it stays account_closed when the payer's account is
 * closed and becomes payee_account_closed otherwise (the rows are still locked, so their status is the
 * one post_entry saw).
 */
export const POST_PAYMENT = `
CREATE FUNCTION transactions.post_payment(
  p_entry_id uuid, p_kind text, p_owner uuid, p_debit uuid, p_credit uuid, p_amount bigint, p_currency char(3),
  p_reference text, p_merchant text, p_key text, p_request_hash text, p_event_headers jsonb,
  OUT outcome text, OUT http_status int, OUT entry_id uuid, OUT created_at timestamptz, OUT accounts jsonb
) LANGUAGE plpgsql AS $fn$
DECLARE
  v_key text := '${PAYMENT_KEY_PREFIX}' || p_key;
BEGIN
  IF p_kind IS NULL OR p_kind NOT IN ('standing_order', 'scheduled_payment') THEN
    RAISE EXCEPTION 'post_payment posts standing_order and scheduled_payment entries, not %', p_kind
      USING ERRCODE = 'invalid_parameter_value';
  END IF;

  SELECT pe.outcome, pe.http_status, pe.entry_id, pe.created_at, pe.accounts
    INTO outcome, http_status, entry_id, created_at, accounts
    FROM transactions.post_entry(
      p_entry_id => p_entry_id, p_kind => p_kind, p_debit => p_debit, p_credit => p_credit,
      p_amount => p_amount, p_currency => p_currency, p_reference => p_reference, p_merchant => p_merchant,
      p_category => NULL, p_reverses => NULL, p_initiated_by => p_owner, p_debit_owner => p_owner,
      p_not_owner => NULL, p_allow_frozen => false, p_idem_owner => p_owner, p_idem_key => v_key,
      p_request_hash => p_request_hash, p_event_headers => p_event_headers) pe;

  IF outcome LIKE 'replayed:%' THEN
    SELECT e.created_at INTO created_at FROM transactions.entries e WHERE e.id = post_payment.entry_id;
  ELSIF outcome NOT IN ('posted', 'idempotency_key_reused') THEN
    -- Refused: forget the key (idempotency_key_reused claimed none: the key is another payment's).
    DELETE FROM transactions.idempotency_keys i WHERE i.owner_id = p_owner AND i.key = v_key;
    IF outcome = 'account_closed'
       AND NOT EXISTS (SELECT 1 FROM transactions.ledger_accounts a WHERE a.id = p_debit AND a.status = 'closed') THEN
      outcome := 'payee_account_closed';
    END IF;
  END IF;
END
$fn$`;
