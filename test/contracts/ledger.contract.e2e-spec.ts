/**
 * One contract suite, two bindings (DESIGN.md §3), for the contracts of accounts and transactions:
 * the ledger API as the monolith injects it and as the accounts app reaches it over RabbitMQ, and the
 * accounts API likewise from the transactions app. Same results, bigint amounts and typed errors
 * included; payments (`pay`) post once per key, and a refusal is decided anew on the next try. Also:
 * expired Idempotency-Keys are pruned, unexpired ones and payments' kept.
 */
import type { INestApplicationContext } from '@nestjs/common';
import { AccountsModule } from '@protobank/accounts';
import {
  ACCOUNTS_API,
  AccountsContract,
  TRANSACTIONS_API,
  TransactionsContract,
  UsersContract,
  type AccountsApi,
  type Currency,
  type PaymentPosting,
  type TransactionsApi,
} from '@protobank/contracts';
import { AppError, IdempotencyRetention } from '@protobank/platform';
import { TransactionsModule } from '@protobank/transactions';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Client } from 'pg';
import type Redis from 'ioredis';
import { LedgerVerifyService } from '../../libs/transactions/src/admin/ledger-verify.service';
import { createContext } from '../support/contexts';
import { processes } from '../support/processes';
import { createTestEnv, type TestEnv } from '../support/test-env';

