import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Currencies the ledger holds; each has its own system accounts. JPY has no minor unit. */
export const CURRENCIES = ['GBP', 'EUR', 'USD', 'JPY'];
/** System accounts, each split into SHARDS ledger rows so one busy account is not one row lock. */
const SYSTEM_CODES = ['cash', 'card_settlement', 'fees'];
export const SHARDS = 16;

/**
 * Customer accounts (accounts schema: numbers, type, name, owner) and the double-entry ledger
 * (transactions schema). The ledger keeps each account's balance, status and overdraft limit on one row,
 * so that the check and the debit of a transfer happen under that row's lock; `transactions.post_entry`
 * is the one way money moves (see its comment).
 */
export class AccountsAndLedger1763700000006 implements MigrationInterface {
  name = 'AccountsAndLedger1763700000006';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE SEQUENCE accounts.account_serial MINVALUE 1 MAXVALUE 9999999 NO CYCLE`);
    await q.query(`
      CREATE TABLE accounts.accounts (
        id uuid PRIMARY KEY,
        owner_id uuid NOT NULL,
        sort_code char(6) NOT NULL,
        account_number char(8) NOT NULL,
        type text NOT NULL CONSTRAINT accounts_type_check CHECK (type IN ('current', 'savings')),
        currency char(3) NOT NULL,
        name text NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        CONSTRAINT accounts_number_unique UNIQUE (sort_code, account_number)
      )`);
    await q.query(`CREATE INDEX accounts_owner_idx ON accounts.accounts (owner_id, created_at, id)`);

    await q.query(`
      CREATE TABLE transactions.ledger_accounts (
        id uuid PRIMARY KEY,
        kind text NOT NULL CHECK (kind IN ('customer', 'system')),
        owner_id uuid,
        system_code text,
        shard smallint,
        currency char(3) NOT NULL CHECK (currency IN (${CURRENCIES.map((c) => `'${c}'`).join(', ')})),
        status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'frozen', 'closed')),
        -- NULL: no limit (system accounts go as negative as the money they have put into the bank).
        overdraft_limit bigint CHECK (overdraft_limit BETWEEN 0 AND 1000000000000000),
        balance bigint NOT NULL DEFAULT 0,
        -- Bumped by every change of the row; postings carry it, so it orders an account's history and
        -- versions the balance cache.
        version bigint NOT NULL DEFAULT 0,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        CHECK (CASE kind
                 WHEN 'customer' THEN owner_id IS NOT NULL AND overdraft_limit IS NOT NULL AND system_code IS NULL
                 ELSE owner_id IS NULL AND system_code IS NOT NULL AND shard IS NOT NULL END),
        CONSTRAINT ledger_accounts_system_unique UNIQUE (system_code, currency, shard)
      )`);
    await q.query(`
      CREATE TABLE transactions.entries (
        id uuid PRIMARY KEY,
        kind text NOT NULL CHECK (kind IN
          ('transfer', 'deposit', 'reversal', 'card', 'standing_order', 'scheduled_payment', 'fee')),
        debit_account_id uuid NOT NULL REFERENCES transactions.ledger_accounts (id),
        credit_account_id uuid NOT NULL REFERENCES transactions.ledger_accounts (id),
        amount bigint NOT NULL CHECK (amount > 0),
        currency char(3) NOT NULL,
        reference text,
        merchant text,
        category text,
        reverses_id uuid UNIQUE REFERENCES transactions.entries (id),
        initiated_by uuid,
        created_at timestamptz(3) NOT NULL,
        CHECK (debit_account_id <> credit_account_id)
      )`);
    await q.query(`
      CREATE TABLE transactions.postings (
        account_id uuid NOT NULL REFERENCES transactions.ledger_accounts (id),
        account_version bigint NOT NULL,
        entry_id uuid NOT NULL REFERENCES transactions.entries (id),
        amount bigint NOT NULL CHECK (amount <> 0),
        currency char(3) NOT NULL,
        balance_after bigint NOT NULL,
        created_at timestamptz(3) NOT NULL,
        PRIMARY KEY (account_id, account_version)
      )`);
    await q.query(`CREATE INDEX postings_entry_idx ON transactions.postings (entry_id)`);
    await q.query(`CREATE INDEX postings_account_time_idx ON transactions.postings (account_id, created_at)`);
    // Append-only: corrections are reversing entries, never edits.
    await q.query(`
      CREATE FUNCTION transactions.refuse_ledger_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'the ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME
          USING ERRCODE = 'restrict_violation';
      END $$`);
    for (const table of ['entries', 'postings']) {
      await q.query(`
        CREATE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON transactions.${table}
        FOR EACH STATEMENT EXECUTE FUNCTION transactions.refuse_ledger_change()`);
    }
    await q.query(`
      CREATE TABLE transactions.idempotency_keys (
        owner_id uuid NOT NULL,
        key text NOT NULL,
        request_hash text NOT NULL,
        http_status smallint,
        outcome text,
        entry_id uuid,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (owner_id, key)
      )`);
    await q.query(`CREATE INDEX idempotency_keys_created_idx ON transactions.idempotency_keys (created_at)`);

    await q.query(
      `INSERT INTO transactions.ledger_accounts (id, kind, system_code, shard, currency)
       SELECT gen_random_uuid(), 'system', code, shard, currency
         FROM unnest($1::text[]) code, unnest($2::text[]) currency, generate_series(0, $3 - 1) shard`,
      [SYSTEM_CODES, CURRENCIES, SHARDS],
    );
    // bigint as text: JSON numbers would lose precision beyond 2^53 on their way to JavaScript.
    await q.query(`
      CREATE FUNCTION transactions.account_json(a transactions.ledger_accounts) RETURNS jsonb
      LANGUAGE sql IMMUTABLE AS $$
        SELECT jsonb_build_object('id', a.id, 'kind', a.kind, 'owner_id', a.owner_id, 'currency', a.currency,
          'status', a.status, 'overdraft_limit', a.overdraft_limit::text, 'balance', a.balance::text,
          'version', a.version::text)
      $$`);
    await q.query(POST_ENTRY);
  }

  async down(q: QueryRunner): Promise<void> {
    // Events of a ledger that no longer exists must not be relayed.
    await q.query(`DELETE FROM transactions.outbox WHERE name = 'transaction.created'`);
    await q.query(`DROP FUNCTION transactions.post_entry`);
    await q.query(`DROP FUNCTION transactions.account_json`);
    await q.query(`DROP TABLE transactions.idempotency_keys`);
    await q.query(`DROP TABLE transactions.postings`);
    await q.query(`DROP TABLE transactions.entries`);
    await q.query(`DROP FUNCTION transactions.refuse_ledger_change`);
    await q.query(`DROP TABLE transactions.ledger_accounts`);
    await q.query(`DROP TABLE accounts.accounts`);
    await q.query(`DROP SEQUENCE accounts.account_serial`);
  }
}

/**
 * Posts one two-leg journal entry, atomically and idempotently, in one round trip. In order:
 * 1. Claims the idempotency key. A concurrent request with the same key waits here until the first
 *    commits, then finds its outcome: money moves once per key. Another body under the key is refused.
 * 2. Locks both ledger rows in id order (every caller locks in the same order, so no deadlock).
 * 3. Checks, under those locks: the debit account exists and (for customers) is the caller's, the credit
 *    account exists (and is a customer's, unless the kind pays the bank), they differ, neither belongs
 *    to p_not_owner (staff acting on their own account), both are open,
 *    the debit account is not frozen, both hold the currency, a reversal is the first one, and the debit
 *    stays within -overdraft_limit. A failed check is recorded as the key's outcome and nothing else changes.
 * 4. Writes the entry, its two postings (summing to zero) with the balances after them, updates both
 *    balances, and writes transaction.created to the outbox: the event exists if and only if the money
 *    moved. No NOTIFY: NOTIFY serialises all committing transactions on one lock; the poster wakes its
 *    process's relay after commit instead, and the relay's poll covers a crash.
 * Returns the outcome (posted | replayed | an error code), its HTTP status, the entry id and the new
 * state of the customer accounts touched (for the balance cache).
 */
export const POST_ENTRY = `
CREATE FUNCTION transactions.post_entry(
  p_entry_id uuid, p_kind text, p_debit uuid, p_credit uuid, p_amount bigint, p_currency char(3),
  p_reference text, p_merchant text, p_category text, p_reverses uuid, p_initiated_by uuid,
  p_debit_owner uuid, p_not_owner uuid, p_allow_frozen boolean,
  p_idem_owner uuid, p_idem_key text, p_request_hash text, p_event_headers jsonb,
  OUT outcome text, OUT http_status int, OUT entry_id uuid, OUT created_at timestamptz, OUT accounts jsonb
) LANGUAGE plpgsql AS $fn$
DECLARE
  r transactions.ledger_accounts;
  d transactions.ledger_accounts;
  c transactions.ledger_accounts;
  k transactions.idempotency_keys;
  v_now timestamptz;
  v_at text;
