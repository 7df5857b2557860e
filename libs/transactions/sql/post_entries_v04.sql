-- transactions.post_entries, version 4. Changed from version 3: a reversal posted also writes
-- transaction.reversed (the entry reversed, its kind, the reversal and its time) to the outbox, in the
-- same statement as its transaction.created, so that a module whose record points at the entry (payments:
-- a standing order's or scheduled payment's payment) learns of it. Reversals are staff actions, so items
-- without `reverses` (every transfer) pay nothing for it. The rules, the result and every other write are
-- version 3's.
--
-- transactions.post_entries: the one way money moves. Every posting (transfers, deposits, reversals,
-- payments, card clearings and refunds) is an item of a batch posted here, in one transaction, whose
-- commit the items share. A batch of one is a single posting (transactions.post_entry).
--
-- In order:
-- 1. Claims the batch's idempotency keys, sorted by (owner, key) so that two batches never wait on each
--    other's keys in opposite orders. A key another transaction is deciding makes this one wait for its
--    commit, then find its outcome: money moves once per key.
-- 2. Locks every ledger row the batch names, in id order, once (every poster locks in id order, so
--    batches never deadlock one another).
-- 3. Decides the items in arrival order, each against the rows as the items before it left them (the
--    running balance within the batch), by the rules below; an item's key, when an earlier item of the
--    batch or an earlier transaction decided it, replays that decision (or, with another request hash,
--    is idempotency_key_reused).
-- 4. Writes what was posted in one statement per table: entries, postings (with the balance after each),
--    the rows' new balances and versions, transaction.created (and staff_action.recorded, and for a
--    reversal transaction.reversed) in the outbox,
--    and each key's outcome. The events exist if and only if the money moved. No NOTIFY (it would
--    serialise every commit on one lock): the caller wakes its relay after the commit.
--
-- Outcomes are facts, not HTTP statuses (the caller maps them): posted, same_account, debit_not_found,
-- credit_not_found, own_account, account_closed (the debit account), credit_account_closed,
-- account_frozen, currency_mismatch, already_reversed, already_refunded, insufficient_funds,
-- idempotency_key_reused.
--
-- Version 2 decides exactly as version 1 (posting_item, the rules and the result are unchanged); it
-- does less work around the rules, which a batch of one pays in full:
-- - the keys decided before the call are read only when a key was not claimed (a call with new keys
--   only, the common case, skips that statement); the batch's own decisions are kept in arrays, not in a
--   jsonb map copied at every item;
-- - the rows are locked and read into their arrays by one statement, not a loop;
-- - the posted items are kept as an array of their own and written through unnest, instead of being
--   read back one column at a time by subscript;
-- - each key's outcome is written from those arrays (a DELETE only when a refusal is forgotten), and the
--   rows' new balances by primary key (id = ANY), so neither write can become a scan of its table.
-- - the events' ids are time-ordered (transactions.uuid_v7, uuid_v7_v01.sql), as the entries' are (the
--   application's timeOrderedId): both land at the end of their primary key's index.

CREATE OR REPLACE FUNCTION transactions.post_entries(p_items jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $fn$
DECLARE
  v_items transactions.posting_item[];
  it transactions.posting_item;
  n int;
  i int;
  -- The locked rows, by position in a_id (sorted): what the rules read, and the running balances.
  a_id uuid[];
  a_kind text[];
  a_owner uuid[];
  a_code text[];
  a_currency text[];
  a_status text[];
  a_limit bigint[];
  a_held bigint[];
  a_balance bigint[];
  a_version bigint[];
  a_changed timestamptz[];
  v_changed uuid[] := '{}';
  jd int;
  jc int;
  -- Keys decided before this call (by other transactions): "owner/key" -> {hash, outcome, entry_id,
  -- created_at}. Read only when some key of the batch was not claimed by it.
  v_distinct_keys int;
  v_claimed text[];
  v_before jsonb := '{}';
  -- Keys this batch claimed, as it decides them (position k in each array): the item that decided
  -- (for replays), its outcome, and whether a refusal is forgotten (then a later item decides anew).
  k_mk text[] := '{}';
  k_owner uuid[] := '{}';
  k_key text[] := '{}';
  k_hash text[] := '{}';
  k_outcome text[] := '{}';
  k_entry uuid[] := '{}';
  k_created timestamptz[] := '{}';
  k_forget boolean[] := '{}';
  k int;
  v_mk text;
  s jsonb;
  v_outcome text;
  v_now timestamptz;
  v_reversed uuid[] := '{}';
  -- Per item, in order: what the caller gets back.
  o_outcome text[] := '{}';
  o_replayed boolean[] := '{}';
  o_entry uuid[] := '{}';
  o_created timestamptz[] := '{}';
  -- The posted items, in order, with their time; and their postings.
  e_items transactions.posting_item[] := '{}';
  e_created timestamptz[] := '{}';
  p_account uuid[] := '{}';
  p_version bigint[] := '{}';
  p_entry uuid[] := '{}';
  p_amount bigint[] := '{}';
  p_currency text[] := '{}';
  p_balance bigint[] := '{}';
  p_created timestamptz[] := '{}';
  v_accounts jsonb;
BEGIN
  SELECT array_agg(jsonb_populate_record(NULL::transactions.posting_item, e.item) ORDER BY e.ord)
    INTO v_items FROM jsonb_array_elements(p_items) WITH ORDINALITY AS e(item, ord);
  n := coalesce(array_length(v_items, 1), 0);
  IF n = 0 THEN
    RETURN jsonb_build_object('items', '[]'::jsonb, 'accounts', '[]'::jsonb);
  END IF;

  -- 1. Keys: claim the new ones (with the first item's hash); read the ones decided before, if any.
  WITH k AS (
    SELECT DISTINCT ON (x.idem_owner, x.idem_key) x.idem_owner, x.idem_key, x.request_hash
      FROM unnest(v_items) WITH ORDINALITY AS x
     WHERE x.idem_key IS NOT NULL
     ORDER BY x.idem_owner, x.idem_key, x.ordinality
  ), ins AS (
    INSERT INTO transactions.idempotency_keys AS ik (owner_id, key, request_hash)
    SELECT k.idem_owner, k.idem_key, k.request_hash FROM k ORDER BY k.idem_owner, k.idem_key
    ON CONFLICT DO NOTHING
    RETURNING ik.owner_id, ik.key
  )
  SELECT (SELECT count(*) FROM k), (SELECT coalesce(array_agg(ins.owner_id::text || '/' || ins.key), '{}') FROM ins)
    INTO v_distinct_keys, v_claimed;

  IF cardinality(v_claimed) < v_distinct_keys THEN
    -- A new statement, so a new snapshot: it sees what a transaction we waited on (above) committed.
    SELECT jsonb_object_agg(ik.owner_id::text || '/' || ik.key, jsonb_build_object(
             'hash', ik.request_hash, 'outcome', ik.outcome, 'entry_id', ik.entry_id, 'created_at', e.created_at))
      INTO v_before
      FROM transactions.idempotency_keys ik
      LEFT JOIN transactions.entries e ON e.id = ik.entry_id
     WHERE (ik.owner_id, ik.key) IN (SELECT DISTINCT x.idem_owner, x.idem_key FROM unnest(v_items) x
                                      WHERE x.idem_key IS NOT NULL)
       AND NOT (ik.owner_id::text || '/' || ik.key) = ANY (v_claimed);
  END IF;

  -- 2. Rows: every account any item names, locked in id order, read into the arrays.
  SELECT coalesce(array_agg(a.id ORDER BY a.id), '{}'), array_agg(a.kind ORDER BY a.id),
         array_agg(a.owner_id ORDER BY a.id), array_agg(a.system_code ORDER BY a.id),
         array_agg(a.currency::text ORDER BY a.id), array_agg(a.status ORDER BY a.id),
         array_agg(a.overdraft_limit ORDER BY a.id), array_agg(a.held ORDER BY a.id),
         array_agg(a.balance ORDER BY a.id), array_agg(a.version ORDER BY a.id)
    INTO a_id, a_kind, a_owner, a_code, a_currency, a_status, a_limit, a_held, a_balance, a_version
    FROM (SELECT * FROM transactions.ledger_accounts
           WHERE id IN (SELECT x.debit FROM unnest(v_items) x UNION SELECT x.credit FROM unnest(v_items) x)
           ORDER BY id FOR UPDATE) a;
  a_changed := array_fill(NULL::timestamptz, ARRAY[cardinality(a_id)]);

  -- 3. Each item in arrival order.
  FOR i IN 1 .. n LOOP
    it := v_items[i];
    v_outcome := NULL;
    k := NULL;
    IF it.idem_key IS NOT NULL THEN
      v_mk := it.idem_owner::text || '/' || it.idem_key;
      k := array_position(k_mk, v_mk);
      IF k IS NOT NULL AND NOT k_forget[k] THEN
        -- Decided earlier in this batch.
        IF k_hash[k] <> it.request_hash THEN
          o_outcome := o_outcome || 'idempotency_key_reused'::text;
          o_replayed := o_replayed || false;
          o_entry := o_entry || NULL::uuid;
          o_created := o_created || NULL::timestamptz;
        ELSE
          o_outcome := o_outcome || k_outcome[k];
          o_replayed := o_replayed || true;
          o_entry := o_entry || k_entry[k];
          o_created := o_created || k_created[k];
        END IF;
        CONTINUE;
      END IF;
      -- (k set and forgotten: refused earlier in this batch and not kept, so this item decides anew.)
      s := CASE WHEN k IS NULL THEN v_before -> v_mk END;
      IF s IS NOT NULL THEN
        -- Decided by an earlier transaction.
        IF s ->> 'hash' <> it.request_hash THEN
          o_outcome := o_outcome || 'idempotency_key_reused'::text;
          o_replayed := o_replayed || false;
          o_entry := o_entry || NULL::uuid;
          o_created := o_created || NULL::timestamptz;
        ELSE
          o_outcome := o_outcome || (s ->> 'outcome');
          o_replayed := o_replayed || true;
          o_entry := o_entry || (s ->> 'entry_id')::uuid;
          o_created := o_created || (s ->> 'created_at')::timestamptz;
        END IF;
        CONTINUE;
      END IF;
    END IF;

    jd := array_position(a_id, it.debit);
    jc := array_position(a_id, it.credit);
    IF it.debit = it.credit THEN
      v_outcome := 'same_account';
    ELSIF jd IS NULL OR (it.debit_owner IS NOT NULL AND a_owner[jd] IS DISTINCT FROM it.debit_owner) THEN
      v_outcome := 'debit_not_found';
    ELSIF jc IS NULL OR (a_kind[jc] = 'system' AND it.kind NOT IN ('card', 'fee', 'reversal')
                         AND NOT (it.kind IN ('standing_order', 'scheduled_payment')
                                  AND a_code[jc] = 'outbound_clearing')) THEN
      -- Only card spends, fees and reversals pay into a system account, and payments to an external
      -- payee into outbound clearing.
      v_outcome := 'credit_not_found';
    ELSIF it.not_owner IS NOT NULL AND it.not_owner IN (a_owner[jd], a_owner[jc]) THEN
      -- Staff never move money on their own accounts.
      v_outcome := 'own_account';
    ELSIF a_status[jd] = 'closed' THEN
      v_outcome := 'account_closed';
    ELSIF a_status[jc] = 'closed' THEN
      v_outcome := 'credit_account_closed';
    ELSIF NOT coalesce(it.allow_frozen, false) AND a_status[jd] = 'frozen' THEN
      -- A freeze stops money leaving. Payments in still land: bouncing them would tell a third party
      -- that the account is frozen (and tip off its holder).
      v_outcome := 'account_frozen';
    ELSIF a_currency[jd] <> it.currency OR a_currency[jc] <> it.currency THEN
      v_outcome := 'currency_mismatch';
    ELSIF it.reverses IS NOT NULL
          AND (it.reverses = ANY (v_reversed)
               OR EXISTS (SELECT 1 FROM transactions.entries e WHERE e.reverses_id = it.reverses)) THEN
      v_outcome := 'already_reversed';
    ELSIF it.reverses IS NOT NULL
          AND EXISTS (SELECT 1 FROM transactions.card_refunds r
                       WHERE r.clearing_id = it.reverses
                         AND NOT EXISTS (SELECT 1 FROM transactions.entries x WHERE x.reverses_id = r.entry_id)) THEN
      v_outcome := 'already_refunded';
    ELSIF NOT coalesce(it.ignore_funds, false)
          AND it.amount > transactions.spendable(a_balance[jd], a_held[jd], a_limit[jd]) THEN
      -- available_balance_v01.sql has the rule. ignore_funds: a card clearing, money already owed.
      v_outcome := 'insufficient_funds';
    ELSE
      v_outcome := 'posted';
    END IF;

    v_now := NULL;
    IF v_outcome = 'posted' THEN
      -- Taken under the locks, so an account's postings are in time order as well as version order.
      v_now := date_trunc('milliseconds', clock_timestamp());
      IF a_changed[jd] IS NULL THEN v_changed := v_changed || it.debit; END IF;
      IF a_changed[jc] IS NULL THEN v_changed := v_changed || it.credit; END IF;
      a_balance[jd] := a_balance[jd] - it.amount;
      a_version[jd] := a_version[jd] + 1;
      a_changed[jd] := v_now;
      a_balance[jc] := a_balance[jc] + it.amount;
      a_version[jc] := a_version[jc] + 1;
      a_changed[jc] := v_now;
      IF it.reverses IS NOT NULL THEN v_reversed := v_reversed || it.reverses; END IF;
      e_items := e_items || it;
      e_created := e_created || v_now;
      p_account := p_account || it.debit || it.credit;
      p_version := p_version || a_version[jd] || a_version[jc];
      p_entry := p_entry || it.entry_id || it.entry_id;
      p_amount := p_amount || -it.amount || it.amount;
      p_currency := p_currency || it.currency::text || it.currency::text;
      p_balance := p_balance || a_balance[jd] || a_balance[jc];
      p_created := p_created || v_now || v_now;
    END IF;

    o_outcome := o_outcome || v_outcome;
    o_replayed := o_replayed || false;
    o_entry := o_entry || CASE WHEN v_outcome = 'posted' THEN it.entry_id END;
    o_created := o_created || v_now;
    IF it.idem_key IS NOT NULL THEN
      IF k IS NULL THEN
        k_mk := k_mk || v_mk;
        k_owner := k_owner || it.idem_owner;
        k_key := k_key || it.idem_key;
        k := cardinality(k_mk);
      END IF;
      k_hash[k] := it.request_hash;
      k_outcome[k] := v_outcome;
      k_entry[k] := CASE WHEN v_outcome = 'posted' THEN it.entry_id END;
      k_created[k] := v_now;
      k_forget[k] := v_outcome <> 'posted' AND coalesce(it.forget_refusal, false);
    END IF;
  END LOOP;

  -- 4. The writes, one statement per table.
  IF cardinality(e_items) > 0 THEN
    INSERT INTO transactions.entries (id, kind, debit_account_id, credit_account_id, amount, currency, reference,
                                      merchant, category, reverses_id, initiated_by, created_at)
    SELECT x.entry_id, x.kind, x.debit, x.credit, x.amount, x.currency, x.reference, x.merchant, x.category,
           x.reverses, x.initiated_by, e_created[x.ordinality]
      FROM unnest(e_items) WITH ORDINALITY AS x;

    INSERT INTO transactions.postings (account_id, account_version, entry_id, amount, currency, balance_after,
                                       created_at)
    SELECT * FROM unnest(p_account, p_version, p_entry, p_amount, p_currency, p_balance, p_created);

    WITH changed AS (
      SELECT * FROM unnest(a_id, a_balance, a_version, a_changed) AS c(id, balance, version, changed_at)
       WHERE c.changed_at IS NOT NULL
    ), updated AS (
      UPDATE transactions.ledger_accounts a
         SET balance = c.balance, version = c.version, updated_at = c.changed_at
        FROM changed c WHERE a.id = ANY (v_changed) AND a.id = c.id
      RETURNING a.*
    )
    SELECT jsonb_agg(transactions.account_json(u)) INTO v_accounts FROM updated u;

    INSERT INTO transactions.outbox (id, name, payload, headers)
    SELECT ev.id, ev.name, ev.payload, ev.headers
      FROM unnest(e_items) WITH ORDINALITY AS x
      CROSS JOIN LATERAL (SELECT to_char(e_created[x.ordinality] AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at,
                                 a_owner[array_position(a_id, x.debit)] AS debit_owner,
                                 a_owner[array_position(a_id, x.credit)] AS credit_owner) t
      CROSS JOIN LATERAL (
        SELECT ids.id, 'transaction.created' AS name, jsonb_build_object(
                 'event_id', ids.id, 'occurred_at', t.at, 'transaction_id', x.entry_id, 'kind', x.kind,
                 'from_account_id', x.debit, 'from_owner_id', t.debit_owner,
                 'to_account_id', x.credit, 'to_owner_id', t.credit_owner,
                 'amount', x.amount, 'currency', x.currency, 'reference', x.reference, 'merchant', x.merchant,
                 'category', x.category, 'reverses_id', x.reverses, 'created_at', t.at) AS payload,
               coalesce(x.headers, '{}') AS headers
          FROM (SELECT transactions.uuid_v7() AS id) ids
        UNION ALL
        -- The staff action behind the entry, recorded if and only if the money moved. The customer
        -- affected is the one debited, else the one credited.
        SELECT ids.id, 'staff_action.recorded', x.staff_action || jsonb_build_object(
                 'event_id', ids.id, 'occurred_at', t.at, 'target_user_id', coalesce(t.debit_owner, t.credit_owner)),
               coalesce(x.headers, '{}')
          FROM (SELECT transactions.uuid_v7() AS id) ids
         WHERE x.staff_action IS NOT NULL
        UNION ALL
        -- The entry this one reverses, as its own event (the reversed entry was posted before this
        -- batch: a reversal names a committed entry).
        SELECT ids.id, 'transaction.reversed', jsonb_build_object(
                 'event_id', ids.id, 'occurred_at', t.at, 'transaction_id', x.reverses, 'kind', o.kind,
                 'reversal_id', x.entry_id, 'amount', x.amount, 'currency', x.currency, 'reversed_at', t.at),
               coalesce(x.headers, '{}')
          FROM (SELECT transactions.uuid_v7() AS id) ids
          JOIN transactions.entries o ON o.id = x.reverses
         WHERE x.reverses IS NOT NULL
      ) ev;
  END IF;

  IF cardinality(k_mk) > 0 THEN
    IF true = ANY (k_forget) THEN
      DELETE FROM transactions.idempotency_keys ik
       USING unnest(k_owner, k_key, k_forget) AS f(owner, key, forget)
       WHERE f.forget AND ik.owner_id = f.owner AND ik.key = f.key;
    END IF;
    UPDATE transactions.idempotency_keys ik
       SET request_hash = d.hash, outcome = d.outcome, entry_id = d.entry
      FROM unnest(k_owner, k_key, k_hash, k_outcome, k_entry, k_forget) AS d(owner, key, hash, outcome, entry, forget)
     WHERE NOT d.forget AND ik.owner_id = d.owner AND ik.key = d.key;
  END IF;

  RETURN jsonb_build_object(
    'items', (SELECT jsonb_agg(jsonb_build_object('outcome', o.outcome, 'replayed', o.replayed,
                                                  'entry_id', o.entry_id, 'created_at', o.created_at) ORDER BY o.ord)
                FROM unnest(o_outcome, o_replayed, o_entry, o_created) WITH ORDINALITY
                     AS o(outcome, replayed, entry_id, created_at, ord)),
    'accounts', coalesce(v_accounts, '[]'::jsonb));
END
$fn$;