describe('ledger and accounts contracts', () => {
  let t: TestEnv;
  let db: Client;
  let redis: Redis;
  let transactionsApp: INestApplicationContext;
  let accountsApp: INestApplicationContext;
  const ledger: Record<string, TransactionsApi> = {};
  const accounts: Record<string, AccountsApi> = {};

  beforeAll(async () => {
    t = await createTestEnv('ledger_contract');
    await processes.runOnce('migrate', t.env, { logFile: join(t.logDir, 'migrate.log') });
    db = await t.db();
    redis = await t.redis();
    transactionsApp = await createContext({
      service: 'transactions',
      transport: 'rmq',
      env: t.env,
      modules: [TransactionsModule],
      serves: [TransactionsContract],
      calls: [AccountsContract],
    });
    accountsApp = await createContext({
      service: 'accounts',
      transport: 'rmq',
      env: t.env,
      modules: [AccountsModule],
      serves: [AccountsContract],
      calls: [UsersContract, TransactionsContract],
    });
    ledger.local = transactionsApp.get<TransactionsApi>(TRANSACTIONS_API);
    ledger.rabbitmq = accountsApp.get<TransactionsApi>(TRANSACTIONS_API);
    accounts.local = accountsApp.get<AccountsApi>(ACCOUNTS_API);
    accounts.rabbitmq = transactionsApp.get<AccountsApi>(ACCOUNTS_API);
  });

  afterAll(async () => {
    await accountsApp?.close();
    await transactionsApp?.close();
    await t?.cleanup();
  });

  describe.each(['local', 'rabbitmq'])('transactions API bound %s', (binding) => {
    const api = () => ledger[binding];

    it('opens an account idempotently, with bigint money', async () => {
      const input = { account_id: randomUUID(), owner_id: randomUUID(), currency: 'EUR' as const };
      const state = await api().openAccount(input);
      expect(state).toEqual({
        account_id: input.account_id,
        owner_id: input.owner_id,
        currency: 'EUR',
        status: 'active',
        balance: 0n,
        overdraft_limit: 0n,
        held: 0n,
        available_balance: 0n,
        version: 0n,
        as_of: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
      });
      await expect(api().openAccount(input)).resolves.toMatchObject({ account_id: input.account_id });
      const err = await api()
        .openAccount({ ...input, owner_id: randomUUID() })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect(err).toMatchObject({ status: 409, code: 'account_exists' });
    });

    it('changes status and limit under the ledger row, and closes at zero once', async () => {
      const id = randomUUID();
      const owner = randomUUID();
      const staff = { actor: { user_id: randomUUID(), role: 'staff' as const }, reason: 'contract test' };
      await api().openAccount({ account_id: id, owner_id: owner, currency: 'GBP' });
      await expect(api().setOverdraftLimit(id, 2500n, staff)).resolves.toMatchObject({
        overdraft_limit: 2500n,
        available_balance: 2500n,
      });
      await expect(api().setStatus(id, 'frozen', staff)).resolves.toMatchObject({
        status: 'frozen',
        available_balance: 0n,
      });
      await expect(api().setStatus(id, 'frozen', staff)).rejects.toMatchObject({
        status: 409,
        code: 'already_frozen',
      });
      await expect(api().close(id)).rejects.toMatchObject({ status: 409, code: 'account_frozen' });
      // The owner, were they staff, may not touch it; another staff member may not lift this freeze.
      const own = { actor: { user_id: owner, role: 'admin' as const }, reason: 'mine' };
      await expect(api().setStatus(id, 'active', own)).rejects.toMatchObject({
        status: 403,
        code: 'own_account',
      });
      await expect(api().setOverdraftLimit(id, 9n, own)).rejects.toMatchObject({ code: 'own_account' });
      const other = { actor: { user_id: randomUUID(), role: 'staff' as const }, reason: 'not mine' };
      await expect(api().setStatus(id, 'active', other)).rejects.toMatchObject({
        status: 403,
        code: 'frozen_by_other',
      });
      await api().setStatus(id, 'active', staff);
      await expect(api().setStatus(id, 'active', staff)).rejects.toMatchObject({
        status: 409,
        code: 'not_frozen',
      });
      const closed = await api().close(id);
      expect(closed).toMatchObject({ status: 'closed', version: 4n });
      await expect(api().close(id)).rejects.toMatchObject({ status: 409, code: 'account_closed' });
      await expect(api().setStatus(id, 'active', staff)).rejects.toMatchObject({
        status: 409,
        code: 'account_closed',
      });
      await expect(api().setStatus(randomUUID(), 'frozen', staff)).rejects.toMatchObject({ status: 404 });
      const states = await api().getStates([id, randomUUID()]);
      expect(states.map((s) => s.account_id)).toEqual([id]);
      // Every change that happened, and only those, went to the outbox for the audit trail.
      const events = await db.query(
        `SELECT payload->>'action' AS action FROM transactions.outbox
          WHERE name = 'staff_action.recorded' AND payload->>'resource_id' = $1 ORDER BY created_at, payload->>'occurred_at'`,
        [id],
      );
      expect(events.rows.map((r: { action: string }) => r.action)).toEqual([
        'overdraft_limit_changed',
        'account_frozen',
        'account_unfrozen',
      ]);
    });

    it('gives an empty statement for a quiet period, and 404 for an unknown account', async () => {
      const id = randomUUID();
      await api().openAccount({ account_id: id, owner_id: randomUUID(), currency: 'JPY' });
      await expect(api().statement(id, '2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z')).resolves.toEqual({
        account_id: id,
        currency: 'JPY',
        opening_balance: 0n,
        closing_balance: 0n,
        lines: [],
      });
      await expect(
        api().statement(randomUUID(), '2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z'),
      ).rejects.toMatchObject({ status: 404, code: 'not_found' });
    });
  });

  /** A deposit from the bank's cash, straight through post_entry (as a staff deposit posts it). */
  const fund = async (accountId: string, amount: number, currency: Currency = 'GBP') => {
    const { rows } = await db.query(
      `SELECT p.outcome FROM transactions.ledger_accounts c,
              transactions.post_entry(gen_random_uuid(), 'deposit', c.id, $1, $2, $3, NULL, NULL, NULL, NULL,
                                      NULL, NULL, NULL, false, NULL, NULL, NULL, NULL) p
        WHERE c.system_code = 'cash' AND c.currency = $3 AND c.shard = 0`,
      [accountId, amount, currency],
    );
    expect(rows).toEqual([{ outcome: 'posted' }]);
  };

  describe.each(['local', 'rabbitmq'])('transactions API pay bound %s', (binding) => {
    const api = () => ledger[binding];
    const staff = { actor: { user_id: randomUUID(), role: 'staff' as const }, reason: 'contract test' };

    const open = async (owner: string, currency: Currency = 'GBP') => {
      const id = randomUUID();
      await api().openAccount({ account_id: id, owner_id: owner, currency });
      return id;
    };
    const balances = async (...ids: string[]) => {
      const states = await api().getStates(ids);
      return ids.map((id) => states.find((s) => s.account_id === id)?.balance);
    };
    /** A payer with `funds` in a GBP account, a payee with an empty one, and a payment between them. */
    const setup = async (funds: number) => {
      const owner = randomUUID();
      const from = await open(owner);
      const to = await open(randomUUID());
      if (funds) await fund(from, funds);
      const payment: PaymentPosting = {
        key: `${randomUUID()}:2026-03-31`,
        kind: 'standing_order',
        owner_id: owner,
        from_account_id: from,
        to_account_id: to,
        amount: 1500,
        currency: 'GBP',
        reference: 'Rent',
        payee_name: 'Landlord',
      };
      return { owner, from, to, payment };
    };
    const keyRows = async (owner: string) =>
      (await db.query('SELECT key FROM transactions.idempotency_keys WHERE owner_id = $1', [owner])).rows;

    it('posts an internal payment, moves the money and refreshes the cached balances', async () => {
      const { owner, from, to, payment } = await setup(5000);
      const result = await api().pay(payment);
      expect(result).toEqual({
        outcome: 'posted',
        transaction_id: expect.any(String),
        created_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
        replayed: false,
      });
      if (result.outcome !== 'posted') throw new Error('not posted');
      expect(await balances(from, to)).toEqual([3500n, 1500n]);
      const { rows } = await db.query(
        `SELECT kind, debit_account_id, credit_account_id, amount::int, reference, merchant, category, initiated_by
           FROM transactions.entries WHERE id = $1`,
        [result.transaction_id],
      );
      expect(rows).toEqual([
        {
          kind: 'standing_order',
          debit_account_id: from,
          credit_account_id: to,
          amount: 1500,
          reference: 'Rent',
          merchant: null,
          category: null,
          initiated_by: owner,
        },
      ]);
      const event = await db.query(
        `SELECT payload FROM transactions.outbox WHERE name = 'transaction.created' AND payload->>'transaction_id' = $1`,
        [result.transaction_id],
      );
      expect(event.rows).toHaveLength(1);
      const prefix = t.env.REDIS_KEY_PREFIX;
      for (const [id, balance] of [
        [from, '3500'],
        [to, '1500'],
      ]) {
        const cached = JSON.parse((await redis.get(`${prefix}balance:${id}`)) ?? '{}') as {
          balance?: string;
        };
        expect(cached.balance).toBe(balance);
      }
    });

    it('replays the same key: one entry, the money moved once; another payment under it is an error', async () => {
      const { from, to, payment } = await setup(5000);
      const first = await api().pay(payment);
      const again = await api().pay({ ...payment, reference: 'Rent (renamed)' });
      expect(again).toEqual({ ...first, replayed: true });
      expect(await balances(from, to)).toEqual([3500n, 1500n]);
      const err = await api()
        .pay({ ...payment, amount: 1501 })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect(err).toMatchObject({ status: 422, code: 'idempotency_key_reused' });
      expect(await balances(from, to)).toEqual([3500n, 1500n]);
    });

    it('posts once when the same payment is asked for concurrently', async () => {
      const { from, to, payment } = await setup(5000);
      const results = await Promise.all(Array.from({ length: 8 }, () => api().pay(payment)));
      const posted = results.filter((r) => r.outcome === 'posted');
      expect(posted).toHaveLength(8);
      expect(new Set(posted.map((r) => r.transaction_id)).size).toBe(1);
      expect(posted.filter((r) => !r.replayed)).toHaveLength(1);
      expect(await balances(from, to)).toEqual([3500n, 1500n]);
    });

    it('refuses for insufficient funds without keeping the key: funded, the same key then posts', async () => {
      const { owner, from, to, payment } = await setup(1000);
      await expect(api().pay(payment)).resolves.toEqual({ outcome: 'refused', reason: 'insufficient_funds' });
      expect(await keyRows(owner)).toEqual([]);
      // Concurrent attempts on a short account: each is refused, none is kept.
      const refused = await Promise.all([api().pay(payment), api().pay(payment)]);
      expect(refused).toEqual([
        { outcome: 'refused', reason: 'insufficient_funds' },
        { outcome: 'refused', reason: 'insufficient_funds' },
      ]);
      expect(await balances(from, to)).toEqual([1000n, 0n]);
      await fund(from, 1000);
      await expect(api().pay(payment)).resolves.toMatchObject({ outcome: 'posted', replayed: false });
      expect(await balances(from, to)).toEqual([500n, 1500n]);
      expect(await keyRows(owner)).toEqual([{ key: `payment ${payment.key}` }]);
    });

    it('refuses a frozen payer, then pays once the freeze is lifted; a frozen payee is still paid', async () => {
      const { from, to, payment } = await setup(5000);
      await api().setStatus(from, 'frozen', staff);
      await expect(api().pay(payment)).resolves.toEqual({ outcome: 'refused', reason: 'account_frozen' });
      await api().setStatus(from, 'active', staff);
      await api().setStatus(to, 'frozen', staff);
      await expect(api().pay(payment)).resolves.toMatchObject({ outcome: 'posted', replayed: false });
      expect(await balances(from, to)).toEqual([3500n, 1500n]);
    });

    it('tells a closed payee account from a closed payer account', async () => {
      const payee = await setup(5000);
      await api().close(payee.to);
      await expect(api().pay(payee.payment)).resolves.toEqual({
        outcome: 'refused',
        reason: 'payee_account_closed',
      });
      const payer = await setup(0);
      await api().close(payer.from);
      await expect(api().pay(payer.payment)).resolves.toEqual({
        outcome: 'refused',
        reason: 'account_closed',
      });
      // Both closed: the payer's is the one reported.
      await api().close(payer.to);
      await expect(api().pay(payer.payment)).resolves.toEqual({
        outcome: 'refused',
        reason: 'account_closed',
      });
      expect(await balances(payee.from, payee.to)).toEqual([5000n, 0n]);
    });

    it("refuses another customer's account, an unknown payee account and another currency", async () => {
      const { from, payment } = await setup(5000);
      await expect(api().pay({ ...payment, owner_id: randomUUID() })).resolves.toEqual({
        outcome: 'refused',
        reason: 'account_not_found',
      });
      await expect(api().pay({ ...payment, from_account_id: randomUUID() })).resolves.toEqual({
        outcome: 'refused',
        reason: 'account_not_found',
      });
      await expect(api().pay({ ...payment, to_account_id: randomUUID() })).resolves.toEqual({
        outcome: 'refused',
        reason: 'payee_account_not_found',
      });
      // A payment may not pay into one of the bank's own accounts but outbound clearing.
      const { rows } = await db.query(
        `SELECT id FROM transactions.ledger_accounts WHERE system_code = 'cash' AND currency = 'GBP' LIMIT 1`,
      );
      await expect(api().pay({ ...payment, to_account_id: rows[0].id as string })).resolves.toEqual({
        outcome: 'refused',
        reason: 'payee_account_not_found',
      });
      const euros = await open(randomUUID(), 'EUR');
      await expect(api().pay({ ...payment, to_account_id: euros })).resolves.toEqual({
        outcome: 'refused',
        reason: 'currency_mismatch',
      });
      await expect(api().pay({ ...payment, to_account_id: null, currency: 'EUR' })).resolves.toEqual({
        outcome: 'refused',
        reason: 'currency_mismatch',
      });
      expect(await balances(from)).toEqual([5000n]);
      const err = await api()
        .pay({ ...payment, to_account_id: from })
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ status: 422, code: 'same_account' });
      await expect(api().pay({ ...payment, amount: 0 })).rejects.toMatchObject({
        status: 400,
        code: 'validation_failed',
      });
    });

    it('pays an external payee into outbound clearing, named as the merchant, and the ledger verifies', async () => {
      const { from, payment: internal } = await setup(5000);
      const payment = {
        ...internal,
        kind: 'scheduled_payment' as const,
        to_account_id: null,
        payee_name: 'Acme Energy',
      };
      const result = await api().pay(payment);
      if (result.outcome !== 'posted') throw new Error(`not posted: ${JSON.stringify(result)}`);
      // Another shard may be picked on a retry: the key still replays the first posting.
      for (let i = 0; i < 3; i++)
        await expect(api().pay(payment)).resolves.toEqual({ ...result, replayed: true });
      expect(await balances(from)).toEqual([3500n]);
      const { rows } = await db.query(
        `SELECT e.kind, e.merchant, e.reference, a.kind AS credit_kind, a.system_code, a.currency
           FROM transactions.entries e JOIN transactions.ledger_accounts a ON a.id = e.credit_account_id
          WHERE e.id = $1`,
        [result.transaction_id],
      );
      expect(rows).toEqual([
        {
          kind: 'scheduled_payment',
          merchant: 'Acme Energy',
          reference: 'Rent',
          credit_kind: 'system',
          system_code: 'outbound_clearing',
          currency: 'GBP',
        },
      ]);
      const event = await db.query(
        `SELECT payload FROM transactions.outbox WHERE name = 'transaction.created' AND payload->>'transaction_id' = $1`,
        [result.transaction_id],
      );
      expect(event.rows[0].payload).toMatchObject({
        kind: 'scheduled_payment',
        from_account_id: from,
        to_owner_id: null,
        merchant: 'Acme Energy',
        amount: 1500,
      });
      await expect(transactionsApp.get(LedgerVerifyService).verify()).resolves.toMatchObject({
        ok: true,
        mismatches: [],
      });
    });
  });

  describe.each(['local', 'rabbitmq'])('accounts API bound %s', (binding) => {
    it('resolves an account number to its account, and 404 for one that does not exist', async () => {
      const id = randomUUID();
      const number = `9${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
      await db.query(
        `INSERT INTO accounts.accounts (id, owner_id, sort_code, account_number, type, currency, name)
         VALUES ($1, $2, '990001', $3, 'current', 'GBP', 'x')`,
        [id, randomUUID(), number],
      );
      await expect(accounts[binding].resolveNumber(number)).resolves.toEqual({ account_id: id });
      const err = await accounts[binding].resolveNumber('00000000').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect(err).toMatchObject({ status: 404, code: 'not_found' });
    });
  });

  it("forgets Idempotency-Keys after IDEMPOTENCY_RETENTION_HOURS and keeps younger ones and payments'", async () => {
    const owner = randomUUID();
    await db.query(
      `INSERT INTO transactions.idempotency_keys (owner_id, key, request_hash, created_at)
       VALUES ($1, 'old', 'h', now() - interval '49 hours'), ($1, 'young', 'h', now() - interval '47 hours'),
              ($1, 'payment old', 'h', now() - interval '400 days')`,
      [owner],
    );
    const removed = await transactionsApp.get(IdempotencyRetention).prune();
    expect(removed['transactions.idempotency_keys']).toBeGreaterThanOrEqual(1);
    const left = await db.query(
      'SELECT key FROM transactions.idempotency_keys WHERE owner_id = $1 ORDER BY key',
      [owner],
    );
    // A payment's key is kept for good: the payments module may ask again however late (see pay).
    expect(left.rows).toEqual([{ key: 'payment old' }, { key: 'young' }]);
  });

  // Last: it corrupts this suite's ledger on purpose.
  it('makes ledger verify find corrupted amounts, currencies and running balances', async () => {
    const verifier = transactionsApp.get(LedgerVerifyService);
    const [x, y] = [randomUUID(), randomUUID()];
    for (const id of [x, y]) {
      await ledger.local.openAccount({ account_id: id, owner_id: randomUUID(), currency: 'GBP' });
    }
    const [cash] = (
      await db.query(
        `SELECT id FROM transactions.ledger_accounts WHERE system_code = 'cash' AND currency = 'GBP' LIMIT 1`,
      )
    ).rows;
    const post = async (debit: string, credit: string, amount: number) =>
      (
        await db.query(
          `SELECT * FROM transactions.post_entry(gen_random_uuid(), $4, $1, $2, $3, 'GBP', NULL, NULL, NULL, NULL,
                  NULL, NULL, NULL, false, NULL, NULL, NULL, NULL)`,
          [debit, credit, amount, debit === cash.id ? 'deposit' : 'transfer'],
        )
      ).rows[0];
    expect((await post(cash.id, x, 1000)).outcome).toBe('posted');
    const moved = await post(x, y, 400);
    expect(moved.outcome).toBe('posted');
    await expect(verifier.verify()).resolves.toMatchObject({ ok: true, mismatches: [] });

    // What an account holds must be what its active holds have left.
    await db.query(`UPDATE transactions.ledger_accounts SET held = held + 7 WHERE id = $1`, [y]);
    const heldReport = await verifier.verify();
    expect(heldReport).toMatchObject({
      ok: false,
      mismatches: [{ type: 'account_held', account_id: y, expected: '0', actual: '7' }],
    });
    await db.query(`UPDATE transactions.ledger_accounts SET held = 0 WHERE id = $1`, [y]);

    await db.query('ALTER TABLE transactions.postings DISABLE TRIGGER postings_append_only');
    // Both legs rewritten consistently (still summing to zero, balances adjusted to match): only the
    // comparison with the entry's own amount and currency can catch it.
    await db.query(
      `UPDATE transactions.postings SET amount = sign(amount) * 1, currency = 'EUR', balance_after = balance_after
        WHERE entry_id = $1`,
      [moved.entry_id],
    );
    await db.query('ALTER TABLE transactions.postings ENABLE TRIGGER postings_append_only');
    const report = await verifier.verify();
    expect(report.ok).toBe(false);
    const types = report.mismatches.map((m: { type: string }) => m.type);
    expect(types).toEqual(expect.arrayContaining(['entry_unbalanced', 'account_balance', 'running_balance']));
    expect(report.mismatches).toContainEqual(
      expect.objectContaining({ type: 'entry_unbalanced', entry_id: moved.entry_id }),
    );
  });
});
