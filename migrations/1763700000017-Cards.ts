import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The cards module: cards (the number only encrypted, found by its keyed hash, the CVC never stored), the
 * authorisations the card network asks for (filled by the network API; their holds live in the ledger),
 * and the audit trail of card-detail reveals. The outbox and inbox are the Foundation's.
 */
export class Cards1763700000017 implements MigrationInterface {
  name = 'Cards1763700000017';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE cards.cards (
        id uuid PRIMARY KEY,
        owner_id uuid NOT NULL,
        -- The ledger account it spends from, and that account's currency when the card was issued.
        account_id uuid NOT NULL,
        currency char(3) NOT NULL,
        type text NOT NULL CHECK (type IN ('virtual', 'physical')),
        brand text NOT NULL CHECK (brand IN ('visa', 'mastercard')),
        -- AES-256-GCM (format byte, IV, tag, ciphertext), the card id as associated data.
        pan_encrypted bytea NOT NULL,
        -- HMAC-SHA-256 of the number under a key derived from CARD_DATA_KEY: how the network's number is found.
        pan_hash bytea NOT NULL CONSTRAINT cards_pan_hash_key UNIQUE,
        last4 char(4) NOT NULL,
        expiry_month smallint NOT NULL CHECK (expiry_month BETWEEN 1 AND 12),
        expiry_year smallint NOT NULL,
        cardholder_name text NOT NULL,
        -- The customer's own state: frozen and unfrozen by them, cancelled for good.
        status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'frozen', 'cancelled')),
        -- A staff block, over whatever the customer sets: only staff lift it.
        blocked_by_staff boolean NOT NULL DEFAULT false,
        blocked_by uuid,
        blocked_reason text,
        blocked_at timestamptz(3),
        cancel_reason text CHECK (cancel_reason IN ('lost', 'stolen', 'closed')),
        cancelled_at timestamptz(3),
        -- The card issued in its place on cancellation with replace, and the one it replaced.
        replaced_by uuid REFERENCES cards.cards (id),
        replaces uuid REFERENCES cards.cards (id),
        -- Spending limits in minor units (NULL: none), checked at authorisation.
        limit_per_transaction bigint CHECK (limit_per_transaction > 0),
        limit_daily bigint CHECK (limit_daily > 0),
        limit_monthly bigint CHECK (limit_monthly > 0),
        online_allowed boolean NOT NULL DEFAULT true,
        contactless_allowed boolean NOT NULL DEFAULT true,
        atm_allowed boolean NOT NULL DEFAULT true,
        -- Merchant category groups refused at authorisation (e.g. gambling).
        blocked_categories text[] NOT NULL DEFAULT '{}',
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        CHECK ((status = 'cancelled') = (cancel_reason IS NOT NULL AND cancelled_at IS NOT NULL)),
        CHECK (blocked_by_staff = (blocked_by IS NOT NULL AND blocked_at IS NOT NULL)),
        CHECK (replaced_by IS NULL OR status = 'cancelled')
      )`);
    await q.query(`CREATE INDEX cards_owner_idx ON cards.cards (owner_id, created_at, id)`);
    await q.query(`CREATE INDEX cards_account_idx ON cards.cards (account_id)`);

    await q.query(`
      CREATE TABLE cards.authorisations (
        -- The ledger hold's id too.
        id uuid PRIMARY KEY,
        card_id uuid NOT NULL REFERENCES cards.cards (id),
        owner_id uuid NOT NULL,
        account_id uuid NOT NULL,
        -- The network's id: a retried request replays the first decision.
        network_transaction_id text NOT NULL CONSTRAINT authorisations_network_transaction_id_key UNIQUE,
        amount bigint NOT NULL CHECK (amount > 0),
        currency char(3) NOT NULL,
        -- {name, category_code, city, country} as the network sent it.
        merchant jsonb NOT NULL,
        -- The merchant category group of its MCC.
        category text NOT NULL,
        channel text NOT NULL CHECK (channel IN ('online', 'contactless', 'chip', 'atm')),
        status text NOT NULL CHECK (status IN ('pending', 'cleared', 'reversed', 'expired', 'declined')),
        decline_reason text,
        cleared_amount bigint CHECK (cleared_amount > 0),
        transaction_id uuid,
        -- Cleared without a prior authorisation (a forced post).
        forced boolean NOT NULL DEFAULT false,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        CHECK ((status = 'declined') = (decline_reason IS NOT NULL)),
        CHECK ((status = 'cleared') = (transaction_id IS NOT NULL))
      )`);
    // A card's authorisations, newest first, all or by status.
    await q.query(`CREATE INDEX authorisations_card_idx ON cards.authorisations (card_id, created_at, id)`);
    await q.query(
      `CREATE INDEX authorisations_card_status_idx ON cards.authorisations (card_id, status, created_at, id)`,
    );

    // Every attempt to see a card's details that reached the password check, and how it ended.
    await q.query(`
      CREATE TABLE cards.reveals (
        id uuid PRIMARY KEY,
        card_id uuid NOT NULL REFERENCES cards.cards (id),
        owner_id uuid NOT NULL,
        outcome text NOT NULL CHECK (outcome IN ('revealed', 'wrong_password')),
        ip text,
        request_id text,
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX reveals_card_idx ON cards.reveals (card_id, created_at, id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    // Events about cards that no longer exist must not be relayed (the cards outbox carries only those).
    await q.query(`DELETE FROM cards.outbox`);
    await q.query(`DROP TABLE cards.reveals`);
    await q.query(`DROP TABLE cards.authorisations`);
    await q.query(`DROP TABLE cards.cards`);
  }
}
