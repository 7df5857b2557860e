import type { MigrationInterface, QueryRunner } from 'typeorm';
import { POST_ENTRY as POST_ENTRY_BEFORE } from './1763700000006-AccountsAndLedger';

/**
 * Staff controls and their audit trail, and identity documents found by a keyed hash.
 * - The ledger knows who froze an account (`frozen_by`, `frozen_at`): only that staff member or an admin
 *   lifts a freeze. Accounts frozen before this migration have no author, so only an admin lifts them.
 *   The columns describe the current freeze and mean nothing while the account is not frozen: the code
 *   sets them on every freeze and reads them only on a frozen row. No CHECK ties them to the status,
 *   because an instance of the previous release, still running while a deployment rolls, freezes and
 *   unfreezes by setting `status` alone: its unfreeze leaves them set (harmless: the next freeze by new
 *   code writes its own author). What remains until the old instances are gone: a freeze made by an old
 *   instance on an account whose earlier freeze was lifted by an old instance carries that earlier
 *   freeze's author, who could lift it without an admin. (No trigger instead: every posting updates
 *   this table.)
 * - `post_entry` takes the staff action behind an entry (a deposit, a reversal) and writes it to the
 *   outbox as `staff_action.recorded` with the entry. The new parameter has a default, so code that
 *   calls it the old way keeps working while a deployment rolls.
 * - Audit entries name the actor's role, the resource (type and id), the state before and after, and
 *   the reason; entries already stored get them from their details. Indexes serve the list's filters.
 * - KYC submissions carry an HMAC-SHA-256 of the normalised document number, by which the duplicate
 *   check finds the same number on another user's submission. Existing rows have only the
 *   ciphertext, and a migration has no key: the users module fills them in at start-up (and before any
 *   approval), in batches.
 */
