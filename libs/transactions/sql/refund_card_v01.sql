-- transactions.refund_card: credits a card refund to the account from p_settlement (a card_settlement
-- shard), kind card with the merchant and category, under the global key 'card-refund <network
-- transaction id>' (a repeat replays it). The account must be p_owner's (else account_not_found); a
-- frozen one is credited (money in still lands), a closed one refuses (account_closed). A refusal is not
-- kept under the key.
CREATE FUNCTION transactions.refund_card(
  p_entry_id uuid, p_network_transaction_id text, p_account uuid, p_owner uuid, p_amount bigint,
  p_currency char(3), p_merchant_name text, p_category text, p_settlement uuid, p_request_hash text,
  p_event_headers jsonb,
  OUT outcome text, OUT entry_id uuid, OUT created_at timestamptz, OUT replayed boolean, OUT accounts jsonb
) LANGUAGE plpgsql AS $fn$
BEGIN
  -- An account's owner never changes: checked without its lock.
  IF NOT EXISTS (SELECT 1 FROM transactions.ledger_accounts x
                  WHERE x.id = p_account AND x.kind = 'customer' AND x.owner_id = p_owner) THEN
    outcome := 'account_not_found'; replayed := false; RETURN;
  END IF;
  SELECT pe.outcome, pe.replayed, pe.entry_id, pe.created_at, pe.accounts
    INTO outcome, replayed, entry_id, created_at, accounts
    FROM transactions.post_entry(
      p_entry_id => p_entry_id, p_kind => 'card', p_debit => p_settlement, p_credit => p_account,
      p_amount => p_amount, p_currency => p_currency, p_reference => NULL, p_merchant => p_merchant_name,
      p_category => p_category, p_reverses => NULL, p_initiated_by => NULL, p_debit_owner => NULL,
      p_not_owner => NULL, p_allow_frozen => false,
      p_idem_owner => '00000000-0000-0000-0000-000000000000', -- CARD_NETWORK_OWNER
      p_idem_key => 'card-refund ' || p_network_transaction_id, p_request_hash => p_request_hash,
      p_event_headers => p_event_headers, p_forget_refusal => true) pe;
  IF outcome = 'credit_account_closed' THEN
    outcome := 'account_closed';
  END IF;
END
$fn$;
