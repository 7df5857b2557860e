import type { MigrationInterface, QueryRunner } from 'typeorm';
import { POST_ENTRY as POST_ENTRY_BEFORE } from './1763700000013-LedgerPayments';

/**
 * Card holds, in the ledger (issue 13): only the ledger's locked transaction can decide whether money
 * may move, so an authorisation's hold is decided and kept next to the balance it spends.
 * - `ledger_accounts.held`: the sum of the account's active holds' `remaining`, on the row every
 *   posting locks. available = balance - held + overdraft limit.
 * - `holds`: one row per authorisation asked for, keyed by the network's transaction id (a retry
 *   replays the first decision). Declines are rows too (status `declined`, remaining 0, the reason),
 *   so a declined retry replays its decline; this is also why account_id has no foreign key: a decline
 *   may name an account the ledger does not have.
 * - `post_entry` (derived from LedgerPayments' text, see POST_ENTRY below): the funds rule leaves held
 *   money alone, so no transfer, payment or authorisation spends it; and `p_ignore_funds` lets a card
 *   clearing post what is owed whatever the funds (still through the one posting path).
 * - `authorise_card`, `clear_card`, `release_hold`, `refund_card`: the card network's calls, each one
 *   round trip and one transaction (see their comments).
 * - The network's idempotency keys (`card-clearing <id>`, `card-refund <id>`, under CARD_NETWORK_OWNER)
 *   are kept for good, like payments': the retention prune's partial index leaves them out.
 * - `card_settlement` (16 shards per currency) exists since AccountsAndLedger: clearings credit it and
 *   refunds debit it.
 *
 * down() refuses while any hold is active: dropping `held` would hand held money back to be spent twice
 * (its card clearing still to come). Holds that ended are dropped with the table; their clearings and
 * refunds stay in the ledger (append-only) and keep their keys.
 */
