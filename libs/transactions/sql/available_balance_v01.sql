-- The available-balance rule, its one home. Every decision that spends money reads it here
-- (post_entries' funds rule, authorise_card's), and every balance the API shows carries the figure it
-- computes (account_json for the cache, the ledger-row reads of the module's facade), so TypeScript
-- never computes it.

-- What the account may still spend: balance - held + overdraft limit. Held money (card authorisations not
-- yet cleared) is spoken for. NULL: no limit (a system account goes as negative as the money it has put
-- into the bank). A posting or authorisation of `amount` is refused when amount > spendable.
CREATE OR REPLACE FUNCTION transactions.spendable(p_balance bigint, p_held bigint, p_overdraft_limit bigint)
RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
  SELECT p_balance - p_held + p_overdraft_limit
$$;

-- The available balance a customer is shown: what is spendable while the account is active, never
-- negative (a limit lowered below what is owed, or a clearing above its hold, leaves nothing to spend,
-- not a debt to spend); 0 while frozen or closed.
CREATE OR REPLACE FUNCTION transactions.available_balance(a transactions.ledger_accounts)
RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN a.status = 'active'
              THEN greatest(transactions.spendable(a.balance, a.held, coalesce(a.overdraft_limit, 0)), 0)
              ELSE 0 END
$$;
