-- transactions.release_hold
-- Releases all (p_amount NULL) or part of an active hold: remaining -= it (at most what remains),
-- held -= it on the account; a hold released in full takes p_reason (reversed or expired) as its status.
-- Locks the hold, then the account (the order clear_card takes them in). A hold no longer active is left
-- as it is and reported (released 0): a repeated reversal or a late expiry changes nothing. status NULL:
-- no such hold (declines are not holds).
--
-- Version 2: a release with the network's id (p_network_transaction_id, a partial reversal) happens once
-- per id. Version 1 had no key: two copies of one partial reversal, sent at once or retried after a crash
-- or a lost reply (before cards recorded the first), each gave the amount back, and the hold held less
-- than the clearing still to come. The id is claimed in transactions.hold_releases before anything moves;
-- a repeat returns the first release's outcome (status, remaining, released as they were then), and the
-- id claimed for another hold or another amount returns status 'key_reused' and changes nothing. Without
-- an id (an expiry, a full reversal sent without one) nothing is recorded: releasing all that remains
-- twice is harmless.
CREATE OR REPLACE FUNCTION transactions.release_hold(
  p_hold_id uuid, p_amount bigint, p_reason text, p_network_transaction_id text DEFAULT NULL,
  OUT status text, OUT remaining bigint, OUT released bigint, OUT accounts jsonb
) LANGUAGE plpgsql AS $fn$
DECLARE
  h transactions.holds;
  a transactions.ledger_accounts;
  r transactions.hold_releases;
  v_now timestamptz;
BEGIN
  IF p_reason IS NULL OR p_reason NOT IN ('reversed', 'expired') THEN
    RAISE EXCEPTION 'a hold is released as reversed or expired, not %', p_reason
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT * INTO h FROM transactions.holds x WHERE x.id = p_hold_id AND x.status <> 'declined' FOR UPDATE;
  IF NOT FOUND THEN RETURN; END IF;
  v_now := date_trunc('milliseconds', clock_timestamp());
  IF p_network_transaction_id IS NOT NULL THEN
    -- A copy running at once waits here for the first to commit, then finds its row.
    INSERT INTO transactions.hold_releases (network_transaction_id, hold_id, requested, created_at)
    VALUES (p_network_transaction_id, h.id, p_amount, v_now)
    ON CONFLICT (network_transaction_id) DO NOTHING;
    IF NOT FOUND THEN
      SELECT * INTO r FROM transactions.hold_releases x WHERE x.network_transaction_id = p_network_transaction_id;
      IF r.hold_id <> h.id OR r.requested IS DISTINCT FROM p_amount THEN
        status := 'key_reused';
      ELSE
        status := r.status; remaining := r.remaining; released := r.released;
      END IF;
      RETURN;
    END IF;
  END IF;
  released := 0;
  IF h.status = 'active' THEN
    released := least(coalesce(p_amount, h.remaining), h.remaining);
  END IF;
  IF released > 0 THEN
    UPDATE transactions.holds x
       SET remaining = x.remaining - released,
           status = CASE WHEN x.remaining = released THEN p_reason ELSE 'active' END, updated_at = v_now
     WHERE x.id = h.id RETURNING * INTO h;
    UPDATE transactions.ledger_accounts x SET held = x.held - released, version = x.version + 1, updated_at = v_now
     WHERE x.id = h.account_id RETURNING * INTO a;
    accounts := jsonb_build_array(transactions.account_json(a));
  END IF;
  status := h.status; remaining := h.remaining;
  IF p_network_transaction_id IS NOT NULL THEN
    UPDATE transactions.hold_releases x SET status = h.status, remaining = h.remaining, released = release_hold.released
     WHERE x.network_transaction_id = p_network_transaction_id;
  END IF;
END
$fn$;