export class StaffControlsAndDocumentHashes1763700000010 implements MigrationInterface {
  name = 'StaffControlsAndDocumentHashes1763700000010';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE transactions.ledger_accounts
        ADD COLUMN frozen_by uuid,
        ADD COLUMN frozen_at timestamptz(3)`);
    await q.query(`DROP FUNCTION transactions.post_entry`);
    await q.query(POST_ENTRY);

    await q.query(`
      ALTER TABLE users.audit_log
        ADD COLUMN actor_role text,
        ADD COLUMN resource_type text,
        ADD COLUMN resource_id uuid,
        ADD COLUMN before jsonb,
        ADD COLUMN after jsonb,
        ADD COLUMN reason text`);
    // Every entry so far was about a user (role, disabling) or their KYC, and always named them.
    await q.query(`
      UPDATE users.audit_log SET
        resource_type = CASE WHEN action LIKE 'kyc_%' THEN 'kyc' ELSE 'user' END,
        resource_id = coalesce(target_user_id, actor_id),
        before = CASE action
          WHEN 'role_changed' THEN jsonb_build_object('role', details->'from')
          WHEN 'user_disabled' THEN '{"disabled": false}'
          WHEN 'user_enabled' THEN '{"disabled": true}'
          WHEN 'kyc_approved' THEN '{"status": "pending"}'
          WHEN 'kyc_rejected' THEN '{"status": "pending"}' END,
        after = CASE action
          WHEN 'role_changed' THEN jsonb_build_object('role', details->'to')
          WHEN 'user_disabled' THEN '{"disabled": true}'
          WHEN 'user_enabled' THEN '{"disabled": false}'
          WHEN 'kyc_approved' THEN '{"status": "verified"}'
          WHEN 'kyc_rejected' THEN '{"status": "rejected"}' END,
        reason = details->>'reason'`);
    await q.query(
      `ALTER TABLE users.audit_log ALTER COLUMN resource_type SET NOT NULL, ALTER COLUMN resource_id SET NOT NULL`,
    );
    // GET /admin/audit pages newest first, optionally by actor, target user, action or resource.
    for (const column of ['actor_id', 'target_user_id', 'action', 'resource_id']) {
      await q.query(
        `CREATE INDEX audit_log_${column.replace('_id', '')}_idx ON users.audit_log (${column}, created_at DESC, id DESC)`,
      );
    }

    await q.query(`ALTER TABLE users.kyc ADD COLUMN document_number_hash bytea`);
    // The duplicate check looks a number up by its hash alone (any document type or country), among the
    // submissions that count: pending and verified ones.
    await q.query(
      `CREATE INDEX kyc_document_hash_idx ON users.kyc (document_number_hash) WHERE status IN ('pending', 'verified')`,
    );
    // What the start-up backfill looks for; empty once it has run.
    await q.query(
      `CREATE INDEX kyc_document_hash_missing_idx ON users.kyc (user_id) WHERE document_number_hash IS NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX users.kyc_document_hash_missing_idx`);
    await q.query(`DROP INDEX users.kyc_document_hash_idx`);
    await q.query(`ALTER TABLE users.kyc DROP COLUMN document_number_hash`);

    for (const column of ['actor_id', 'target_user_id', 'action', 'resource_id']) {
      await q.query(`DROP INDEX users.audit_log_${column.replace('_id', '')}_idx`);
    }
    await q.query(`
      ALTER TABLE users.audit_log
        DROP COLUMN reason, DROP COLUMN after, DROP COLUMN before, DROP COLUMN resource_id,
        DROP COLUMN resource_type, DROP COLUMN actor_role`);

    await q.query(`DROP FUNCTION transactions.post_entry`);
    await q.query(POST_ENTRY_BEFORE);
    await q.query(`
      ALTER TABLE transactions.ledger_accounts
        DROP COLUMN frozen_at, DROP COLUMN frozen_by`);
  }
}

/**
 * transactions.post_entry as AccountsAndLedger made it (see the comment there), plus p_staff_action: when
 * given, the staff action behind the entry is written to the outbox as staff_action.recorded next to
 * transaction.created, completed with the event id, the entry's time and the customer affected.
 */
export const POST_ENTRY = `
CREATE FUNCTION transactions.post_entry(
  p_entry_id uuid, p_kind text, p_debit uuid, p_credit uuid, p_amount bigint, p_currency char(3),
  p_reference text, p_merchant text, p_category text, p_reverses uuid, p_initiated_by uuid,
  p_debit_owner uuid, p_not_owner uuid, p_allow_frozen boolean,
  p_idem_owner uuid, p_idem_key text, p_request_hash text, p_event_headers jsonb,
  p_staff_action jsonb DEFAULT NULL,
  OUT outcome text, OUT http_status int, OUT entry_id uuid, OUT created_at timestamptz, OUT accounts jsonb
) LANGUAGE plpgsql AS $fn$
DECLARE
  r transactions.ledger_accounts;
  d transactions.ledger_accounts;
  c transactions.ledger_accounts;
  k transactions.idempotency_keys;
  v_now timestamptz;
  v_at text;
BEGIN
  IF p_idem_key IS NOT NULL THEN
    INSERT INTO transactions.idempotency_keys AS i (owner_id, key, request_hash)
    VALUES (p_idem_owner, p_idem_key, p_request_hash) ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
      SELECT * INTO k FROM transactions.idempotency_keys i WHERE i.owner_id = p_idem_owner AND i.key = p_idem_key;
      IF k.request_hash <> p_request_hash THEN
        outcome := 'idempotency_key_reused'; http_status := 422; RETURN;
      END IF;
      outcome := 'replayed:' || k.outcome; http_status := k.http_status; entry_id := k.entry_id; RETURN;
    END IF;
  END IF;

  FOR r IN SELECT * FROM transactions.ledger_accounts a WHERE a.id IN (p_debit, p_credit) ORDER BY a.id FOR UPDATE
  LOOP
    IF r.id = p_debit THEN d := r; ELSE c := r; END IF;
  END LOOP;

