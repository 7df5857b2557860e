-- transactions.release_hold
-- Releases all (p_amount NULL) or part of an active hold: remaining -= it (at most what remains),
-- held -= it on the account; a hold released in full takes p_reason (reversed or expired) as its status.
-- Locks the hold, then the account (the order clear_card takes them in). A hold no longer active is left
-- as it is and reported (released 0): a repeated reversal or a late expiry changes nothing. status NULL:
-- no such hold (declines are not holds).
CREATE OR REPLACE FUNCTION transactions.release_hold(
  p_hold_id uuid, p_amount bigint, p_reason text,
  OUT status text, OUT remaining bigint, OUT released bigint, OUT accounts jsonb
) LANGUAGE plpgsql AS $fn$
DECLARE
  h transactions.holds;
  a transactions.ledger_accounts;
  v_now timestamptz;
BEGIN
  IF p_reason IS NULL OR p_reason NOT IN ('reversed', 'expired') THEN
    RAISE EXCEPTION 'a hold is released as reversed or expired, not %', p_reason
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT * INTO h FROM transactions.holds x WHERE x.id = p_hold_id AND x.status <> 'declined' FOR UPDATE;
  IF NOT FOUND THEN RETURN; END IF;
  released := 0;
  IF h.status = 'active' THEN
    released := least(coalesce(p_amount, h.remaining), h.remaining);
  END IF;
  IF released > 0 THEN
    v_now := date_trunc('milliseconds', clock_timestamp());
    UPDATE transactions.holds x
       SET remaining = x.remaining - released,
           status = CASE WHEN x.remaining = released THEN p_reason ELSE 'active' END, updated_at = v_now
     WHERE x.id = h.id RETURNING * INTO h;
    UPDATE transactions.ledger_accounts x SET held = x.held - released, version = x.version + 1, updated_at = v_now
     WHERE x.id = h.account_id RETURNING * INTO a;
    accounts := jsonb_build_array(transactions.account_json(a));
  END IF;
  status := h.status; remaining := h.remaining;
END
$fn$;
