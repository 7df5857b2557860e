/**
 * One contract suite, two bindings (DESIGN.md §3), for the contracts of accounts and transactions:
 * the ledger API as the monolith injects it and as the accounts app reaches it over RabbitMQ, and the
 * accounts API likewise from the transactions app. Same results, bigint amounts and typed errors
 * included; payments (`pay`) post once per key, and a refusal is decided anew on the next try; card
 * holds (authorise, clear, release, refund, expiry) decided under the account's row lock, also under
 * concurrency, and never spent twice. Also: expired Idempotency-Keys are pruned, unexpired ones and
 * payments' kept.
 */
import { depositFromCash } from '../support/ledger-fixtures';
import type { INestApplicationContext } from '@nestjs/common';
import { AccountsModule } from '@protobank/accounts';
import {
  ACCOUNTS_API,
  AccountsContract,
  TRANSACTIONS_API,
  TransactionsContract,
  UsersContract,
  type AccountsApi,
  type CardClearing,
  type CardHoldRequest,
  type Currency,
  type PaymentPosting,
  type TransactionCreatedEvent,
  type TransactionsApi,
} from '@protobank/contracts';
import { AppError, IdempotencyRetention, MetricsService } from '@protobank/platform';
import { TransactionsModule } from '@protobank/transactions';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Client } from 'pg';
import type Redis from 'ioredis';
import { LedgerVerifyService } from '../../libs/transactions/src/admin/ledger-verify.service';
import { createContext } from '../support/contexts';
import { processes } from '../support/processes';
import { createTestEnv, metricValue, type TestEnv } from '../support/test-env';

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
      calls: [AccountsContract, UsersContract],
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
      // The same limit again (a retry after a lost reply) changes nothing and is audited once.
      const changes = async () =>
        (
          await db.query(
            `SELECT count(*)::int AS n FROM transactions.outbox
              WHERE name = 'staff_action.recorded' AND payload->>'resource_id' = $1
                AND payload->>'action' = 'overdraft_limit_changed'`,
            [id],
          )
        ).rows[0].n as number;
      await expect(api().setOverdraftLimit(id, 2500n, staff)).resolves.toMatchObject({
        overdraft_limit: 2500n,
      });
      expect(await changes()).toBe(1);
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
  const fund = (accountId: string, amount: number, currency: Currency = 'GBP') =>
    depositFromCash(db, accountId, amount, currency);

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
      const payee = randomUUID();
      const from = await open(owner);
      const to = await open(payee);
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
      return { owner, payee, from, to, payment };
    };
    const keyRows = async (owner: string) =>
      (await db.query('SELECT key FROM transactions.idempotency_keys WHERE owner_id = $1', [owner])).rows;

    it('posts an internal payment, moves the money, writes transaction.created exactly as its contract type has it and refreshes the cached balances', async () => {
      const { owner, payee, from, to, payment } = await setup(5000);
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
      // The event post_entries builds in SQL is exactly a TransactionCreatedEvent: every field of the
      // contract's type, no other, each of its JSON type (the amount a JSON integer, not a string).
      const event = await db.query(
        `SELECT payload FROM transactions.outbox WHERE name = 'transaction.created' AND payload->>'transaction_id' = $1`,
        [result.transaction_id],
      );
      expect(event.rows).toHaveLength(1);
      const payload = (event.rows[0] as { payload: TransactionCreatedEvent }).payload;
      const expected: TransactionCreatedEvent = {
        event_id: payload.event_id,
        occurred_at: result.created_at,
        transaction_id: result.transaction_id,
        kind: 'standing_order',
        from_account_id: from,
        from_owner_id: owner,
        to_account_id: to,
        to_owner_id: payee,
        amount: 1500,
        currency: 'GBP',
        reference: 'Rent',
        merchant: null,
        category: null,
        reverses_id: null,
        created_at: result.created_at,
      };
      expect(payload).toStrictEqual(expected);
      expect(payload.event_id).toMatch(/^[0-9a-f-]{36}$/);
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

    it('voids a payment never posted: its key is spent, a late posting of it moves nothing; a posted one answers its entry', async () => {
      const { owner, from, to, payment } = await setup(5000);
      const voidIt = () => api().voidPayment({ key: payment.key, owner_id: owner });
      await expect(voidIt()).resolves.toEqual({ outcome: 'voided' });
      await expect(voidIt()).resolves.toEqual({ outcome: 'voided' });
      // A call of the payment still on its way (one its caller gave up on) finds the key spent.
      await expect(api().pay(payment)).resolves.toEqual({ outcome: 'voided' });
      expect(await balances(from, to)).toEqual([5000n, 0n]);
      expect(await keyRows(owner)).toEqual([{ key: `payment ${payment.key}` }]);

      const posted = await setup(5000);
      const result = await api().pay(posted.payment);
      if (result.outcome !== 'posted') throw new Error('not posted');
      await expect(api().voidPayment({ key: posted.payment.key, owner_id: posted.owner })).resolves.toEqual({
        outcome: 'posted',
        transaction_id: result.transaction_id,
        created_at: result.created_at,
      });
      // Another payer's key of the same name is theirs alone.
      await expect(api().voidPayment({ key: posted.payment.key, owner_id: randomUUID() })).resolves.toEqual({
        outcome: 'voided',
      });
      expect(await balances(posted.from, posted.to)).toEqual([3500n, 1500n]);
    });

    it('decides a void racing the posting of the same payment one way: posted and that entry, or voided and nothing', async () => {
      const races = await Promise.all(
        Array.from({ length: 12 }, async () => {
          const { owner, from, to, payment } = await setup(5000);
          const [paid, voided] = await Promise.all([
            api()
              .pay(payment)
              .catch((e: unknown) => e),
            api().voidPayment({ key: payment.key, owner_id: owner }),
          ]);
          return { paid, voided, balances: await balances(from, to) };
        }),
      );
      for (const { paid, voided, balances: after } of races) {
        if (voided.outcome === 'posted') {
          expect(paid).toMatchObject({ outcome: 'posted', transaction_id: voided.transaction_id });
          expect(after).toEqual([3500n, 1500n]);
        } else {
          expect(paid).toEqual({ outcome: 'voided' });
          expect(after).toEqual([5000n, 0n]);
        }
      }
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

  describe.each(['local', 'rabbitmq'])('transactions API card holds bound %s', (binding) => {
    const api = () => ledger[binding];
    const staff = { actor: { user_id: randomUUID(), role: 'staff' as const }, reason: 'contract test' };
    const inAWeek = () => new Date(Date.now() + 7 * 86400_000).toISOString();

    /** A card on a fresh GBP account holding `funds`, and an authorisation request for it. */
    const card = async (funds: number, currency: Currency = 'GBP') => {
      const owner = randomUUID();
      const account = randomUUID();
      await api().openAccount({ account_id: account, owner_id: owner, currency });
      if (funds) await fund(account, funds, currency);
      const cardId = randomUUID();
      const auth = (amount: bigint, more: Partial<CardHoldRequest> = {}): CardHoldRequest => ({
        hold_id: randomUUID(),
        network_transaction_id: `auth-${randomUUID()}`,
        card_id: cardId,
        account_id: account,
        owner_id: owner,
        amount,
        currency,
        merchant_name: 'Starbucks',
        category: 'eating_out',
        daily_limit: null,
        monthly_limit: null,
        expires_at: inAWeek(),
        ...more,
      });
      const clearing = (
        amount: bigint,
        holdId: string | null,
        more: Partial<CardClearing> = {},
      ): CardClearing => ({
        network_transaction_id: `clear-${randomUUID()}`,
        hold_id: holdId,
        card_id: cardId,
        account_id: account,
        owner_id: owner,
        amount,
        currency,
        merchant_name: 'Starbucks',
        category: 'eating_out',
        ...more,
      });
      return { owner, account, cardId, auth, clearing };
    };
    const state = async (id: string) => {
      const [s] = await api().getStates([id]);
      return { balance: s.balance, held: s.held, available: s.available_balance };
    };
    const hold = async (id: string) =>
      (
        await db.query(
          `SELECT status, amount::text, remaining::text, decline_reason, transaction_id FROM transactions.holds WHERE id = $1`,
          [id],
        )
      ).rows[0] as
        | {
            status: string;
            amount: string;
            remaining: string;
            decline_reason: string | null;
            transaction_id: string | null;
          }
        | undefined;
    const approvedId = (r: Awaited<ReturnType<TransactionsApi['authoriseCard']>>) => {
      if (!r.approved) throw new Error(`declined: ${r.decline_reason}`);
      return r.hold_id;
    };
    const verify = () => transactionsApp.get(LedgerVerifyService).verify();

    it('approves and holds: available drops, balance does not, the cache shows it; a retry replays', async () => {
      const c = await card(5000);
      const request = c.auth(2550n);
      await expect(api().authoriseCard(request)).resolves.toEqual({
        approved: true,
        hold_id: request.hold_id,
        replayed: false,
      });
      expect(await state(c.account)).toEqual({ balance: 5000n, held: 2550n, available: 2450n });
      const cached = JSON.parse(
        (await redis.get(`${t.env.REDIS_KEY_PREFIX}balance:${c.account}`)) ?? '{}',
      ) as Record<string, string>;
      expect(cached).toMatchObject({ balance: '5000', held: '2550', available_balance: '2450' });
      // The network retries (another hold id from a cards instance that lost the first answer): the first
      // decision, with its hold, and nothing held twice.
      await expect(api().authoriseCard({ ...request, hold_id: randomUUID() })).resolves.toEqual({
        approved: true,
        hold_id: request.hold_id,
        replayed: true,
      });
      expect(await state(c.account)).toEqual({ balance: 5000n, held: 2550n, available: 2450n });
      expect(await hold(request.hold_id)).toMatchObject({
        status: 'active',
        amount: '2550',
        remaining: '2550',
      });
      // What the ledger holds, as the cards module asks after a replay.
      await expect(api().getHold(request.hold_id)).resolves.toEqual({
        hold_id: request.hold_id,
        network_transaction_id: request.network_transaction_id,
        card_id: c.cardId,
        account_id: c.account,
        owner_id: c.owner,
        amount: 2550n,
        remaining: 2550n,
        currency: 'GBP',
        status: 'active',
        transaction_id: null,
        cleared_amount: null,
      });
      await expect(api().getHold(randomUUID())).resolves.toBeNull();
      await expect(api().getHold('not-a-uuid')).resolves.toBeNull();
      await expect(verify()).resolves.toMatchObject({ ok: true });
    });

    it('declines for each reason the ledger decides, and replays each decline', async () => {
      const c = await card(5000);
      const decline = async (request: CardHoldRequest, reason: string) => {
        await expect(api().authoriseCard(request)).resolves.toEqual({
          approved: false,
          decline_reason: reason,
          replayed: false,
        });
        return request;
      };
      const poor = await decline(c.auth(5001n), 'insufficient_funds');
      await decline(c.auth(100n, { owner_id: randomUUID() }), 'card_cancelled');
      await decline(c.auth(100n, { account_id: randomUUID() }), 'card_cancelled');
      await decline(c.auth(100n, { currency: 'EUR' }), 'currency_not_supported');
      await decline(c.auth(100n, { daily_limit: 99n }), 'limit_exceeded');
      await decline(c.auth(100n, { monthly_limit: 99n }), 'limit_exceeded');
      await api().setStatus(c.account, 'frozen', staff);
      const frozen = await decline(c.auth(100n), 'card_blocked');
      await api().setStatus(c.account, 'active', staff);
      // The account can pay now: the same network transactions still get their first answer.
      await expect(api().authoriseCard(frozen)).resolves.toEqual({
        approved: false,
        decline_reason: 'card_blocked',
        replayed: true,
      });
      await fund(c.account, 1);
      await expect(api().authoriseCard(poor)).resolves.toMatchObject({ approved: false, replayed: true });
      expect(await hold(poor.hold_id)).toMatchObject({
        status: 'declined',
        remaining: '0',
        decline_reason: 'insufficient_funds',
      });
      expect(await state(c.account)).toEqual({ balance: 5001n, held: 0n, available: 5001n });

      const closed = await card(0);
      await api().close(closed.account);
      await decline(closed.auth(1n), 'card_cancelled');
      // A bad request is the caller's bug, not a decline.
      await expect(api().authoriseCard(c.auth(0n))).rejects.toMatchObject({
        status: 400,
        code: 'validation_failed',
      });
      await expect(api().authoriseCard({ ...c.auth(1n), card_id: 'x' })).rejects.toMatchObject({
        status: 400,
      });
    });

    it('counts the overdraft limit, and the limits against the card holds active or cleared, not declined or reversed', async () => {
      const c = await card(1000);
      await api().setOverdraftLimit(c.account, 500n, staff);
      const limits = { daily_limit: 3000n, monthly_limit: 4000n };
      approvedId(await api().authoriseCard(c.auth(1500n, limits)));
      await expect(api().authoriseCard(c.auth(1n, limits))).resolves.toMatchObject({
        decline_reason: 'insufficient_funds',
      });
      await fund(c.account, 10000);
      const reversed = approvedId(await api().authoriseCard(c.auth(1000n, limits)));
      await api().releaseHold({ hold_id: reversed, amount: null, reason: 'reversed' });
      const cleared = approvedId(await api().authoriseCard(c.auth(1000n, limits)));
      await api().clearCard(c.clearing(1200n, cleared));
      // Today: 1500 active + 1200 cleared (what the clearing took, above its hold of 1000; the reversed
      // 1000 and the declined 1 do not count).
      await expect(api().authoriseCard(c.auth(301n, limits))).resolves.toMatchObject({
        decline_reason: 'limit_exceeded',
      });
      approvedId(await api().authoriseCard(c.auth(300n, limits)));
      await expect(api().authoriseCard(c.auth(1n, { ...limits, daily_limit: null }))).resolves.toMatchObject({
        approved: true,
      });
      await expect(
        api().authoriseCard(c.auth(1000n, { ...limits, daily_limit: null })),
      ).resolves.toMatchObject({
        decline_reason: 'limit_exceeded',
      });
      // Another card on the same account has its own limits.
      const other = c.auth(3000n, { ...limits, card_id: randomUUID() });
      await expect(api().authoriseCard(other)).resolves.toMatchObject({ approved: true });
    });

    it('counts what the payments took against the limits: a partly reversed hold what it still holds, a clearing below its hold what it cleared', async () => {
      const c = await card(100000);
      const limits = { daily_limit: 10000n, monthly_limit: null };
      // A hotel's pre-authorisation of 9900, of which 5900 is given back: 4000 still held.
      const hotel = approvedId(await api().authoriseCard(c.auth(9900n, limits)));
      await api().releaseHold({
        hold_id: hotel,
        amount: 5900n,
        reason: 'reversed',
        network_transaction_id: randomUUID(),
      });
      // A fuel pump's 3000, cleared at 2000.
      const pump = approvedId(await api().authoriseCard(c.auth(3000n, limits)));
      await api().clearCard(c.clearing(2000n, pump));
      // 4000 + 2000 taken: 4000 more fits, 4001 does not.
      await expect(api().authoriseCard(c.auth(4001n, limits))).resolves.toMatchObject({
        decline_reason: 'limit_exceeded',
      });
      approvedId(await api().authoriseCard(c.auth(4000n, limits)));
    });

    it('never approves beyond the funds or the limits when authorisations race on one account', async () => {
      const poor = await card(10000);
      const results = await Promise.all(
        Array.from({ length: 24 }, () => api().authoriseCard(poor.auth(1000n))),
      );
      expect(results.filter((r) => r.approved)).toHaveLength(10);
      expect(results.filter((r) => !r.approved && r.decline_reason === 'insufficient_funds')).toHaveLength(
        14,
      );
      expect(await state(poor.account)).toEqual({ balance: 10000n, held: 10000n, available: 0n });

      const rich = await card(1_000_000);
      const limited = await Promise.all(
        Array.from({ length: 24 }, (_, i) =>
          api().authoriseCard(rich.auth(1000n, i % 2 ? { daily_limit: 5000n } : { monthly_limit: 5000n })),
        ),
      );
      expect(limited.filter((r) => r.approved)).toHaveLength(5);
      expect(await state(rich.account)).toMatchObject({ held: 5000n });

      // The same network transaction asked many times at once: one hold.
      const request = poor.auth(1n, { account_id: rich.account, owner_id: rich.owner });
      const same = await Promise.all(Array.from({ length: 8 }, () => api().authoriseCard(request)));
      expect(new Set(same.map(approvedId))).toEqual(new Set([request.hold_id]));
      expect(same.filter((r) => !r.replayed)).toHaveLength(1);
      expect(await state(rich.account)).toMatchObject({ held: 5001n });
      await expect(verify()).resolves.toMatchObject({ ok: true });
    });

    it('runs card calls that arrive together as batches, each decided as it would be alone', async () => {
      // Per account: a clearing below its hold, a full reversal of a second hold, a refund and a new
      // authorisation, all at once. In any order they leave the same state, so every outcome is exact.
      const cards = await Promise.all(Array.from({ length: 10 }, () => card(10000)));
      const prepared = await Promise.all(
        cards.map(async (c) => ({
          c,
          cleared: approvedId(await api().authoriseCard(c.auth(3000n))),
          reversed: approvedId(await api().authoriseCard(c.auth(1000n))),
        })),
      );
      const batches = async () => {
        const text = await transactionsApp.get(MetricsService).registry.metrics();
        return {
          batches: metricValue(text, 'ledger_card_batches_total', { result: 'committed' }),
          items: metricValue(text, 'ledger_card_batch_items_total', {}),
        };
      };
      const before = await batches();
      const answers = await Promise.all(
        prepared.map(({ c, cleared, reversed }) =>
          Promise.all([
            api().clearCard(c.clearing(2000n, cleared)),
            api().releaseHold({ hold_id: reversed, amount: null, reason: 'reversed' }),
            api().refundCard({
              network_transaction_id: `refund-${randomUUID()}`,
              card_id: c.cardId,
              account_id: c.account,
              owner_id: c.owner,
              amount: 500n,
              currency: 'GBP',
              merchant_name: 'Amazon',
              category: 'shopping',
            }),
            api().authoriseCard(c.auth(4000n)),
          ]),
        ),
      );
      const after = await batches();
      for (const [i, [clearing, release, refund, authorisation]] of answers.entries()) {
        expect(clearing).toMatchObject({
          replayed: false,
          forced: false,
          transaction_id: expect.any(String),
        });
        expect(release).toEqual({ status: 'reversed', remaining: 0n, released: 1000n });
        expect(refund).toMatchObject({ replayed: false, transaction_id: expect.any(String) });
        expect(authorisation).toMatchObject({ approved: true, replayed: false });
        // 10000 - 2000 + 500; the new hold of 4000 is all that is held.
        expect(await state(cards[i].account)).toEqual({ balance: 8500n, held: 4000n, available: 4500n });
      }
      // Each posting's event carries its headers as an object, as a transfer's does.
      const posted = answers.flatMap(([clearing, , refund]) =>
        [clearing, refund].map((a) => ('transaction_id' in a ? a.transaction_id : a.refused)),
      );
      const { rows: headers } = await db.query(
        `SELECT jsonb_typeof(headers) AS type, count(*)::int AS n FROM transactions.outbox
          WHERE name = 'transaction.created' AND payload ->> 'transaction_id' = ANY ($1) GROUP BY 1`,
        [posted],
      );
      expect(headers).toEqual([{ type: 'object', n: 20 }]);
      expect(after.items - before.items).toBe(40);
      // Bound in-process, the 40 calls are asked in one tick: two batch slots, then the rest queue.
      if (binding === 'local') expect(after.batches - before.batches).toBeLessThan(40);
      await expect(verify()).resolves.toMatchObject({ ok: true });
    });

    it('lets no transfer or payment spend held money', async () => {
      const c = await card(5000);
      const id = approvedId(await api().authoriseCard(c.auth(4000n)));
      const payment: PaymentPosting = {
        key: `${randomUUID()}:2026-03-31`,
        kind: 'standing_order',
        owner_id: c.owner,
        from_account_id: c.account,
        to_account_id: null,
        amount: 1500,
        currency: 'GBP',
        reference: 'Rent',
        payee_name: 'Landlord',
      };
      await expect(api().pay(payment)).resolves.toEqual({ outcome: 'refused', reason: 'insufficient_funds' });
      const to = randomUUID();
      await api().openAccount({ account_id: to, owner_id: randomUUID(), currency: 'GBP' });
      const transfer = await db.query(
        `SELECT outcome FROM transactions.post_entry(gen_random_uuid(), 'transfer', $1, $2, 1001, 'GBP', NULL, NULL,
                NULL, NULL, $3, $3, NULL, false, NULL, NULL, NULL, NULL)`,
        [c.account, to, c.owner],
      );
      expect(transfer.rows).toEqual([{ outcome: 'insufficient_funds' }]);
      await expect(api().pay({ ...payment, amount: 1000 })).resolves.toMatchObject({ outcome: 'posted' });
      expect(await state(c.account)).toEqual({ balance: 4000n, held: 4000n, available: 0n });

      await api().clearCard(c.clearing(4000n, id));
      expect(await state(c.account)).toEqual({ balance: 0n, held: 0n, available: 0n });
    });

    it('refuses to close an account while a hold is active (409 holds_pending)', async () => {
      const c = await card(0);
      await api().setOverdraftLimit(c.account, 1000n, staff);
      const id = approvedId(await api().authoriseCard(c.auth(300n)));
      await expect(api().close(c.account)).rejects.toMatchObject({ status: 409, code: 'holds_pending' });
      await api().releaseHold({ hold_id: id, amount: null, reason: 'reversed' });
      await expect(api().close(c.account)).resolves.toMatchObject({ status: 'closed', held: 0n });
    });

    it('refuses to close an account whose expired hold may still be cleared late, until CARD_LATE_CLEARING_DAYS after it expired', async () => {
      // A hotel presents weeks later: a clearing that then found the account closed was refused for good,
      // with the merchant paid by the scheme and nothing owed in the ledger.
      const c = await card(0);
      await api().setOverdraftLimit(c.account, 1000n, staff);
      const id = approvedId(await api().authoriseCard(c.auth(300n)));
      await api().releaseHold({ hold_id: id, amount: null, reason: 'expired' });
      const refused = api().close(c.account);
      await expect(refused).rejects.toMatchObject({ status: 409, code: 'holds_pending' });
      // Until CARD_LATE_CLEARING_DAYS (30) after the hold expired, as a London date.
      const [{ until }] = (
        await db.query(
          `SELECT ((expires_at + interval '30 days') AT TIME ZONE 'Europe/London')::date::text AS until
             FROM transactions.holds WHERE id = $1`,
          [id],
        )
      ).rows as { until: string }[];
      await expect(refused).rejects.toMatchObject({ message: expect.stringContaining(`until ${until}`) });
      // Its clearing, late, still posts (forced): the money owed is in the ledger. Paid, the account closes.
      await expect(api().clearCard(c.clearing(300n, id))).resolves.toMatchObject({ forced: true });
      await fund(c.account, 300);
      await expect(api().close(c.account)).resolves.toMatchObject({ status: 'closed', balance: 0n });

      // Past the window, no clearing is waited for.
      const d = await card(0);
      await api().setOverdraftLimit(d.account, 1000n, staff);
      const old = approvedId(await api().authoriseCard(d.auth(300n)));
      await api().releaseHold({ hold_id: old, amount: null, reason: 'expired' });
      await expect(api().close(d.account)).rejects.toMatchObject({ code: 'holds_pending' });
      await db.query(`UPDATE transactions.holds SET expires_at = now() - interval '31 days' WHERE id = $1`, [
        old,
      ]);
      await expect(api().close(d.account)).resolves.toMatchObject({ status: 'closed' });
    });

    it('clears above the hold: posts the final amount to card settlement with the merchant, releases the hold', async () => {
      const c = await card(5000);
      const id = approvedId(await api().authoriseCard(c.auth(2000n)));
      const clearing = c.clearing(2550n, id);
      const result = await api().clearCard(clearing);
      expect(result).toEqual({
        transaction_id: expect.any(String),
        created_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
        forced: false,
        replayed: false,
      });
      if (!('transaction_id' in result)) throw new Error('refused');
      expect(await state(c.account)).toEqual({ balance: 2450n, held: 0n, available: 2450n });
      expect(await hold(id)).toMatchObject({
        status: 'cleared',
        remaining: '0',
        transaction_id: result.transaction_id,
      });
      // As the cards module's reconcile pass reads it: the clearing's entry and what it posted.
      await expect(api().getHold(id)).resolves.toMatchObject({
        status: 'cleared',
        transaction_id: result.transaction_id,
        cleared_amount: 2550n,
      });
      const { rows } = await db.query(
        `SELECT e.kind, e.amount::int, e.merchant, e.category, e.initiated_by, a.system_code
           FROM transactions.entries e JOIN transactions.ledger_accounts a ON a.id = e.credit_account_id
          WHERE e.id = $1`,
        [result.transaction_id],
      );
      expect(rows).toEqual([
        {
          kind: 'card',
          amount: 2550,
          merchant: 'Starbucks',
          category: 'eating_out',
          initiated_by: c.owner,
          system_code: 'card_settlement',
        },
      ]);
      const event = await db.query(
        `SELECT payload FROM transactions.outbox WHERE name = 'transaction.created' AND payload->>'transaction_id' = $1`,
        [result.transaction_id],
      );
      expect(event.rows[0].payload).toMatchObject({
        kind: 'card',
        from_account_id: c.account,
        from_owner_id: c.owner,
        to_owner_id: null,
        amount: 2550,
        currency: 'GBP',
        merchant: 'Starbucks',
        category: 'eating_out',
      });
      // Retries replay (another shard may be picked: still one entry); a different body under the id is
      // a caller's bug; a second clearing of the hold is refused.
      for (let i = 0; i < 3; i++) {
        await expect(api().clearCard({ ...clearing, merchant_name: 'STARBUCKS 123' })).resolves.toEqual({
          ...result,
          replayed: true,
        });
      }
      await expect(api().clearCard({ ...clearing, amount: 2551n })).rejects.toMatchObject({
        status: 422,
        code: 'idempotency_key_reused',
      });
      await expect(api().clearCard(c.clearing(100n, id))).resolves.toEqual({ refused: 'hold_not_found' });
      expect(await state(c.account)).toEqual({ balance: 2450n, held: 0n, available: 2450n });
      await expect(verify()).resolves.toMatchObject({ ok: true });
    });

    it('clears below the hold, releasing all of it; the same clearing raced posts once', async () => {
      const c = await card(5000);
      const id = approvedId(await api().authoriseCard(c.auth(3000n)));
      const clearing = c.clearing(1200n, id);
      const results = await Promise.all(Array.from({ length: 6 }, () => api().clearCard(clearing)));
      const ids = results.map((r) => ('transaction_id' in r ? r.transaction_id : r.refused));
      expect(new Set(ids).size).toBe(1);
      expect(results.filter((r) => 'replayed' in r && !r.replayed)).toHaveLength(1);
      expect(await state(c.account)).toEqual({ balance: 3800n, held: 0n, available: 3800n });
    });

    it('refuses a clearing of an unknown hold, or one of another card or account, and checks the account', async () => {
      const c = await card(5000);
      const id = approvedId(await api().authoriseCard(c.auth(1000n)));
      await expect(api().clearCard(c.clearing(100n, randomUUID()))).resolves.toEqual({
        refused: 'hold_not_found',
      });
      await expect(api().clearCard(c.clearing(100n, id, { card_id: randomUUID() }))).resolves.toEqual({
        refused: 'hold_not_found',
      });
      const other = await card(0);
      await expect(api().clearCard(other.clearing(100n, id))).resolves.toEqual({ refused: 'hold_not_found' });
      await expect(api().clearCard(c.clearing(100n, null, { owner_id: randomUUID() }))).resolves.toEqual({
        refused: 'account_not_found',
      });
      await expect(api().clearCard(c.clearing(100n, null, { currency: 'EUR' }))).resolves.toEqual({
        refused: 'currency_mismatch',
      });
      await api().close(other.account);
      const closed = other.clearing(100n, null);
      await expect(api().clearCard(closed)).resolves.toEqual({ refused: 'account_closed' });
      // A refusal is not kept: the same id is decided anew (still refused here) and holds no key.
      await expect(api().clearCard(closed)).resolves.toEqual({ refused: 'account_closed' });
      const keys = await db.query(`SELECT 1 FROM transactions.idempotency_keys WHERE key = $1`, [
        `card-clearing ${closed.network_transaction_id}`,
      ]);
      expect(keys.rows).toEqual([]);
      expect(await state(c.account)).toEqual({ balance: 5000n, held: 1000n, available: 4000n });
    });

    it('posts a forced clearing (no hold) whatever the funds and on a frozen account: it may overdraw', async () => {
      const c = await card(1000);
      const forced = await api().clearCard(c.clearing(1500n, null));
      expect(forced).toMatchObject({ forced: true, replayed: false });
      expect(await state(c.account)).toEqual({ balance: -500n, held: 0n, available: 0n });
      await expect(api().clearCard(c.clearing(1500n, null))).resolves.toMatchObject({ forced: true });
      await api().setStatus(c.account, 'frozen', staff);
      await expect(api().clearCard(c.clearing(100n, null))).resolves.toMatchObject({ forced: true });
      expect(await state(c.account)).toEqual({ balance: -2100n, held: 0n, available: 0n });
      // A hold's clearing on a frozen account posts too, and a replay says it was not forced.
      await api().setStatus(c.account, 'active', staff);
      await fund(c.account, 5000);
      const id = approvedId(await api().authoriseCard(c.auth(1000n)));
      await api().setStatus(c.account, 'frozen', staff);
      const clearing = c.clearing(1000n, id);
      await expect(api().clearCard(clearing)).resolves.toMatchObject({ forced: false, replayed: false });
      await expect(api().clearCard(clearing)).resolves.toMatchObject({ forced: false, replayed: true });
      expect(await state(c.account)).toEqual({ balance: 1900n, held: 0n, available: 0n });
      await expect(verify()).resolves.toMatchObject({ ok: true });
    });

    it('releases part of a hold, then the rest; a hold no longer active is left alone', async () => {
      const c = await card(5000);
      const id = approvedId(await api().authoriseCard(c.auth(3000n)));
      await expect(api().releaseHold({ hold_id: id, amount: 1000n, reason: 'reversed' })).resolves.toEqual({
        status: 'active',
        remaining: 2000n,
        released: 1000n,
      });
      expect(await state(c.account)).toEqual({ balance: 5000n, held: 2000n, available: 3000n });
      await expect(api().releaseHold({ hold_id: id, amount: 5000n, reason: 'reversed' })).resolves.toEqual({
        status: 'reversed',
        remaining: 0n,
        released: 2000n,
      });
      await expect(api().releaseHold({ hold_id: id, amount: null, reason: 'reversed' })).resolves.toEqual({
        status: 'reversed',
        remaining: 0n,
        released: 0n,
      });
      expect(await state(c.account)).toEqual({ balance: 5000n, held: 0n, available: 5000n });
      // A clearing after the reversal still posts (the merchant was paid), as forced: nothing to release.
      await expect(api().clearCard(c.clearing(700n, id))).resolves.toMatchObject({ forced: true });
      expect(await state(c.account)).toEqual({ balance: 4300n, held: 0n, available: 4300n });
      await expect(
        api().releaseHold({ hold_id: randomUUID(), amount: null, reason: 'reversed' }),
      ).rejects.toMatchObject({
        status: 404,
      });
      // Reversals racing a clearing of the same hold: the money is released once.
      const raced = approvedId(await api().authoriseCard(c.auth(1000n)));
      const [cleared] = await Promise.all([
        api().clearCard(c.clearing(1000n, raced)),
        api().releaseHold({ hold_id: raced, amount: 400n, reason: 'reversed' }),
        api().releaseHold({ hold_id: raced, amount: 400n, reason: 'reversed' }),
      ]);
      expect(cleared).toMatchObject({ replayed: false });
      expect(await state(c.account)).toEqual({ balance: 3300n, held: 0n, available: 3300n });
      await expect(verify()).resolves.toMatchObject({ ok: true });
    });

    it('releases once per network id: copies at once and repeats get the first outcome, another hold or amount 422', async () => {
      const c = await card(5000);
      const id = approvedId(await api().authoriseCard(c.auth(3000n)));
      const once = {
        hold_id: id,
        amount: 500n,
        reason: 'reversed' as const,
        network_transaction_id: `rev-${randomUUID()}`,
      };
      const copies = await Promise.all(Array.from({ length: 5 }, () => api().releaseHold(once)));
      expect(copies).toEqual(copies.map(() => ({ status: 'active', remaining: 2500n, released: 500n })));
      // Later, after more was released without an id: still the first outcome, nothing more given back.
      await api().releaseHold({ hold_id: id, amount: 1000n, reason: 'reversed' });
      await expect(api().releaseHold(once)).resolves.toEqual({
        status: 'active',
        remaining: 2500n,
        released: 500n,
      });
      expect(await state(c.account)).toEqual({ balance: 5000n, held: 1500n, available: 3500n });
      const other = approvedId(await api().authoriseCard(c.auth(100n)));
      for (const reused of [
        { ...once, amount: 400n },
        { ...once, hold_id: other },
      ]) {
        await expect(api().releaseHold(reused)).rejects.toMatchObject({
          status: 422,
          code: 'idempotency_key_reused',
        });
      }
      expect(await state(c.account)).toEqual({ balance: 5000n, held: 1600n, available: 3400n });
      await expect(verify()).resolves.toMatchObject({ ok: true });
    });

    it('lists expired holds oldest first, and releases them as expired', async () => {
      const c = await card(5000);
      const past = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();
      const older = approvedId(await api().authoriseCard(c.auth(100n, { expires_at: past(10) })));
      const newer = approvedId(await api().authoriseCard(c.auth(200n, { expires_at: past(5) })));
      const live = approvedId(await api().authoriseCard(c.auth(300n)));
      const now = new Date().toISOString();
      const mine = async () =>
        (await api().expiredHolds(now, 1000)).filter((h) => [older, newer, live].includes(h.hold_id));
      expect(await mine()).toEqual([
        { hold_id: older, card_id: c.cardId },
        { hold_id: newer, card_id: c.cardId },
      ]);
      for (const id of [older, newer]) {
        await expect(
          api().releaseHold({ hold_id: id, amount: null, reason: 'expired' }),
        ).resolves.toMatchObject({
          status: 'expired',
        });
      }
      expect(await mine()).toEqual([]);
      expect(await state(c.account)).toEqual({ balance: 5000n, held: 300n, available: 4700n });
      await expect(api().expiredHolds(now, 0)).rejects.toMatchObject({ status: 400 });
    });

    it('refunds to the account from card settlement, once per network id, frozen or not, never to a closed one', async () => {
      const c = await card(0);
      const refund = {
        network_transaction_id: `refund-${randomUUID()}`,
        card_id: c.cardId,
        account_id: c.account,
        owner_id: c.owner,
        amount: 1299n,
        currency: 'GBP' as const,
        merchant_name: 'Amazon',
        category: 'shopping',
      };
      await api().setStatus(c.account, 'frozen', staff);
      const result = await api().refundCard(refund);
      expect(result).toEqual({
        transaction_id: expect.any(String),
        created_at: expect.any(String),
        replayed: false,
      });
      await expect(api().refundCard(refund)).resolves.toEqual({ ...result, replayed: true });
      await expect(api().refundCard({ ...refund, amount: 1n })).rejects.toMatchObject({
        code: 'idempotency_key_reused',
      });
      expect(await state(c.account)).toEqual({ balance: 1299n, held: 0n, available: 0n });
      if (!('transaction_id' in result)) throw new Error('refused');
      const { rows } = await db.query(
        `SELECT e.kind, e.merchant, a.system_code FROM transactions.entries e
           JOIN transactions.ledger_accounts a ON a.id = e.debit_account_id WHERE e.id = $1`,
        [result.transaction_id],
      );
      expect(rows).toEqual([{ kind: 'card', merchant: 'Amazon', system_code: 'card_settlement' }]);
      await expect(
        api().refundCard({ ...refund, network_transaction_id: randomUUID(), owner_id: randomUUID() }),
      ).resolves.toEqual({
        refused: 'account_not_found',
      });
      const closed = await card(0);
      await api().close(closed.account);
      await expect(
        api().refundCard({
          ...refund,
          network_transaction_id: randomUUID(),
          account_id: closed.account,
          owner_id: closed.owner,
        }),
      ).resolves.toEqual({ refused: 'account_closed' });
      await expect(verify()).resolves.toMatchObject({ ok: true });
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

  it("forgets Idempotency-Keys after IDEMPOTENCY_RETENTION_HOURS and keeps younger ones, payments' and cards'", async () => {
    const owner = randomUUID();
    await db.query(
      `INSERT INTO transactions.idempotency_keys (owner_id, key, request_hash, created_at)
       VALUES ($1, 'old', 'h', now() - interval '49 hours'), ($1, 'young', 'h', now() - interval '47 hours'),
              ($1, 'payment old', 'h', now() - interval '400 days'),
              ($1, 'card-clearing old', 'h', now() - interval '400 days'),
              ($1, 'card-refund old', 'h', now() - interval '400 days')`,
      [owner],
    );
    const removed = await transactionsApp.get(IdempotencyRetention).prune();
    expect(removed['transactions.idempotency_keys']).toBeGreaterThanOrEqual(1);
    const left = await db.query(
      'SELECT key FROM transactions.idempotency_keys WHERE owner_id = $1 ORDER BY key',
      [owner],
    );
    // A payment's key is kept for good: the payments module may ask again however late (see pay); so
    // are the card network's clearings and refunds.
    expect(left.rows).toEqual([
      { key: 'card-clearing old' },
      { key: 'card-refund old' },
      { key: 'payment old' },
      { key: 'young' },
    ]);
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
    // Postings rewritten behind the trigger, before the last clean run's checkpoint: only a full run
    // reads them again (an incremental one starts after the checkpoint; ledger-checkpoints.e2e-spec).
    const report = await verifier.verify(undefined, 'full');
    expect(report.ok).toBe(false);
    const types = report.mismatches.map((m: { type: string }) => m.type);
    expect(types).toEqual(expect.arrayContaining(['entry_unbalanced', 'account_balance', 'running_balance']));
    expect(report.mismatches).toContainEqual(
      expect.objectContaining({ type: 'entry_unbalanced', entry_id: moved.entry_id }),
    );
  });
});
