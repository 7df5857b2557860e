import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The payments module: payees, one-off scheduled payments, standing orders, and their payments (one row per
 * order and due date: the unique (order_id, due_date) is what makes a due date paid at most once on this
 * side; the ledger's key derived from the same pair makes it posted at most once on the other).
 */
export class Payments1763700000014 implements MigrationInterface {
  name = 'Payments1763700000014';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE payments.payees (
        id uuid PRIMARY KEY,
        owner_id uuid NOT NULL,
        name text NOT NULL,
        sort_code char(6) NOT NULL,
        account_number char(8) NOT NULL,
        reference text,
        type text NOT NULL CHECK (type IN ('internal', 'external')),
        -- The ledger account an internal payee is paid into (resolved once, when saved).
        account_id uuid,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        deleted_at timestamptz(3),
        CHECK ((type = 'internal') = (account_id IS NOT NULL))
      )`);
    await q.query(`CREATE INDEX payees_owner_idx ON payments.payees (owner_id, created_at, id)`);

    const order = `
        id uuid PRIMARY KEY,
        owner_id uuid NOT NULL,
        from_account_id uuid NOT NULL,
        payee_id uuid NOT NULL REFERENCES payments.payees (id),
        amount bigint NOT NULL CHECK (amount > 0),
        currency char(3) NOT NULL,
        reference text NOT NULL,
        -- Why it stopped: a failure reason, payee_deleted, customer.
        status_reason text,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now()`;
    await q.query(`
      CREATE TABLE payments.standing_orders (${order},
        frequency text NOT NULL CHECK (frequency IN ('weekly', 'monthly', 'quarterly', 'yearly')),
        start_date date NOT NULL,
        end_date date,
        count int CHECK (count > 0),
        status text NOT NULL DEFAULT 'active'
          CHECK (status IN ('active', 'suspended', 'cancelled', 'completed')),
        -- Occurrence next_n, due on next_payment_date, is the next to be scheduled; NULL: none is left.
        next_n int NOT NULL DEFAULT 0,
        next_payment_date date,
        payments_made int NOT NULL DEFAULT 0,
        consecutive_failures int NOT NULL DEFAULT 0,
        last_executed_at timestamptz(3)
      )`);
    await q.query(
      `CREATE INDEX standing_orders_due_idx ON payments.standing_orders (next_payment_date) WHERE status = 'active'`,
    );
    await q.query(
      `CREATE INDEX standing_orders_owner_idx ON payments.standing_orders (owner_id, created_at, id)`,
    );
    await q.query(`CREATE INDEX standing_orders_payee_idx ON payments.standing_orders (payee_id)`);

    await q.query(`
      CREATE TABLE payments.scheduled_payments (${order},
        pay_on date NOT NULL,
        status text NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'paid', 'failed', 'cancelled'))
      )`);
    await q.query(
      `CREATE INDEX scheduled_payments_owner_idx ON payments.scheduled_payments (owner_id, created_at, id)`,
    );
    await q.query(`CREATE INDEX scheduled_payments_payee_idx ON payments.scheduled_payments (payee_id)`);

    await q.query(`
      CREATE TABLE payments.payments (
        id uuid PRIMARY KEY,
        source text NOT NULL CHECK (source IN ('standing_order', 'scheduled_payment')),
        order_id uuid NOT NULL,
        n int NOT NULL,
        owner_id uuid NOT NULL,
        from_account_id uuid NOT NULL,
        payee_id uuid NOT NULL REFERENCES payments.payees (id),
        amount bigint NOT NULL CHECK (amount > 0),
        currency char(3) NOT NULL,
        reference text NOT NULL,
        due_date date NOT NULL,
        -- The working day it is paid on: due_date, or the next working day after it.
        pay_on date NOT NULL,
        -- pending: not tried yet; processing: a sweep is posting it (a crash leaves it so, and the next
        -- sweep posts it again under the same ledger key); retrying: refused for funds, tried again at
        -- next_attempt_at; paid, failed; skipped: its order stopped before it was tried.
        status text NOT NULL DEFAULT 'pending'
          CHECK (status IN ('pending', 'processing', 'retrying', 'paid', 'failed', 'skipped')),
        attempts int NOT NULL DEFAULT 0,
        next_attempt_at timestamptz(3) NOT NULL,
        transaction_id uuid,
        failure_reason text,
        -- Tried first after its paying day had passed (the scheduler caught up after downtime).
        late boolean NOT NULL DEFAULT false,
        -- When it was paid or failed: the order of the payment history.
        settled_at timestamptz(3),
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        CONSTRAINT payments_order_due_unique UNIQUE (order_id, due_date),
        CHECK ((status IN ('paid', 'failed')) = (settled_at IS NOT NULL)),
        CHECK ((status = 'paid') = (transaction_id IS NOT NULL))
      )`);
    // What a sweep scans: the open payments, oldest first.
    await q.query(
      `CREATE INDEX payments_open_idx ON payments.payments (pay_on, due_date, id)
        WHERE status IN ('pending', 'processing', 'retrying')`,
    );
    await q.query(
      `CREATE INDEX payments_history_idx ON payments.payments (owner_id, settled_at, id)
        WHERE settled_at IS NOT NULL`,
    );
    await q.query(
      `CREATE INDEX payments_failed_idx ON payments.payments (settled_at, id) WHERE status = 'failed'`,
    );

    // Idempotency-Keys of the POSTs that set up money movements: the same key and body give back what the
    // first request created.
    await q.query(`
      CREATE TABLE payments.idempotency_keys (
        owner_id uuid NOT NULL,
        key text NOT NULL,
        request_hash text NOT NULL,
        resource_id uuid NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (owner_id, key)
      )`);
    await q.query(`CREATE INDEX payments_idempotency_created_idx ON payments.idempotency_keys (created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    // Events about payments that no longer exist must not be relayed.
    await q.query(`DELETE FROM payments.outbox WHERE name LIKE 'payment.%'`);
    await q.query(`DROP TABLE payments.idempotency_keys`);
    await q.query(`DROP TABLE payments.payments`);
    await q.query(`DROP TABLE payments.scheduled_payments`);
    await q.query(`DROP TABLE payments.standing_orders`);
    await q.query(`DROP TABLE payments.payees`);
  }
}
