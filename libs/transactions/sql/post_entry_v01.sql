-- transactions.post_entry: one posting, as a batch of one through transactions.post_entries (where the
-- rules are). For the ledger's own SQL callers (card clearings and refunds); the application posts
-- through the batcher (PostingBatcher), which calls post_entries directly.
CREATE FUNCTION transactions.post_entry(
  p_entry_id uuid, p_kind text, p_debit uuid, p_credit uuid, p_amount bigint, p_currency char(3),
  p_reference text, p_merchant text, p_category text, p_reverses uuid, p_initiated_by uuid,
  p_debit_owner uuid, p_not_owner uuid, p_allow_frozen boolean,
  p_idem_owner uuid, p_idem_key text, p_request_hash text, p_event_headers jsonb,
  p_staff_action jsonb DEFAULT NULL, p_ignore_funds boolean DEFAULT false, p_forget_refusal boolean DEFAULT false,
  OUT outcome text, OUT replayed boolean, OUT entry_id uuid, OUT created_at timestamptz, OUT accounts jsonb
) LANGUAGE plpgsql AS $fn$
DECLARE
  v_result jsonb;
BEGIN
  v_result := transactions.post_entries(jsonb_build_array(to_jsonb(ROW(
    p_entry_id, p_kind, p_debit, p_credit, p_amount, p_currency, p_reference, p_merchant, p_category,
    p_reverses, p_initiated_by, p_debit_owner, p_not_owner, p_allow_frozen, p_ignore_funds, p_idem_owner,
    p_idem_key, p_request_hash, p_forget_refusal, p_event_headers, p_staff_action)::transactions.posting_item)));
  outcome := v_result -> 'items' -> 0 ->> 'outcome';
  replayed := (v_result -> 'items' -> 0 ->> 'replayed')::boolean;
  entry_id := (v_result -> 'items' -> 0 ->> 'entry_id')::uuid;
  created_at := (v_result -> 'items' -> 0 ->> 'created_at')::timestamptz;
  accounts := CASE WHEN outcome = 'posted' AND NOT replayed THEN v_result -> 'accounts' END;
END
$fn$;
