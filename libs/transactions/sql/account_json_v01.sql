-- transactions.account_json: the ledger row as the poster hands it to the balance cache, with what is
-- held and its available balance (bigint as text: JSON numbers would lose precision beyond 2^53 on their
-- way to JavaScript).
CREATE OR REPLACE FUNCTION transactions.account_json(a transactions.ledger_accounts) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object('id', a.id, 'kind', a.kind, 'owner_id', a.owner_id, 'currency', a.currency,
    'status', a.status, 'overdraft_limit', a.overdraft_limit::text, 'balance', a.balance::text,
    'held', a.held::text, 'available', transactions.available_balance(a)::text, 'version', a.version::text)
$$;
