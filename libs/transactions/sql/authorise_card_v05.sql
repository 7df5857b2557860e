-- transactions.authorise_card, version 5. Changed from version 4: an authorisation on a frozen account
-- (staff froze it: POST /admin/accounts/{id}/freeze) is declined account_frozen, not card_blocked. The
-- card was never blocked, and its owner was told "your card is blocked" of a card that shows active,
-- with nothing to unblock; the decline now names what stops the payment.
-- Version 4, changed from version 3: a clearing that staff reversed
-- (POST /admin/transactions/{id}/reverse: a dispute, a duplicate, fraud) counts nothing towards the
-- limits: the money came back, so the payment took nothing. Version 3 still counted it, and a customer
-- whose disputed payment was reversed was declined limit_exceeded for the rest of the day or month.
-- A merchant's refund (refund_card) is a payment of its own and still gives back no room.
-- Version 3: the limits count what a payment takes, not what was first authorised. An active hold
-- counts what is still held (remaining: a partial reversal gave the rest back), a cleared one what was
-- cleared (its entry's amount, above or below the hold: a tip, a fuel pump's final figure).
-- Decides a card authorisation in one round trip. A network transaction id already decided replays
-- that decision (approved with its hold id, or the same decline). Otherwise, under the account's row
-- lock (the lock every posting to it takes, so transfers, payments and other authorisations on the
-- account are ordered with this one), in this order:
-- - the account exists, is a customer's and p_owner's, and is not closed, else card_cancelled;
--   frozen: account_frozen; another currency: currency_not_supported;
-- - the card's spend since the start of the bank day and of the bank month in p_time_zone (what its
--   active holds still hold, and what was cleared of its holds, whatever their status now, unless that
--   clearing was reversed), plus
--   this one, within p_daily_limit and p_monthly_limit (NULL: no limit), else limit_exceeded: read under
--   the lock, so concurrent authorisations see each other;
-- - amount <= transactions.spendable (available_balance_v01.sql), else insufficient_funds.
-- Approved: the hold is written and held += amount. Declined: the decline is written (status declined)
-- so a retry replays it. Returns the decision, the hold id, whether it was replayed, and (approved and
-- new) the account for the balance cache. hold_id_reused: p_hold_id belongs to another network
-- transaction (a bug of the caller's).
CREATE OR REPLACE FUNCTION transactions.authorise_card(
  p_hold_id uuid, p_network_transaction_id text, p_card_id uuid, p_account uuid, p_owner uuid,
  p_amount bigint, p_currency char(3), p_merchant_name text, p_category text,
  p_daily_limit bigint, p_monthly_limit bigint, p_expires_at timestamptz, p_time_zone text,
  OUT outcome text, OUT hold_id uuid, OUT replayed boolean, OUT accounts jsonb
) LANGUAGE plpgsql AS $fn$
DECLARE
  a transactions.ledger_accounts;
  h transactions.holds;
  v_now timestamptz;
  v_day bigint := 0;
  v_month bigint := 0;
BEGIN
  replayed := false;
  -- A retry is answered without waiting for the account's lock.
  SELECT * INTO h FROM transactions.holds x WHERE x.network_transaction_id = p_network_transaction_id;
  IF FOUND THEN
    outcome := coalesce(h.decline_reason, 'approved'); hold_id := h.id; replayed := true; RETURN;
  END IF;

  SELECT * INTO a FROM transactions.ledger_accounts x WHERE x.id = p_account AND x.kind = 'customer' FOR UPDATE;
  -- Taken under the lock: holds of one account are in time order, so the spend windows are exact.
  v_now := date_trunc('milliseconds', clock_timestamp());

  IF a.id IS NULL OR a.owner_id <> p_owner OR a.status = 'closed' THEN
    outcome := 'card_cancelled';
  ELSIF a.status = 'frozen' THEN
    outcome := 'account_frozen';
  ELSIF a.currency <> p_currency THEN
    outcome := 'currency_not_supported';
  ELSE
    IF p_daily_limit IS NOT NULL OR p_monthly_limit IS NOT NULL THEN
      -- Each statement reads what committed before it: every earlier holder of this lock included.
      SELECT coalesce(sum(s.amount) FILTER (WHERE s.created_at >= date_trunc('day', v_now, p_time_zone)), 0),
             coalesce(sum(s.amount), 0)
        INTO v_day, v_month
        FROM (SELECT x.created_at,
                     CASE WHEN r.id IS NOT NULL THEN 0
                          WHEN x.transaction_id IS NOT NULL THEN e.amount
                          WHEN x.status = 'active' THEN x.remaining
                          ELSE x.amount END AS amount
                FROM transactions.holds x LEFT JOIN transactions.entries e ON e.id = x.transaction_id
                LEFT JOIN transactions.entries r ON r.reverses_id = x.transaction_id
               WHERE x.card_id = p_card_id AND (x.status IN ('active', 'cleared') OR x.transaction_id IS NOT NULL)
                 AND x.created_at >= date_trunc('month', v_now, p_time_zone)) s;
    END IF;
    IF (p_daily_limit IS NOT NULL AND v_day + p_amount > p_daily_limit)
       OR (p_monthly_limit IS NOT NULL AND v_month + p_amount > p_monthly_limit) THEN
      outcome := 'limit_exceeded';
    ELSIF p_amount > transactions.spendable(a.balance, a.held, a.overdraft_limit) THEN
      outcome := 'insufficient_funds';
    ELSE
      outcome := 'approved';
    END IF;
  END IF;

  INSERT INTO transactions.holds (id, network_transaction_id, account_id, owner_id, card_id, amount, remaining,
                                  currency, merchant_name, category, status, decline_reason, expires_at,
                                  created_at, updated_at)
  VALUES (p_hold_id, p_network_transaction_id, p_account, p_owner, p_card_id, p_amount,
          CASE outcome WHEN 'approved' THEN p_amount ELSE 0 END, p_currency, p_merchant_name, p_category,
          CASE outcome WHEN 'approved' THEN 'active' ELSE 'declined' END,
          CASE outcome WHEN 'approved' THEN NULL ELSE outcome END, p_expires_at, v_now, v_now)
  ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN
    -- The same network transaction decided meanwhile (on another account: the insert waited for it).
    SELECT * INTO h FROM transactions.holds x WHERE x.network_transaction_id = p_network_transaction_id;
    IF FOUND THEN
      outcome := coalesce(h.decline_reason, 'approved'); hold_id := h.id; replayed := true;
    ELSE
      outcome := 'hold_id_reused';
    END IF;
    RETURN;
  END IF;
  hold_id := p_hold_id;

  IF outcome = 'approved' THEN
    UPDATE transactions.ledger_accounts x SET held = x.held + p_amount, version = x.version + 1, updated_at = v_now
     WHERE x.id = a.id RETURNING * INTO a;
    accounts := jsonb_build_array(transactions.account_json(a));
  END IF;
END
$fn$;
