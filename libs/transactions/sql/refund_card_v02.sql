-- transactions.refund_card, version 2. Changed from version 1: a refund that names the payment it
-- refunds (p_hold_id: its authorisation) is checked against that payment, and recorded against it.
-- Version 1 kept every refund as a payment of its own, so a merchant could refund more than it was paid
-- and staff could reverse (a dispute) a payment the merchant had refunded: the customer was paid back
-- twice, at the bank's cost (a chargeback after the merchant's credit fails at the scheme).
--
-- Credits a card refund to the account from p_settlement (a card_settlement shard), kind card with the
-- merchant and category, under the global key 'card-refund <network transaction id>' (a repeat replays
-- it). The account must be p_owner's (else account_not_found); a frozen one is credited (money in still
-- lands), a closed one refuses (account_closed). A refusal is not kept under the key.
--
-- With p_hold_id, unless the key is known (a repeat replays as it was answered), under the account's row
-- lock (card_calls takes it before any item runs; every refund of the payment and a staff reversal of
-- its clearing move money on that one account, so they are decided one at a time):
--   already_reversed        staff reversed the payment's clearing: the customer has the money back;
--   refund_exceeds_payment  the payment's refunds (those staff did not reverse) would come to more
--                           than it cleared (nothing cleared yet: nothing to refund; the network
--                           reverses an authorisation instead).
-- A posted one is recorded in transactions.card_refunds, against which post_entries (version 3) refuses a
-- staff reversal of the clearing (already_refunded), under the same lock.
DROP FUNCTION transactions.refund_card(uuid, text, uuid, uuid, bigint, char(3), text, text, uuid, text, jsonb);
CREATE FUNCTION transactions.refund_card(
  p_entry_id uuid, p_network_transaction_id text, p_account uuid, p_owner uuid, p_amount bigint,
  p_currency char(3), p_merchant_name text, p_category text, p_settlement uuid, p_request_hash text,
  p_event_headers jsonb, p_hold_id uuid DEFAULT NULL,
  OUT outcome text, OUT entry_id uuid, OUT created_at timestamptz, OUT replayed boolean, OUT accounts jsonb
) LANGUAGE plpgsql AS $fn$
DECLARE
  v_owner uuid := '00000000-0000-0000-0000-000000000000'; -- CARD_NETWORK_OWNER: the key is the network's
  v_key text := 'card-refund ' || p_network_transaction_id;
  v_cleared transactions.entries;
BEGIN
  -- An account's owner never changes: checked without its lock.
  IF NOT EXISTS (SELECT 1 FROM transactions.ledger_accounts x
                  WHERE x.id = p_account AND x.kind = 'customer' AND x.owner_id = p_owner) THEN
    outcome := 'account_not_found'; replayed := false; RETURN;
  END IF;
  IF p_hold_id IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM transactions.idempotency_keys i WHERE i.owner_id = v_owner AND i.key = v_key) THEN
    SELECT e.* INTO v_cleared
      FROM transactions.holds h JOIN transactions.entries e ON e.id = h.transaction_id
     WHERE h.id = p_hold_id;
    IF v_cleared.id IS NOT NULL
       AND EXISTS (SELECT 1 FROM transactions.entries r WHERE r.reverses_id = v_cleared.id) THEN
      outcome := 'already_reversed'; replayed := false; RETURN;
    END IF;
    -- A refund staff reversed since (the customer paid it back) counts no more.
    IF (SELECT coalesce(sum(r.amount), 0) FROM transactions.card_refunds r
         WHERE r.hold_id = p_hold_id
           AND NOT EXISTS (SELECT 1 FROM transactions.entries x WHERE x.reverses_id = r.entry_id))
       + p_amount > coalesce(v_cleared.amount, 0) THEN
      outcome := 'refund_exceeds_payment'; replayed := false; RETURN;
    END IF;
  END IF;
  SELECT pe.outcome, pe.replayed, pe.entry_id, pe.created_at, pe.accounts
    INTO outcome, replayed, entry_id, created_at, accounts
    FROM transactions.post_entry(
      p_entry_id => p_entry_id, p_kind => 'card', p_debit => p_settlement, p_credit => p_account,
      p_amount => p_amount, p_currency => p_currency, p_reference => NULL, p_merchant => p_merchant_name,
      p_category => p_category, p_reverses => NULL, p_initiated_by => NULL, p_debit_owner => NULL,
      p_not_owner => NULL, p_allow_frozen => false, p_idem_owner => v_owner, p_idem_key => v_key,
      p_request_hash => p_request_hash, p_event_headers => p_event_headers, p_forget_refusal => true) pe;
  IF outcome = 'credit_account_closed' THEN
    outcome := 'account_closed';
  ELSIF outcome = 'posted' AND NOT replayed AND p_hold_id IS NOT NULL THEN
    INSERT INTO transactions.card_refunds (entry_id, hold_id, clearing_id, amount)
    VALUES (entry_id, p_hold_id, v_cleared.id, p_amount);
  END IF;
END
$fn$;