  IF p_debit = p_credit THEN
    outcome := 'same_account'; http_status := 422;
  ELSIF d.id IS NULL OR (p_debit_owner IS NOT NULL AND d.owner_id IS DISTINCT FROM p_debit_owner) THEN
    outcome := 'debit_not_found'; http_status := 404;
  ELSIF c.id IS NULL OR (c.kind = 'system' AND p_kind NOT IN ('card', 'fee', 'reversal')) THEN
    -- Only card spends, fees and reversals pay into a system account.
    outcome := 'credit_not_found'; http_status := 404;
  ELSIF p_not_owner IS NOT NULL AND p_not_owner IN (d.owner_id, c.owner_id) THEN
    -- Staff never move money on their own accounts.
    outcome := 'own_account'; http_status := 403;
  ELSIF d.status = 'closed' OR c.status = 'closed' THEN
    outcome := 'account_closed'; http_status := 409;
  ELSIF NOT p_allow_frozen AND d.status = 'frozen' THEN
    -- A freeze stops money leaving. Payments in still land: bouncing them would tell a third party
    -- that the account is frozen (and tip off its holder).
    outcome := 'account_frozen'; http_status := 409;
  ELSIF d.currency <> p_currency OR c.currency <> p_currency THEN
    outcome := 'currency_mismatch'; http_status := 422;
  ELSIF p_reverses IS NOT NULL AND EXISTS (SELECT 1 FROM transactions.entries e WHERE e.reverses_id = p_reverses) THEN
    outcome := 'already_reversed'; http_status := 409;
  ELSIF d.overdraft_limit IS NOT NULL AND d.balance - p_amount < -d.overdraft_limit THEN
    outcome := 'insufficient_funds'; http_status := 422;
  ELSE
    outcome := 'posted'; http_status := 201; entry_id := p_entry_id;
  END IF;

  IF outcome = 'posted' THEN
    -- Taken under the locks, so an account's postings are in time order as well as version order.
    v_now := date_trunc('milliseconds', clock_timestamp());
    created_at := v_now;
    UPDATE transactions.ledger_accounts a SET balance = a.balance - p_amount, version = a.version + 1, updated_at = v_now
     WHERE a.id = d.id RETURNING * INTO d;
    UPDATE transactions.ledger_accounts a SET balance = a.balance + p_amount, version = a.version + 1, updated_at = v_now
     WHERE a.id = c.id RETURNING * INTO c;
    INSERT INTO transactions.entries (id, kind, debit_account_id, credit_account_id, amount, currency, reference,
                                      merchant, category, reverses_id, initiated_by, created_at)
    VALUES (p_entry_id, p_kind, d.id, c.id, p_amount, p_currency, p_reference,
            p_merchant, p_category, p_reverses, p_initiated_by, v_now);
    INSERT INTO transactions.postings (account_id, account_version, entry_id, amount, currency, balance_after, created_at)
    VALUES (d.id, d.version, p_entry_id, -p_amount, p_currency, d.balance, v_now),
           (c.id, c.version, p_entry_id, p_amount, p_currency, c.balance, v_now);
    v_at := to_char(v_now AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
    INSERT INTO transactions.outbox (id, name, payload, headers)
    SELECT ev.id, 'transaction.created', jsonb_build_object(
             'event_id', ev.id, 'occurred_at', v_at, 'transaction_id', p_entry_id, 'kind', p_kind,
             'from_account_id', d.id, 'from_owner_id', d.owner_id, 'to_account_id', c.id, 'to_owner_id', c.owner_id,
             'amount', p_amount, 'currency', p_currency, 'reference', p_reference, 'merchant', p_merchant,
             'category', p_category, 'reverses_id', p_reverses, 'created_at', v_at),
           coalesce(p_event_headers, '{}')
      FROM (SELECT gen_random_uuid() AS id) ev;
    IF p_staff_action IS NOT NULL THEN
      -- The staff action behind the entry (a deposit, a reversal), for the audit trail: recorded if and
      -- only if the money moved. The customer affected is the one debited, else the one credited.
      INSERT INTO transactions.outbox (id, name, payload, headers)
      SELECT ev.id, 'staff_action.recorded', p_staff_action || jsonb_build_object(
               'event_id', ev.id, 'occurred_at', v_at, 'target_user_id', coalesce(d.owner_id, c.owner_id)),
             coalesce(p_event_headers, '{}')
        FROM (SELECT gen_random_uuid() AS id) ev;
    END IF;
  END IF;

  IF p_idem_key IS NOT NULL THEN
    UPDATE transactions.idempotency_keys i SET http_status = post_entry.http_status, outcome = post_entry.outcome,
           entry_id = post_entry.entry_id
     WHERE i.owner_id = p_idem_owner AND i.key = p_idem_key;
  END IF;

  IF outcome = 'posted' THEN
    -- bigint as text: JSON numbers would lose precision beyond 2^53 on their way to JavaScript.
    accounts := jsonb_build_array(transactions.account_json(d), transactions.account_json(c));
  END IF;
END
$fn$`;