export class CardHolds1763700000016 implements MigrationInterface {
  name = 'CardHolds1763700000016';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE transactions.ledger_accounts
        ADD COLUMN held bigint NOT NULL DEFAULT 0 CONSTRAINT ledger_accounts_held_check CHECK (held >= 0)`);
    await q.query(`
      CREATE TABLE transactions.holds (
        id uuid PRIMARY KEY,
        network_transaction_id text NOT NULL CONSTRAINT holds_network_transaction_unique UNIQUE,
        account_id uuid NOT NULL,
        owner_id uuid NOT NULL,
        card_id uuid NOT NULL,
        amount bigint NOT NULL CHECK (amount > 0),
        remaining bigint NOT NULL CHECK (remaining >= 0 AND remaining <= amount),
        currency char(3) NOT NULL,
        merchant_name text NOT NULL,
        category text NOT NULL,
        status text NOT NULL CHECK (status IN ('active', 'cleared', 'reversed', 'expired', 'declined')),
        decline_reason text,
        -- The clearing's journal entry, once cleared.
        transaction_id uuid,
        expires_at timestamptz(3) NOT NULL,
        created_at timestamptz(3) NOT NULL,
        updated_at timestamptz(3) NOT NULL,
        -- An active hold holds something (so held = 0 says no hold is active); an ended one nothing.
        CONSTRAINT holds_remaining_check CHECK ((status = 'active') = (remaining > 0)),
        CONSTRAINT holds_decline_check CHECK ((status = 'declined') = (decline_reason IS NOT NULL))
      )`);
    // expiredHolds: active holds past their time, oldest first.
    await q.query(`CREATE INDEX holds_expiry_idx ON transactions.holds (expires_at) WHERE status = 'active'`);
    // A card's spend this bank day / month, summed under the account's row lock at every authorisation.
    await q.query(`CREATE INDEX holds_card_spend_idx ON transactions.holds (card_id, created_at)`);

    await q.query(ACCOUNT_JSON);
    await q.query(`DROP FUNCTION transactions.post_entry`);
    await q.query(POST_ENTRY);
    await q.query(AUTHORISE_CARD);
    await q.query(CLEAR_CARD);
    await q.query(RELEASE_HOLD);
    await q.query(REFUND_CARD);

    await q.query(`DROP INDEX transactions.idempotency_keys_expiring_idx`);
    await q.query(
      `CREATE INDEX idempotency_keys_expiring_idx ON transactions.idempotency_keys (created_at) WHERE ${PRUNABLE_KEY}`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    const [{ active }] = (await q.query(
      `SELECT count(*)::int AS active FROM transactions.holds WHERE status = 'active'`,
    )) as { active: number }[];
    if (active > 0) {
      throw new Error(
        `${active} card holds are active: reverting would let their money be spent before it clears`,
      );
    }
    await q.query(`DROP INDEX transactions.idempotency_keys_expiring_idx`);
    await q.query(
      `CREATE INDEX idempotency_keys_expiring_idx ON transactions.idempotency_keys (created_at) WHERE ${PRUNABLE_KEY_BEFORE}`,
    );
    for (const fn of ['refund_card', 'release_hold', 'clear_card', 'authorise_card', 'post_entry']) {
      await q.query(`DROP FUNCTION transactions.${fn}`);
    }
    await q.query(POST_ENTRY_BEFORE);
    await q.query(ACCOUNT_JSON_BEFORE);
    await q.query(`DROP TABLE transactions.holds`);
    await q.query(`ALTER TABLE transactions.ledger_accounts DROP COLUMN held`);
  }
}

/**
 * Who owns the card network's idempotency keys: no user. A network transaction id is the network's,
 * not a customer's, so its key is global: a retry of a clearing under another card or account is
 * idempotency_key_reused, never a second posting.
 */
export const CARD_NETWORK_OWNER = '00000000-0000-0000-0000-000000000000';

/**
 * Keys the retention prune may delete, word for word as the ledger module registers it: all but
 * payments' and the card network's (a space cannot occur in an Idempotency-Key header, so no
 * customer's key has these forms).
 */
const PRUNABLE_KEY_BEFORE = `key NOT LIKE 'payment %'`;
const PRUNABLE_KEY = `key NOT LIKE 'payment %' AND key NOT LIKE 'card-clearing %' AND key NOT LIKE 'card-refund %'`;

const ACCOUNT_JSON_BEFORE = `
CREATE OR REPLACE FUNCTION transactions.account_json(a transactions.ledger_accounts) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object('id', a.id, 'kind', a.kind, 'owner_id', a.owner_id, 'currency', a.currency,
    'status', a.status, 'overdraft_limit', a.overdraft_limit::text, 'balance', a.balance::text,
    'version', a.version::text)
$$`;

/** The ledger row as the poster hands it to the balance cache, now with what is held. */
export const ACCOUNT_JSON = `
CREATE OR REPLACE FUNCTION transactions.account_json(a transactions.ledger_accounts) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object('id', a.id, 'kind', a.kind, 'owner_id', a.owner_id, 'currency', a.currency,
    'status', a.status, 'overdraft_limit', a.overdraft_limit::text, 'balance', a.balance::text,
    'held', a.held::text, 'version', a.version::text)
$$`;

function replaceOnce(text: string, before: string, after: string): string {
  const at = text.indexOf(before);
  if (at < 0 || text.indexOf(before, at + 1) >= 0) {
    throw new Error(`post_entry: the text to change is not there once: ${before.trim().split('\n')[0]}`);
  }
  return text.slice(0, at) + after + text.slice(at + before.length);
}

const SIGNATURE_BEFORE = `
  p_staff_action jsonb DEFAULT NULL,
`;
const SIGNATURE = `
  p_staff_action jsonb DEFAULT NULL, p_ignore_funds boolean DEFAULT false,
`;
const FUNDS_BEFORE = `
  ELSIF d.overdraft_limit IS NOT NULL AND d.balance - p_amount < -d.overdraft_limit THEN
    outcome := 'insufficient_funds'; http_status := 422;`;
const FUNDS = `
  ELSIF d.overdraft_limit IS NOT NULL AND NOT p_ignore_funds
        AND d.balance - d.held - p_amount < -d.overdraft_limit THEN
    -- Held money (card authorisations not yet cleared) is spoken for. p_ignore_funds: a card clearing,
    -- money already owed, posts whatever is left.
    outcome := 'insufficient_funds'; http_status := 422;`;

/**
 * transactions.post_entry as LedgerPayments made it, with two changes: the funds rule subtracts the
 * account's held money, and p_ignore_funds (default false, so every caller so far is unchanged) skips
 * that rule for a card clearing. Derived from that text, so everything else is the same by construction.
 */
export const POST_ENTRY = replaceOnce(
  replaceOnce(POST_ENTRY_BEFORE, SIGNATURE_BEFORE, SIGNATURE),
  FUNDS_BEFORE,
  FUNDS,
);

/**
 * Decides a card authorisation in one round trip. A network transaction id already decided replays
 * that decision (approved with its hold id, or the same decline). Otherwise, under the account's row
 * lock (the lock every posting to it takes, so transfers, payments and other authorisations on the
 * account are ordered with this one), in this order:
 * - the account exists, is a customer's and p_owner's, and is not closed, else card_cancelled;
 *   frozen: card_blocked; another currency: currency_not_supported;
 * - the card's spend since the start of the bank day and of the bank month in p_time_zone (the amount
 *   of its holds active or cleared), plus this one, within p_daily_limit and p_monthly_limit (NULL: no
 *   limit), else limit_exceeded: read under the lock, so concurrent authorisations see each other;
 * - balance - held - amount >= -overdraft_limit, else insufficient_funds.
 * Approved: the hold is written and held += amount. Declined: the decline is written (status declined)
 * so a retry replays it. Returns the decision, the hold id, whether it was replayed, and (approved and
 * new) the account for the balance cache. hold_id_reused: p_hold_id belongs to another network
 * transaction (a bug of the caller's).
 */
export const AUTHORISE_CARD = `
CREATE FUNCTION transactions.authorise_card(
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
    outcome := 'card_blocked';
  ELSIF a.currency <> p_currency THEN
    outcome := 'currency_not_supported';
  ELSE
    IF p_daily_limit IS NOT NULL OR p_monthly_limit IS NOT NULL THEN
      -- Each statement reads what committed before it: every earlier holder of this lock included.
      SELECT coalesce(sum(x.amount) FILTER (WHERE x.created_at >= date_trunc('day', v_now, p_time_zone)), 0),
             coalesce(sum(x.amount), 0)
        INTO v_day, v_month
        FROM transactions.holds x
       WHERE x.card_id = p_card_id AND x.status IN ('active', 'cleared')
         AND x.created_at >= date_trunc('month', v_now, p_time_zone);
    END IF;
    IF (p_daily_limit IS NOT NULL AND v_day + p_amount > p_daily_limit)
       OR (p_monthly_limit IS NOT NULL AND v_month + p_amount > p_monthly_limit) THEN
      outcome := 'limit_exceeded';
    ELSIF a.balance - a.held - p_amount < -a.overdraft_limit THEN
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
$fn$`;

/**
 * Posts a card clearing and releases its hold, in one transaction. The entry (kind card) debits the
 * account and credits p_settlement (a card_settlement shard) with the merchant and category, so
 * transaction.created carries them; it goes through post_entry with p_ignore_funds and a frozen debit
 * allowed (the network has paid the merchant: the money is owed), under the global key
 * 'card-clearing <network transaction id>', so a repeated clearing replays its entry.
 *
 * The hold (p_hold_id) is locked first: two deliveries of one clearing queue on it, and the second
 * finds the first's key and replays. A hold that is unknown, of another card or account, declined or
 * already cleared by another clearing is refused (hold_not_found). An active hold is released whatever
 * the amount cleared (a tip, a partial shipment): remaining -> 0, held -= remaining, status cleared. A
 * hold that has expired or been reversed holds nothing any more: its clearing is posted as forced, like
 * one without a hold (p_hold_id NULL). A refusal is not kept under the key (as post_payment's).
 *
 * Outcomes: posted (replayed says whether before), hold_not_found, account_not_found (unknown, or not
 * p_owner's), account_closed, currency_mismatch, and idempotency_key_reused (the same clearing id with
 * another hold, card, account, owner, amount or currency).
 */
export const CLEAR_CARD = `
CREATE FUNCTION transactions.clear_card(
  p_entry_id uuid, p_network_transaction_id text, p_hold_id uuid, p_card_id uuid, p_account uuid, p_owner uuid,
  p_amount bigint, p_currency char(3), p_merchant_name text, p_category text, p_settlement uuid,
  p_request_hash text, p_event_headers jsonb,
  OUT outcome text, OUT entry_id uuid, OUT created_at timestamptz, OUT forced boolean, OUT replayed boolean,
  OUT accounts jsonb
) LANGUAGE plpgsql AS $fn$
DECLARE
  h transactions.holds;
  v_key text := 'card-clearing ' || p_network_transaction_id;
  v_released bigint := 0;
BEGIN
  replayed := false;
  IF p_hold_id IS NOT NULL THEN
    SELECT * INTO h FROM transactions.holds x WHERE x.id = p_hold_id FOR UPDATE;
    IF NOT EXISTS (SELECT 1 FROM transactions.idempotency_keys i
                    WHERE i.owner_id = '${CARD_NETWORK_OWNER}' AND i.key = v_key)
       AND (h.id IS NULL OR h.card_id <> p_card_id OR h.account_id <> p_account
            OR h.status IN ('cleared', 'declined')) THEN
      outcome := 'hold_not_found'; RETURN;
    END IF;
  END IF;

  SELECT pe.outcome, pe.entry_id, pe.created_at INTO outcome, entry_id, created_at
    FROM transactions.post_entry(
      p_entry_id => p_entry_id, p_kind => 'card', p_debit => p_account, p_credit => p_settlement,
      p_amount => p_amount, p_currency => p_currency, p_reference => NULL, p_merchant => p_merchant_name,
      p_category => p_category, p_reverses => NULL, p_initiated_by => p_owner, p_debit_owner => p_owner,
      p_not_owner => NULL, p_allow_frozen => true, p_idem_owner => '${CARD_NETWORK_OWNER}', p_idem_key => v_key,
      p_request_hash => p_request_hash, p_event_headers => p_event_headers, p_ignore_funds => true) pe;

  IF outcome = 'replayed:posted' THEN
    outcome := 'posted'; replayed := true;
    SELECT e.created_at INTO created_at FROM transactions.entries e WHERE e.id = clear_card.entry_id;
    forced := NOT EXISTS (SELECT 1 FROM transactions.holds x WHERE x.transaction_id = clear_card.entry_id);
    RETURN;
  ELSIF outcome <> 'posted' THEN
    IF outcome <> 'idempotency_key_reused' THEN
      DELETE FROM transactions.idempotency_keys i WHERE i.owner_id = '${CARD_NETWORK_OWNER}' AND i.key = v_key;
    END IF;
    outcome := CASE outcome WHEN 'debit_not_found' THEN 'account_not_found' ELSE outcome END;
    RETURN;
  END IF;

  forced := h.id IS NULL OR h.status <> 'active';
  IF NOT forced THEN
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
$fn$`;

/**
 * Releases all (p_amount NULL) or part of an active hold: remaining -= it (at most what remains),
 * held -= it on the account; a hold released in full takes p_reason (reversed or expired) as its status.
 * Locks the hold, then the account (the order clear_card takes them in). A hold no longer active is left
 * as it is and reported (released 0): a repeated reversal or a late expiry changes nothing. status NULL:
 * no such hold (declines are not holds).
 */
const RELEASE_HOLD = `
CREATE FUNCTION transactions.release_hold(
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
$fn$`;

/**
 * Credits a card refund to the account from p_settlement (a card_settlement shard), kind card with the
 * merchant and category, under the global key 'card-refund <network transaction id>' (a repeat replays
 * it). The account must be p_owner's (else account_not_found); a frozen one is credited (money in still
 * lands), a closed one refuses (account_closed). A refusal is not kept under the key.
 */
export const REFUND_CARD = `
CREATE FUNCTION transactions.refund_card(
  p_entry_id uuid, p_network_transaction_id text, p_account uuid, p_owner uuid, p_amount bigint,
  p_currency char(3), p_merchant_name text, p_category text, p_settlement uuid, p_request_hash text,
  p_event_headers jsonb,
  OUT outcome text, OUT entry_id uuid, OUT created_at timestamptz, OUT replayed boolean, OUT accounts jsonb
) LANGUAGE plpgsql AS $fn$
DECLARE
  v_key text := 'card-refund ' || p_network_transaction_id;
BEGIN
  replayed := false;
  -- An account's owner never changes: checked without its lock.
  IF NOT EXISTS (SELECT 1 FROM transactions.ledger_accounts x
                  WHERE x.id = p_account AND x.kind = 'customer' AND x.owner_id = p_owner) THEN
    outcome := 'account_not_found'; RETURN;
  END IF;
  SELECT pe.outcome, pe.entry_id, pe.created_at, pe.accounts INTO outcome, entry_id, created_at, accounts
    FROM transactions.post_entry(
      p_entry_id => p_entry_id, p_kind => 'card', p_debit => p_settlement, p_credit => p_account,
      p_amount => p_amount, p_currency => p_currency, p_reference => NULL, p_merchant => p_merchant_name,
      p_category => p_category, p_reverses => NULL, p_initiated_by => NULL, p_debit_owner => NULL,
      p_not_owner => NULL, p_allow_frozen => false, p_idem_owner => '${CARD_NETWORK_OWNER}', p_idem_key => v_key,
      p_request_hash => p_request_hash, p_event_headers => p_event_headers) pe;
  IF outcome = 'replayed:posted' THEN
    outcome := 'posted'; replayed := true;
    SELECT e.created_at INTO created_at FROM transactions.entries e WHERE e.id = refund_card.entry_id;
  ELSIF outcome NOT IN ('posted', 'idempotency_key_reused') THEN
    DELETE FROM transactions.idempotency_keys i WHERE i.owner_id = '${CARD_NETWORK_OWNER}' AND i.key = v_key;
  END IF;
END
$fn$`;
