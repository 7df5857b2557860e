-- transactions.clear_card: posts a card clearing and releases its hold, in one transaction. The entry
-- (kind card) debits the account and credits p_settlement (a card_settlement shard) with the merchant and
-- category, so transaction.created carries them; it goes through post_entry with the funds rule skipped
-- and a frozen debit allowed (the network has paid the merchant: the money is owed), under the global
-- key 'card-clearing <network transaction id>', so a repeated clearing replays its entry. A refusal is
-- not kept under the key.
--
-- The hold (p_hold_id) is locked first: two deliveries of one clearing queue on it, and the second
-- finds the first's key and replays. A hold that is unknown, of another card or account, declined, or
-- that already has a clearing (cleared, or a forced clearing after its reversal or expiry) is refused
-- (hold_not_found). An active hold is released whatever the amount cleared (a tip, a partial shipment):
-- remaining -> 0, held -= remaining, status cleared. A hold that has expired or been reversed holds
-- nothing any more: its clearing is posted as forced, and recorded on the hold (transaction_id; the
-- status stays), so no second clearing of that authorisation posts. A clearing without a hold
-- (p_hold_id NULL) is forced too.
--
-- Outcomes: posted (replayed says whether before; forced whether no active hold was released),
-- hold_not_found, account_not_found (unknown, or not p_owner's), account_closed, currency_mismatch, and
-- idempotency_key_reused (the same clearing id with another hold, card, account, owner, amount or
-- currency).
CREATE FUNCTION transactions.clear_card(
  p_entry_id uuid, p_network_transaction_id text, p_hold_id uuid, p_card_id uuid, p_account uuid, p_owner uuid,
  p_amount bigint, p_currency char(3), p_merchant_name text, p_category text, p_settlement uuid,
  p_request_hash text, p_event_headers jsonb,
  OUT outcome text, OUT entry_id uuid, OUT created_at timestamptz, OUT forced boolean, OUT replayed boolean,
  OUT accounts jsonb
) LANGUAGE plpgsql AS $fn$
DECLARE
  h transactions.holds;
  v_owner uuid := '00000000-0000-0000-0000-000000000000'; -- CARD_NETWORK_OWNER: the key is the network's
  v_key text := 'card-clearing ' || p_network_transaction_id;
  v_released bigint := 0;
BEGIN
  IF p_hold_id IS NOT NULL THEN
    SELECT * INTO h FROM transactions.holds x WHERE x.id = p_hold_id FOR UPDATE;
    IF NOT EXISTS (SELECT 1 FROM transactions.idempotency_keys i WHERE i.owner_id = v_owner AND i.key = v_key)
       AND (h.id IS NULL OR h.card_id <> p_card_id OR h.account_id <> p_account
            OR h.status IN ('cleared', 'declined') OR h.transaction_id IS NOT NULL) THEN
      outcome := 'hold_not_found'; replayed := false; RETURN;
    END IF;
  END IF;

  SELECT pe.outcome, pe.replayed, pe.entry_id, pe.created_at INTO outcome, replayed, entry_id, created_at
    FROM transactions.post_entry(
      p_entry_id => p_entry_id, p_kind => 'card', p_debit => p_account, p_credit => p_settlement,
      p_amount => p_amount, p_currency => p_currency, p_reference => NULL, p_merchant => p_merchant_name,
      p_category => p_category, p_reverses => NULL, p_initiated_by => p_owner, p_debit_owner => p_owner,
      p_not_owner => NULL, p_allow_frozen => true, p_idem_owner => v_owner, p_idem_key => v_key,
      p_request_hash => p_request_hash, p_event_headers => p_event_headers, p_ignore_funds => true,
      p_forget_refusal => true) pe;

  IF outcome = 'posted' AND replayed THEN
    forced := NOT EXISTS (SELECT 1 FROM transactions.holds x
                           WHERE x.transaction_id = clear_card.entry_id AND x.status = 'cleared');
    RETURN;
  ELSIF outcome <> 'posted' THEN
    outcome := CASE outcome WHEN 'debit_not_found' THEN 'account_not_found'
                            WHEN 'credit_account_closed' THEN 'account_closed' ELSE outcome END;
    RETURN;
  END IF;

  forced := h.id IS NULL OR h.status <> 'active';
  IF forced AND h.id IS NOT NULL THEN
    -- Reversed or expired: nothing to release, but this is its clearing, and the only one.
    UPDATE transactions.holds x SET transaction_id = p_entry_id, updated_at = clear_card.created_at
     WHERE x.id = h.id;
  ELSIF NOT forced THEN
    v_released := h.remaining;
    UPDATE transactions.holds x SET remaining = 0, status = 'cleared', transaction_id = p_entry_id,
           updated_at = clear_card.created_at
     WHERE x.id = h.id;
    -- Locked by post_entry; the posting's version covers this change too (one commit, one version).
    UPDATE transactions.ledger_accounts x SET held = x.held - v_released WHERE x.id = p_account;
  END IF;
  SELECT jsonb_agg(transactions.account_json(x)) INTO accounts
    FROM transactions.ledger_accounts x WHERE x.id IN (p_account, p_settlement);
END
$fn$;
