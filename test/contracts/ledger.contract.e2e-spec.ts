/**
 * One contract suite, two bindings (DESIGN.md §3), for the contracts of accounts and transactions:
 * the ledger API as the monolith injects it and as the accounts app reaches it over RabbitMQ, and the
 * accounts API likewise from the transactions app. Same results, bigint amounts and typed errors
 * included. Also: expired Idempotency-Keys are pruned, unexpired ones kept.
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
  type TransactionsApi,
} from '@protobank/contracts';
import { AppError } from '@protobank/platform';
import { TransactionsModule } from '@protobank/transactions';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Client } from 'pg';
import { LedgerVerifyService } from '../../libs/transactions/src/admin/ledger-verify.service';
import { IdempotencyRetention } from '../../libs/transactions/src/ledger/idempotency-retention';
import { createContext } from '../support/contexts';
import { processes } from '../support/processes';
import { createTestEnv, type TestEnv } from '../support/test-env';

describe('ledger and accounts contracts', () => {
  let t: TestEnv;
  let db: Client;
  let transactionsApp: INestApplicationContext;
  let accountsApp: INestApplicationContext;
  const ledger: Record<string, TransactionsApi> = {};
  const accounts: Record<string, AccountsApi> = {};

  beforeAll(async () => {
    t = await createTestEnv('ledger_contract');
    await processes.runOnce('migrate', t.env, { logFile: join(t.logDir, 'migrate.log') });
    db = await t.db();
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

  it('forgets Idempotency-Keys after IDEMPOTENCY_RETENTION_HOURS and keeps younger ones', async () => {
    const owner = randomUUID();
    await db.query(
      `INSERT INTO transactions.idempotency_keys (owner_id, key, request_hash, created_at)
       VALUES ($1, 'old', 'h', now() - interval '49 hours'), ($1, 'young', 'h', now() - interval '47 hours')`,
      [owner],
    );
    expect(await transactionsApp.get(IdempotencyRetention).prune()).toBeGreaterThanOrEqual(1);
    const left = await db.query('SELECT key FROM transactions.idempotency_keys WHERE owner_id = $1', [owner]);
    expect(left.rows).toEqual([{ key: 'young' }]);
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
