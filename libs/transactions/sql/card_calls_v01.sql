-- transactions.card_calls: the card network's calls to the ledger as one batch (group commit, as
-- post_entries is for the application's postings): one round trip, one transaction, one commit for the
-- authorisations, clearings, refunds and hold releases that arrived together (CardHolds' batcher).
--
-- p_items is a JSON array; each item names its call and that function's arguments (bigints as text):
--   {"call": "authorise", hold_id, network_transaction_id, card_id, account, owner, amount, currency,
--    merchant_name, category, daily_limit, monthly_limit, expires_at, time_zone}   -> authorise_card
--   {"call": "clear", entry_id, network_transaction_id, hold_id, card_id, account, owner, amount,
--    currency, merchant_name, category, settlement, request_hash, headers}         -> clear_card
--   {"call": "refund", entry_id, network_transaction_id, account, owner, amount, currency,
--    merchant_name, category, settlement, request_hash, headers}                   -> refund_card
--   {"call": "release", hold_id, amount, reason, network_transaction_id}           -> release_hold
-- The rules stay in those functions: this one only orders the locks and runs them in turn.
--
-- Locks first, in the one order every card call takes them (a hold before its account): the holds the
-- batch clears or releases, in id order, then every ledger row it may change (each item's account and
-- settlement shard, and each locked hold's account), in id order, as post_entries locks. So batches do
-- not deadlock each other or the postings, and each item then finds its rows already locked. Then the
-- items run in arrival order, each seeing what the items before it wrote (limits, funds, a repeated
-- network transaction id replays the earlier item's decision).
--
-- Returns {"items": [...], "accounts": []}: one result per item, in item order, with the fields its
-- function returns (bigints and times as text), including the rows that item changed (accounts), which
-- the caller writes to the balance cache. An unexpected error fails the whole batch, and the caller
-- then runs each item alone.
CREATE FUNCTION transactions.card_calls(p_items jsonb) RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
  it jsonb;
  v_holds uuid[];
  v_rows uuid[];
  v_results jsonb := '[]'::jsonb;
  v_result jsonb;
BEGIN
  SELECT array_agg(x.id ORDER BY x.id) INTO v_holds
    FROM (SELECT x.id FROM transactions.holds x
           WHERE x.id IN (SELECT (i ->> 'hold_id')::uuid FROM jsonb_array_elements(p_items) i
                           WHERE i ->> 'call' IN ('clear', 'release') AND i ->> 'hold_id' IS NOT NULL)
           ORDER BY x.id FOR UPDATE) x;

  SELECT array_agg(DISTINCT r.id ORDER BY r.id) INTO v_rows
    FROM (SELECT (i ->> 'account')::uuid FROM jsonb_array_elements(p_items) i
          UNION ALL SELECT (i ->> 'settlement')::uuid FROM jsonb_array_elements(p_items) i
          UNION ALL SELECT x.account_id FROM transactions.holds x WHERE x.id = ANY (v_holds)) r(id)
   WHERE r.id IS NOT NULL;
  PERFORM 1 FROM transactions.ledger_accounts x WHERE x.id = ANY (v_rows) ORDER BY x.id FOR UPDATE;

  FOR it IN SELECT i FROM jsonb_array_elements(p_items) i LOOP
    CASE it ->> 'call'
    WHEN 'authorise' THEN
      SELECT jsonb_build_object('outcome', c.outcome, 'hold_id', c.hold_id, 'replayed', c.replayed,
                                'accounts', c.accounts)
        INTO v_result
        FROM transactions.authorise_card(
          (it ->> 'hold_id')::uuid, it ->> 'network_transaction_id', (it ->> 'card_id')::uuid,
          (it ->> 'account')::uuid, (it ->> 'owner')::uuid, (it ->> 'amount')::bigint, it ->> 'currency',
          it ->> 'merchant_name', it ->> 'category', (it ->> 'daily_limit')::bigint,
          (it ->> 'monthly_limit')::bigint, (it ->> 'expires_at')::timestamptz, it ->> 'time_zone') c;
    WHEN 'clear' THEN
      SELECT jsonb_build_object('outcome', c.outcome, 'entry_id', c.entry_id, 'created_at', c.created_at,
                                'forced', c.forced, 'replayed', c.replayed, 'accounts', c.accounts)
        INTO v_result
        FROM transactions.clear_card(
          (it ->> 'entry_id')::uuid, it ->> 'network_transaction_id', (it ->> 'hold_id')::uuid,
          (it ->> 'card_id')::uuid, (it ->> 'account')::uuid, (it ->> 'owner')::uuid,
          (it ->> 'amount')::bigint, it ->> 'currency', it ->> 'merchant_name', it ->> 'category',
          (it ->> 'settlement')::uuid, it ->> 'request_hash', it -> 'headers') c;
    WHEN 'refund' THEN
      SELECT jsonb_build_object('outcome', c.outcome, 'entry_id', c.entry_id, 'created_at', c.created_at,
                                'replayed', c.replayed, 'accounts', c.accounts)
        INTO v_result
        FROM transactions.refund_card(
          (it ->> 'entry_id')::uuid, it ->> 'network_transaction_id', (it ->> 'account')::uuid,
          (it ->> 'owner')::uuid, (it ->> 'amount')::bigint, it ->> 'currency', it ->> 'merchant_name',
          it ->> 'category', (it ->> 'settlement')::uuid, it ->> 'request_hash', it -> 'headers') c;
    WHEN 'release' THEN
      SELECT jsonb_build_object('status', c.status, 'remaining', c.remaining::text,
                                'released', c.released::text, 'accounts', c.accounts)
        INTO v_result
        FROM transactions.release_hold((it ->> 'hold_id')::uuid, (it ->> 'amount')::bigint, it ->> 'reason',
                                       it ->> 'network_transaction_id') c;
    END CASE;
    v_results := v_results || jsonb_build_array(v_result);
  END LOOP;
  RETURN jsonb_build_object('items', v_results, 'accounts', '[]'::jsonb);
END
$fn$;