BEGIN
  IF p_idem_key IS NOT NULL THEN
    INSERT INTO transactions.idempotency_keys AS i (owner_id, key, request_hash)
    VALUES (p_idem_owner, p_idem_key, p_request_hash) ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
      SELECT * INTO k FROM transactions.idempotency_keys i WHERE i.owner_id = p_idem_owner AND i.key = p_idem_key;
      IF k.request_hash <> p_request_hash THEN
        outcome := 'idempotency_key_reused'; http_status := 422; RETURN;
      END IF;
      outcome := 'replayed:' || k.outcome; http_status := k.http_status; entry_id := k.entry_id; RETURN;
    END IF;
  END IF;

  FOR r IN SELECT * FROM transactions.ledger_accounts a WHERE a.id IN (p_debit, p_credit) ORDER BY a.id FOR UPDATE
  LOOP
    IF r.id = p_debit THEN d := r; ELSE c := r; END IF;
  END LOOP;

  IF p_debit = p_credit THEN
    outcome := 'same_account'; http_status := 422;
  ELSIF d.id IS NULL OR (p_debit_owner IS NOT NULL AND d.owner_id IS DISTINCT FROM p_debit_owner) THEN
    outcome := 'debit_not_found'; http_status := 404;
  ELSIF c.id IS NULL OR (c.kind = 'system' AND p_kind NOT IN ('card', 'fee', 'reversal')) THEN
    -- Only card spends, fees and reversals pay into a system account.
    outcome := 'credit_not_found'; http_status := 404;
  ELSIF p_not_owner IS NOT NULL AND p_not_owner IN (d.owner_id, c.owner_id) THEN
    -- Staff never move money on their own accounts.
    outcome := 'own_account'; http_status := 403;
  ELSIF d.status = 'closed' OR c.status = 'closed' THEN
    outcome := 'account_closed'; http_status := 409;
  ELSIF NOT p_allow_frozen AND d.status = 'frozen' THEN
    -- A freeze stops money leaving. Payments in still land: bouncing them would tell a third party
    -- that the account is frozen (and tip off its holder).
    outcome := 'account_frozen'; http_status := 409;
  ELSIF d.currency <> p_currency OR c.currency <> p_currency THEN
    outcome := 'currency_mismatch'; http_status := 422;
  ELSIF p_reverses IS NOT NULL AND EXISTS (SELECT 1 FROM transactions.entries e WHERE e.reverses_id = p_reverses) THEN
    outcome := 'already_reversed'; http_status := 409;
  ELSIF d.overdraft_limit IS NOT NULL AND d.balance - p_amount < -d.overdraft_limit THEN
    outcome := 'insufficient_funds'; http_status := 422;
  ELSE
    outcome := 'posted'; http_status := 201; entry_id := p_entry_id;
  END IF;

  IF outcome = 'posted' THEN
    -- Taken under the locks, so an account's postings are in time order as well as version order.
    v_now := date_trunc('milliseconds', clock_timestamp());
    created_at := v_now;
    UPDATE transactions.ledger_accounts a SET balance = a.balance - p_amount, version = a.version + 1, updated_at = v_now
     WHERE a.id = d.id RETURNING * INTO d;
    UPDATE transactions.ledger_accounts a SET balance = a.balance + p_amount, version = a.version + 1, updated_at = v_now
     WHERE a.id = c.id RETURNING * INTO c;
    INSERT INTO transactions.entries (id, kind, debit_account_id, credit_account_id, amount, currency, reference,
                                      merchant, category, reverses_id, initiated_by, created_at)
    VALUES (p_entry_id, p_kind, d.id, c.id, p_amount, p_currency, p_reference,
            p_merchant, p_category, p_reverses, p_initiated_by, v_now);
    INSERT INTO transactions.postings (account_id, account_version, entry_id, amount, currency, balance_after, created_at)
    VALUES (d.id, d.version, p_entry_id, -p_amount, p_currency, d.balance, v_now),
           (c.id, c.version, p_entry_id, p_amount, p_currency, c.balance, v_now);
    v_at := to_char(v_now AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
    INSERT INTO transactions.outbox (id, name, payload, headers)
    SELECT ev.id, 'transaction.created', jsonb_build_object(
             'event_id', ev.id, 'occurred_at', v_at, 'transaction_id', p_entry_id, 'kind', p_kind,
             'from_account_id', d.id, 'from_owner_id', d.owner_id, 'to_account_id', c.id, 'to_owner_id', c.owner_id,
             'amount', p_amount, 'currency', p_currency, 'reference', p_reference, 'merchant', p_merchant,
             'category', p_category, 'reverses_id', p_reverses, 'created_at', v_at),
           coalesce(p_event_headers, '{}')
      FROM (SELECT gen_random_uuid() AS id) ev;
  END IF;

  IF p_idem_key IS NOT NULL THEN
    UPDATE transactions.idempotency_keys i SET http_status = post_entry.http_status, outcome = post_entry.outcome,
           entry_id = post_entry.entry_id
     WHERE i.owner_id = p_idem_owner AND i.key = p_idem_key;
  END IF;

  IF outcome = 'posted' THEN
    -- bigint as text: JSON numbers would lose precision beyond 2^53 on their way to JavaScript.
    accounts := jsonb_build_array(transactions.account_json(d), transactions.account_json(c));
  END IF;
END
$fn$`;
