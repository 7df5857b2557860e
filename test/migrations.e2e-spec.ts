/**
 * Migrations own the schema: after all of them run, the entities describe exactly that schema (so
 * `migration:generate` has nothing to add), and every migration's `down` really undoes its `up`.
 */
import { dataSourceOptions, loadConfig } from '@protobank/platform';
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { MIGRATIONS } from '@protobank/migrations';
import type { UserEmailVerifiedEvent } from '@protobank/contracts';
import { DataSource } from 'typeorm';
import { createTestEnv, type TestEnv } from './support/test-env';
import { ensureDatabase } from '@protobank/platform';

// Every *.entity.ts under libs/, found on disk so a new entity cannot be forgotten here.
const LIBS = join(__dirname, '../libs');
const ENTITIES = readdirSync(LIBS, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.entity.ts'))
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  .flatMap((f) => Object.values(require(join(LIBS, f)) as Record<string, unknown>))
  .filter((v): v is new () => unknown => typeof v === 'function');

describe('migrations', () => {
  let t: TestEnv;
  let ds: DataSource;

  beforeAll(async () => {
    t = await createTestEnv('migrations');
    await ensureDatabase(t.databaseUrl);
    ds = new DataSource({ ...dataSourceOptions(loadConfig(t.env)), entities: ENTITIES });
    await ds.initialize();
  });
  afterAll(async () => {
    await ds?.destroy();
    await t?.cleanup();
  });

  it('creates a missing database only when allowed, and otherwise refuses, naming it (production)', async () => {
    const url = new URL(t.databaseUrl);
    url.pathname = `/${url.pathname.slice(1)}_typo`;
    const name = url.pathname.slice(1);
    const admin = new DataSource({ type: 'postgres', url: t.databaseUrl });
    await admin.initialize();
    const present = async () =>
      ((await admin.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [name])) as unknown[]).length;
    try {
      await expect(ensureDatabase(url.toString(), { create: false })).rejects.toThrow(
        `database "${name}" does not exist`,
      );
      expect(await present()).toBe(0);
      await expect(ensureDatabase(url.toString())).resolves.toBe(true);
      await expect(ensureDatabase(url.toString(), { create: false })).resolves.toBe(false);
      expect(await present()).toBe(1);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.destroy();
    }
  });

  /** The name of the latest migration applied. */
  const lastMigration = async () =>
    ((await ds.query(`SELECT name FROM public.migrations ORDER BY id DESC LIMIT 1`)) as { name: string }[])[0]
      .name;

  const schemas = async () =>
    (
      (await ds.query(
        `SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg_%' AND nspname <> 'information_schema' ORDER BY 1`,
      )) as { nspname: string }[]
    ).map((r) => r.nspname);

  it('finds the entities', () => {
    expect(ENTITIES.map((e) => e.name).sort()).toEqual(
      expect.arrayContaining(['CredentialEntity', 'NotificationEntity', 'UserEntity']),
    );
  });

  it('applies every migration, leaving nothing for the entities to change', async () => {
    const applied = await ds.runMigrations({ transaction: 'each' });
    expect(applied).toHaveLength(MIGRATIONS.length);
    expect(await ds.showMigrations()).toBe(false);
    const diff = await ds.driver.createSchemaBuilder().log();
    expect(diff.upQueries.map((q) => q.query)).toEqual([]);
  });

  it('gives verified profiles their KYC date of birth, and its revert gives back what they held', async () => {
    // Before it, approval did not copy or lock the date of birth: a verified customer's profile could
    // hold another one, or none.
    const downTo010 = async () => {
      while ((await lastMigration()) !== 'StaffControlsAndDocumentHashes1763700000010')
        await ds.undoLastMigration({ transaction: 'each' });
    };
    await downTo010();
    const [edited, unset, reverified] = [randomUUID(), randomUUID(), randomUUID()];
    for (const [id, dob] of [
      [edited, '1985-01-01'],
      [unset, null],
      [reverified, '1985-01-01'],
    ]) {
      await ds.query(
        `INSERT INTO users.users (id, email, full_name, date_of_birth) VALUES ($1, $2, 'Legacy Customer', $3)`,
        [id, `${id}@example.com`, dob],
      );
      await ds.query(
        `INSERT INTO users.kyc (user_id, status, document_type, document_number_encrypted, document_number_last3,
                                country, date_of_birth, submitted_at, reviewed_at)
         VALUES ($1, 'verified', 'passport', 'v1.x.y.z', '000', 'GB', '1990-04-12', now(), now())`,
        [id],
      );
    }
    const datesOfBirth = async () =>
      (
        (await ds.query(
          `SELECT to_char(date_of_birth, 'YYYY-MM-DD') AS d FROM users.users WHERE id = ANY($1::uuid[])
            ORDER BY array_position($1::uuid[], id)`,
          [[edited, unset, reverified]],
        )) as { d: string | null }[]
      ).map((r) => r.d);
    await ds.runMigrations({ transaction: 'each' });
    expect(await datesOfBirth()).toEqual(['1990-04-12', '1990-04-12', '1990-04-12']);
    // An approved re-verification since then changed this one: the revert leaves it.
    await ds.query(`UPDATE users.users SET date_of_birth = '1991-02-03' WHERE id = $1`, [reverified]);
    await downTo010();
    expect(await datesOfBirth()).toEqual(['1985-01-01', null, '1991-02-03']);
    await ds.runMigrations({ transaction: 'each' });
    expect(await ds.showMigrations()).toBe(false);
    expect((await ds.driver.createSchemaBuilder().log()).upQueries).toEqual([]);
  });

  it('files payment notices under transactions when reverted to before the payments category', async () => {
    const user = randomUUID();
    await ds.query(
      `INSERT INTO notifications.notifications (id, user_id, category, type, title, body)
       VALUES ($1, $2, 'payments', 'payment.executed', 'Standing order paid', 'Your standing order was paid')`,
      [randomUUID(), user],
    );
    await ds.query(
      `INSERT INTO notifications.preferences (user_id, category, channel, enabled)
       VALUES ($1, 'payments', 'sms', true), ($1, 'transactions', 'sms', true)`,
      [user],
    );
    while ((await lastMigration()) !== 'PaymentNotifications1763700000015')
      await ds.undoLastMigration({ transaction: 'each' });
    await ds.undoLastMigration({ transaction: 'each' });
    expect(
      await ds.query(`SELECT category, type FROM notifications.notifications WHERE user_id = $1`, [user]),
    ).toEqual([{ category: 'transactions', type: 'payment.executed' }]);
    expect(
      await ds.query(`SELECT category, channel FROM notifications.preferences WHERE user_id = $1`, [user]),
    ).toEqual([{ category: 'transactions', channel: 'sms' }]);
    await expect(
      ds.query(`UPDATE notifications.notifications SET category = 'payments' WHERE user_id = $1`, [user]),
    ).rejects.toThrow(/notifications_category_check/);
    await ds.runMigrations({ transaction: 'each' });
    expect(await ds.showMigrations()).toBe(false);
    expect((await ds.driver.createSchemaBuilder().log()).upQueries).toEqual([]);
  });

  it("files a closed account's cancelled cards as `closed` when reverted to before account_closed", async () => {
    const card = randomUUID();
    await ds.query(
      `INSERT INTO cards.cards (id, owner_id, account_id, currency, type, brand, pan_encrypted, pan_hash, last4,
                                expiry_month, expiry_year, cardholder_name, status, cancel_reason, cancelled_at)
       VALUES ($1, $2, $3, 'GBP', 'virtual', 'visa', '\\x00', $4, '1234', 1, 2030, 'A B', 'cancelled',
               'account_closed', now())`,
      [card, randomUUID(), randomUUID(), Buffer.from(card)],
    );
    while ((await lastMigration()) !== 'CardsCancelledWithAccount1763700000035')
      await ds.undoLastMigration({ transaction: 'each' });
    await ds.undoLastMigration({ transaction: 'each' });
    expect(await ds.query(`SELECT cancel_reason FROM cards.cards WHERE id = $1`, [card])).toEqual([
      { cancel_reason: 'closed' },
    ]);
    await expect(
      ds.query(`UPDATE cards.cards SET cancel_reason = 'account_closed' WHERE id = $1`, [card]),
    ).rejects.toThrow(/cards_cancel_reason_check/);
    await ds.runMigrations({ transaction: 'each' });
    expect(await ds.showMigrations()).toBe(false);
    await ds.query(`UPDATE cards.cards SET cancel_reason = 'account_closed' WHERE id = $1`, [card]);
    await ds.query(`DELETE FROM cards.cards WHERE id = $1`, [card]);
  });

  it('moves analytics days to bank days (London), recomputing the rollups, and back in UTC on revert', async () => {
    const user = randomUUID();
    const generation = async () =>
      Number(
        (
          (await ds.query(`SELECT generation::text AS g FROM analytics.cache_generation`)) as { g: string }[]
        )[0].g,
      );
    while ((await lastMigration()) !== 'AnalyticsBankDays1763700000025')
      await ds.undoLastMigration({ transaction: 'each' });
    await ds.undoLastMigration({ transaction: 'each' });
    // As the consumer wrote them before: UTC days. A rent paid at 00:00:30 London on 1 July (BST), and
    // a winter payment, whose day is the same in both.
    for (const [amount, at] of [
      [50000, '2026-06-30T23:00:30Z'],
      [1200, '2026-06-30T12:00:00Z'],
      [700, '2026-12-01T23:30:00Z'],
    ] as const) {
      await ds.query(
        `INSERT INTO analytics.movements (transaction_id, user_id, direction, amount, currency, category, kind, occurred_at, day)
         VALUES ($1, $2, 'out', $3, 'GBP', 'standing_orders', 'standing_order', $4, ($4::timestamptz AT TIME ZONE 'UTC')::date)`,
        [randomUUID(), user, amount, at],
      );
    }
    await ds.query(
      `INSERT INTO analytics.daily_rollups (user_id, day, currency, direction, category, merchant, amount, count)
       SELECT user_id, day, currency, direction, category, '', sum(amount), count(*) FROM analytics.movements
        WHERE user_id = $1 GROUP BY 1, 2, 3, 4, 5`,
      [user],
    );
    const rollups = async () =>
      (await ds.query(
        `SELECT to_char(day, 'YYYY-MM-DD') AS day, amount::int AS amount, count FROM analytics.daily_rollups
          WHERE user_id = $1 ORDER BY day`,
        [user],
      )) as { day: string; amount: number; count: number }[];
    expect(await rollups()).toEqual([
      { day: '2026-06-30', amount: 51200, count: 2 },
      { day: '2026-12-01', amount: 700, count: 1 },
    ]);
    const before = await generation();
    await ds.runMigrations({ transaction: 'each' });
    expect(await rollups()).toEqual([
      { day: '2026-06-30', amount: 1200, count: 1 },
      { day: '2026-07-01', amount: 50000, count: 1 },
      { day: '2026-12-01', amount: 700, count: 1 },
    ]);
    expect(await generation()).toBeGreaterThan(before);
    while ((await lastMigration()) !== 'AnalyticsBankDays1763700000025')
      await ds.undoLastMigration({ transaction: 'each' });
    await ds.undoLastMigration({ transaction: 'each' });
    expect(await rollups()).toEqual([
      { day: '2026-06-30', amount: 51200, count: 2 },
      { day: '2026-12-01', amount: 700, count: 1 },
    ]);
    await ds.runMigrations({ transaction: 'each' });
    expect(await ds.showMigrations()).toBe(false);
  });

  it("tells notifications of the addresses verified before notices needed it, through auth's own outbox", async () => {
    while ((await lastMigration()) !== 'VerifiedEmailsForNotices1763700000042')
      await ds.undoLastMigration({ transaction: 'each' });
    await ds.undoLastMigration({ transaction: 'each' });
    const [verified, unverified] = [randomUUID(), randomUUID()];
    for (const [id, at] of [
      [verified, '2026-12-05T08:00:00.123Z'],
      [unverified, null],
    ]) {
      await ds.query(
        `INSERT INTO auth.credentials (user_id, email, password_hash, status, attempt, role, email_verified_at)
         VALUES ($1, $2, 'x', 'active', $1, 'customer', $3)`,
        [id, `Mixed.Case.${id}@Example.com`, at],
      );
    }
    await ds.runMigrations({ transaction: 'each' });
    const events = (await ds.query(
      `SELECT id, payload FROM auth.outbox WHERE name = 'user.email_verified' AND payload->>'user_id' = ANY($1)`,
      [[verified, unverified]],
    )) as { id: string; payload: UserEmailVerifiedEvent }[];
    const expected: UserEmailVerifiedEvent = {
      event_id: events[0]?.id,
      occurred_at: '2026-12-05T08:00:00.123Z',
      user_id: verified,
      email: `Mixed.Case.${verified}@Example.com`,
    };
    expect(events.map((e) => e.payload)).toEqual([expected]);
    await ds.query(`DELETE FROM auth.outbox WHERE name = 'user.email_verified'`);
    await ds.query(`DELETE FROM auth.credentials WHERE user_id = ANY($1)`, [[verified, unverified]]);
  });

  it('records the payments and card payments staff reversed before reversals were told, from the ledger', async () => {
    // Back to before both (045 payments', 046 cards').
    while ((await lastMigration()) !== 'ReversedPayments1763700000045')
      await ds.undoLastMigration({ transaction: 'each' });
    await ds.undoLastMigration({ transaction: 'each' });
    const [from, to] = [randomUUID(), randomUUID()];
    for (const id of [from, to]) {
      await ds.query(
        `INSERT INTO transactions.ledger_accounts (id, kind, owner_id, currency, overdraft_limit)
         VALUES ($1, 'customer', $2, 'GBP', 0)`,
        [id, randomUUID()],
      );
    }
    const [order, orderReversal, scheduled, transfer, transferReversal, card, cardReversal] = Array.from(
      { length: 7 },
      () => randomUUID(),
    );
    const entry = (id: string, kind: string, reverses: string | null, at: string) =>
      ds.query(
        `INSERT INTO transactions.entries (id, kind, debit_account_id, credit_account_id, amount, currency,
                                           reverses_id, created_at)
         VALUES ($1, $2, $3, $4, 100, 'GBP', $5, $6)`,
        reverses ? [id, kind, to, from, reverses, at] : [id, kind, from, to, null, at],
      );
    await entry(order, 'standing_order', null, '2026-12-01T09:00:00.000Z');
    await entry(orderReversal, 'reversal', order, '2026-12-02T10:30:00.250Z');
    await entry(scheduled, 'scheduled_payment', null, '2026-12-01T09:00:00.000Z');
    await entry(transfer, 'transfer', null, '2026-12-01T09:00:00.000Z');
    await entry(transferReversal, 'reversal', transfer, '2026-12-02T10:30:00.000Z');
    await entry(card, 'card', null, '2026-12-01T12:00:00.000Z');
    await entry(cardReversal, 'reversal', card, '2026-12-03T08:00:00.000Z');
    await ds.runMigrations({ transaction: 'each' });
    const kept = async (schema: string) =>
      (await ds.query(
        `SELECT transaction_id, reversal_id, reversed_at FROM ${schema}.reversals WHERE transaction_id = ANY ($1)`,
        [[order, scheduled, transfer, card]],
      )) as { transaction_id: string; reversal_id: string; reversed_at: Date }[];
    expect(await kept('payments')).toEqual([
      {
        transaction_id: order,
        reversal_id: orderReversal,
        reversed_at: new Date('2026-12-02T10:30:00.250Z'),
      },
    ]);
    expect(await kept('cards')).toEqual([
      { transaction_id: card, reversal_id: cardReversal, reversed_at: new Date('2026-12-03T08:00:00.000Z') },
    ]);
  });

  it('marks the analytics movements of reversals made before them with the entry they reverse', async () => {
    while ((await lastMigration()) !== 'ReversedMovements1763700000048')
      await ds.undoLastMigration({ transaction: 'each' });
    await ds.undoLastMigration({ transaction: 'each' });
    const [from, to, payer, payee] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    for (const [id, owner] of [
      [from, payer],
      [to, payee],
    ]) {
      await ds.query(
        `INSERT INTO transactions.ledger_accounts (id, kind, owner_id, currency, overdraft_limit)
         VALUES ($1, 'customer', $2, 'GBP', 0)`,
        [id, owner],
      );
    }
    const [paid, reversal] = [randomUUID(), randomUUID()];
    await ds.query(
      `INSERT INTO transactions.entries (id, kind, debit_account_id, credit_account_id, amount, currency, reverses_id,
                                         created_at)
       VALUES ($1, 'transfer', $3, $4, 100, 'GBP', NULL, now()), ($2, 'reversal', $4, $3, 100, 'GBP', $1, now())`,
      [paid, reversal, from, to],
    );
    const movement = (id: string, user: string, direction: string, kind: string) =>
      ds.query(
        `INSERT INTO analytics.movements (transaction_id, user_id, direction, amount, currency, category, kind,
                                          occurred_at, day)
         VALUES ($1, $2, $3, 100, 'GBP', 'transfers', $4, now(), current_date)`,
        [id, user, direction, kind],
      );
    await movement(paid, payer, 'out', 'transfer');
    await movement(reversal, payer, 'in', 'reversal');
    await ds.runMigrations({ transaction: 'each' });
    const rows = (await ds.query(
      `SELECT transaction_id, reverses_id FROM analytics.movements WHERE user_id = $1 ORDER BY kind`,
      [payer],
    )) as { transaction_id: string; reverses_id: string | null }[];
    expect(rows).toEqual([
      { transaction_id: reversal, reverses_id: paid },
      { transaction_id: paid, reverses_id: null },
    ]);
    const indexes = (await ds.query(
      `SELECT tablename FROM pg_indexes WHERE schemaname = 'analytics' AND indexname LIKE '%reverses_idx' ORDER BY 1`,
    )) as { tablename: string }[];
    expect(indexes.map((i) => i.tablename)).toEqual(['movements', 'movements_rebuild']);
  });

  it('writes addresses registered with an xn-- domain as they read, keeps one whose mailbox is taken, and gives both back on revert', async () => {
    while ((await lastMigration()) !== 'EmailDomainsAsTheyRead1763700000049')
      await ds.undoLastMigration({ transaction: 'each' });
    await ds.undoLastMigration({ transaction: 'each' });
    const [ascii, unicode, twin, plain, nested, emoji] = [1, 2, 3, 4, 5, 6].map(() => randomUUID());
    const addresses: [string, string][] = [
      [ascii, `ann.${ascii}@xn--bcher-kva.test`], // becomes ann.…@bücher.test
      [unicode, `bob.${unicode}@bücher.test`], // already as it reads
      [twin, `bob.${unicode}@xn--bcher-kva.test`], // bob's mailbox, registered a second time
      [plain, `cy.${plain}@example.com`],
      [nested, `di.${nested}@xn--xn--bcher-kva-.test`], // not IDNA of letters beyond ASCII: kept
      [emoji, `ed.${emoji}@example.xn--ls8h`], // as it reads, no longer an address logins take: kept
    ];
    for (const [id, email] of addresses) {
      await ds.query(`INSERT INTO users.users (id, email, full_name) VALUES ($1, $2, 'Legacy Customer')`, [
        id,
        email,
      ]);
      await ds.query(
        `INSERT INTO auth.credentials (user_id, email, password_hash, status, attempt, role, email_verified_at)
         VALUES ($1, $2, 'x', 'active', $1, 'customer', now())`,
        [id, email],
      );
      await ds.query(`INSERT INTO notifications.verified_emails (user_id, email) VALUES ($1, $2)`, [
        id,
        email,
      ]);
    }
    const stored = async () => {
      const rows = (await ds.query(
        `SELECT u.id, u.email AS users, c.email AS auth, v.email AS notifications
           FROM users.users u JOIN auth.credentials c ON c.user_id = u.id
           JOIN notifications.verified_emails v ON v.user_id = u.id
          WHERE u.id = ANY($1)`,
        [addresses.map(([id]) => id)],
      )) as { id: string; users: string; auth: string; notifications: string }[];
      return Object.fromEntries(rows.map((r) => [r.id, [r.users, r.auth, r.notifications]]));
    };
    const three = (email: string) => [email, email, email];
    await ds.runMigrations({ transaction: 'each' });
    expect(await stored()).toEqual({
      [ascii]: three(`ann.${ascii}@bücher.test`),
      [unicode]: three(`bob.${unicode}@bücher.test`),
      [twin]: three(`bob.${unicode}@xn--bcher-kva.test`), // kept: as it reads, it is bob's
      [plain]: three(`cy.${plain}@example.com`),
      [nested]: three(`di.${nested}@xn--xn--bcher-kva-.test`),
      [emoji]: three(`ed.${emoji}@example.xn--ls8h`),
    });
    while ((await lastMigration()) !== 'EmailDomainsAsTheyRead1763700000049')
      await ds.undoLastMigration({ transaction: 'each' });
    await ds.undoLastMigration({ transaction: 'each' });
    expect(await stored()).toEqual(Object.fromEntries(addresses.map(([id, email]) => [id, three(email)])));
    await ds.runMigrations({ transaction: 'each' });
    for (const table of ['notifications.verified_emails', 'auth.credentials']) {
      await ds.query(`DELETE FROM ${table} WHERE user_id = ANY($1)`, [addresses.map(([id]) => id)]);
    }
    await ds.query(`DELETE FROM users.users WHERE id = ANY($1)`, [addresses.map(([id]) => id)]);
  });

  it('reverts every migration down to an empty database, then applies them again', async () => {
    for (let i = 0; i < MIGRATIONS.length; i++) await ds.undoLastMigration({ transaction: 'each' });
    expect(await schemas()).toEqual(['public']);
    const tables = (await ds.query(
      `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'migrations'`,
    )) as { n: number }[];
    expect(tables[0].n).toBe(0);
    await ds.runMigrations({ transaction: 'each' });
    expect(await schemas()).toEqual([
      'accounts',
      'analytics',
      'auth',
      'cards',
      'notifications',
      'ops',
      'payments',
      'public',
      'transactions',
      'users',
    ]);
  });
});
