-- transactions.card_calls, version 2. Changed from version 1: a refund item's hold_id (the payment it
-- refunds, when the network named it) goes to refund_card (version 2), which checks the refund against
-- that payment under the account's lock this function has taken.
--
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
--    merchant_name, category, settlement, request_hash, headers, hold_id?}         -> refund_card
--   {"call": "release", hold_id, amount, reason, network_transaction_id}           -> release_hold
-- The rules stay in those functions: this one only orders the locks and runs them in turn.
--
-- Locks first, in one order:
-- 1. each network transaction id the batch names, as a transaction-level advisory lock (two-int form,
--    key space 0x636e6964 "cnid", hashtext of the id) in key order: two batches that name the same ids
--    (a network's retries) take turns instead of each claiming one id (a hold's, a release's, a clearing's
--    or refund's key) and then waiting for the other's;
-- 2. the holds the batch clears or releases, in id order;
-- 3. every ledger row it may change (each item's account and settlement shard, and each locked hold's
--    account), in id order, as post_entries locks.
-- A hold before its account is the order every card call takes them, and ledger rows in id order every
-- posting's, so batches do not deadlock each other or the postings, and each item then finds its rows
-- already locked. A hold a clearing or release names that was not there to lock in step 2 (its
-- authorisation committed since) would be locked, with its account, out of that order: a batch of more
-- than one call stops with SQLSTATE 40001 before that item, and its calls are run one by one (alone, a
-- release holds no row then, and a clearing only its own account and shard, which a concurrent call on
-- that hold would want after it: a deadlock Postgres would end, not an innocent batch). Then the items run in arrival
-- order, each seeing what the items before it wrote (limits, funds, a repeated network transaction id
-- replays the earlier item's decision).
--
-- Returns {"items": [...], "accounts": [...]}: one result per item, in item order, with the fields its
-- function returns but the rows it changed (bigints and times as text); and every ledger row the batch
-- changed, once, as the batch left it, for the caller to write to the balance cache after the commit.
-- An unexpected error fails the whole batch, and the caller then runs each item alone.
DROP FUNCTION transactions.card_calls(jsonb);
CREATE FUNCTION transactions.card_calls(p_items jsonb) RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
  it jsonb;
  v_holds uuid[];
  v_rows uuid[];
  v_created uuid[] := '{}';
  v_key integer;
  v_results jsonb := '[]'::jsonb;
  v_result jsonb;
  v_changed jsonb := '{}'::jsonb; -- ledger row id -> its row as the latest item that changed it left it
BEGIN
  FOR v_key IN
    SELECT DISTINCT hashtext(i ->> 'network_transaction_id') FROM jsonb_array_elements(p_items) i
     WHERE i ->> 'network_transaction_id' IS NOT NULL ORDER BY 1
  LOOP
    PERFORM pg_advisory_xact_lock(x'636e6964'::integer, v_key);
  END LOOP;

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
    IF jsonb_array_length(p_items) > 1 AND it ->> 'call' IN ('clear', 'release') AND it ->> 'hold_id' IS NOT NULL
       AND NOT (it ->> 'hold_id')::uuid = ANY (coalesce(v_holds, '{}') || v_created)
       AND EXISTS (SELECT 1 FROM transactions.holds x WHERE x.id = (it ->> 'hold_id')::uuid) THEN
      RAISE EXCEPTION 'card_calls: hold % appeared after the batch took its locks', it ->> 'hold_id'
        USING ERRCODE = 'serialization_failure';
    END IF;
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
      -- Its own hold (new, so locked by this transaction, under its account's lock) may be cleared or
      -- released by a later item.
      IF NOT (v_result ->> 'replayed')::boolean AND v_result ->> 'hold_id' IS NOT NULL THEN
        v_created := v_created || (v_result ->> 'hold_id')::uuid;
      END IF;
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
          it ->> 'category', (it ->> 'settlement')::uuid, it ->> 'request_hash', it -> 'headers',
          (it ->> 'hold_id')::uuid) c;
    WHEN 'release' THEN
      SELECT jsonb_build_object('status', c.status, 'remaining', c.remaining::text,
                                'released', c.released::text, 'accounts', c.accounts)
        INTO v_result
        FROM transactions.release_hold((it ->> 'hold_id')::uuid, (it ->> 'amount')::bigint, it ->> 'reason',
                                       it ->> 'network_transaction_id') c;
    END CASE;
    v_changed := v_changed || coalesce((SELECT jsonb_object_agg(a ->> 'id', a)
                                          FROM jsonb_array_elements(coalesce(nullif(v_result -> 'accounts', 'null'),
                                                                              '[]')) a), '{}'::jsonb);
    v_results := v_results || jsonb_build_array(v_result - 'accounts');
  END LOOP;
  RETURN jsonb_build_object('items', v_results,
                            'accounts', (SELECT coalesce(jsonb_agg(value), '[]'::jsonb) FROM jsonb_each(v_changed)));
END
$fn$;
