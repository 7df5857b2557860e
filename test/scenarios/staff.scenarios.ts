/**
 * Staff controls and identity documents, both topologies (issue 10, findings 2 and 3):
 * - no staff action on money, status or limits touches the actor's own account, however the requests race;
 * - a freeze is lifted only by its author or an admin;
 * - every such action lands in the audit trail with actor, target, resource, before, after and reason;
 * - one identity document verifies one customer, whatever its spelling: a duplicate is flagged to staff
 *   and approved only by an admin who gives a reason; the number itself is never shown or logged.
 */
import type { StaffActionRecordedEvent } from '@protobank/contracts';
import { activeKey, changingKey } from '@protobank/platform';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Redis from 'ioredis';
import type { Client } from 'pg';
import request from 'supertest';
import {
  asReviewed,
  bearer,
  UNREAD_SUBMISSION,
  firstAdmin,
  newCustomer,
  type Actor,
} from '../support/actors';
import {
  type Account,
  deposit,
  issueCard,
  newPassportNumber,
  openAccount,
  postDeposit,
  promote,
  submitKyc,
  transfer,
  verifiedCustomer,
} from '../support/banking';
import { lockedQueries, lockWaiters } from '../support/lock-waits';
import { securityEventsCounted } from '../support/security-events';
import { eventually, metricValue, scrapeMetrics } from '../support/test-env';
import type { Running } from '../support/topologies';
import { inboxDuplicates } from '../support/inbox-metrics';

interface AuditEntry {
  id: string;
  actor_id: string;
  actor_role: string | null;
  action: string;
  target_user_id: string | null;
  resource_type: string;
  resource_id: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  reason: string | null;
  details: Record<string, unknown>;
  created_at: string;
}

export function staffScenarios(get: () => Running) {
  const http = () => request(get().baseUrl);
  let admin: Actor;
  let db: Client;

  beforeAll(async () => {
    admin = await firstAdmin(get());
    db = await get().t.db();
  });

  /** The audit entries matching `query`, once at least `count` are there (they travel as events). */
  const auditOf = (query: Record<string, string>, count = 1) =>
    eventually(
      async () => {
        const res = await http()
          .get('/admin/audit')
          .query({ limit: 100, ...query })
          .set(bearer(admin.token))
          .expect(200);
        const entries = res.body.data as AuditEntry[];
        return entries.length >= count ? entries : undefined;
      },
      15000,
      `${count} audit entries for ${JSON.stringify(query)}`,
    );

  /** `actorId`'s reads of `targetId`'s data (customer_data_viewed) as [resource_type, resource_id, viewed]. */
  const readsOf = async (actorId: string, targetId: string, count = 1) =>
    (
      await auditOf({ actor_id: actorId, action: 'customer_data_viewed', target_user_id: targetId }, count)
    ).map((e) => [e.resource_type, e.resource_id, e.after?.viewed]);

  /** The ledger's outbox events of staff actions by this actor (written in the action's transaction). */
  const reportedBy = async (actorId: string) =>
    (
      await db.query(
        `SELECT payload FROM transactions.outbox WHERE name = 'staff_action.recorded' AND payload->>'actor_id' = $1`,
        [actorId],
      )
    ).rows.map((r: { payload: StaffActionRecordedEvent }) => r.payload);

  const stateOf = async (account: Account) =>
    (await http().get(`/accounts/${account.id}`).set(bearer(admin.token)).expect(200)).body as {
      status: string;
      overdraft_limit: number;
      balance: number;
    };

  const freeze = (who: Actor, account: Account, reason = 'Suspected account takeover') =>
    http().post(`/admin/accounts/${account.id}/freeze`).set(bearer(who.token)).send({ reason });
  const unfreeze = (who: Actor, account: Account, reason = 'Cleared after review') =>
    http().post(`/admin/accounts/${account.id}/unfreeze`).set(bearer(who.token)).send({ reason });
  const setOverdraft = (who: Actor, account: Account, limit: number, reason = 'Arranged overdraft') =>
    http()
      .patch(`/admin/accounts/${account.id}`)
      .set(bearer(who.token))
      .send({ overdraft_limit: limit, reason });

  describe("staff reads of a customer's data", () => {
    it("files every read by staff or an admin in the audit trail before showing it (what, whose, which), a search's and a no-op change's answers too, none of the owner's own, none refused", async () => {
      const reader = await promote(get(), admin, await newCustomer(get(), 'reads.staff'));
      const colleague = await promote(get(), admin, await verifiedCustomer(get(), admin, 'reads.colleague'));
      const customer = await verifiedCustomer(get(), admin, 'reads.customer');
      const account = await openAccount(get(), customer);
      const deposited = await deposit(get(), admin, account, 5000);
      const card = await issueCard(get(), customer, account);
      const since = new Date().toISOString();
      // The customer's own reads are not staff reads.
      await http().get(`/accounts/${account.id}/statement`).set(bearer(customer.token)).expect(200);

      const reads: [string, string, string, string][] = [
        // path, resource_type, resource_id, viewed
        [`/accounts/${account.id}`, 'account', account.id, 'account'],
        [`/accounts/${account.id}/balance`, 'account', account.id, 'account'],
        [`/accounts/${account.id}/statement`, 'account', account.id, 'statement'],
        [`/transactions?account_id=${account.id}`, 'account', account.id, 'transactions'],
        [`/transactions/${deposited.id}`, 'transaction', deposited.id, 'transaction'],
        [`/admin/accounts?owner_id=${customer.id}`, 'user', customer.id, 'accounts'],
        [`/admin/cards?owner_id=${customer.id}`, 'user', customer.id, 'cards'],
        [`/admin/cards/${card.id}`, 'card', card.id, 'card'],
        [`/admin/standing-orders?owner_id=${customer.id}`, 'user', customer.id, 'standing_orders'],
        [`/admin/users/${customer.id}`, 'user', customer.id, 'profile'],
        [`/admin/kyc/${customer.id}`, 'kyc', customer.id, 'kyc'],
      ];
      for (const [path] of reads) await http().get(path).set(bearer(reader.token)).expect(200);
      // A search shows profiles: each one listed is filed.
      const found = await http()
        .get('/admin/users')
        .query({ query: customer.email })
        .set(bearer(reader.token))
        .expect(200);
      expect(found.body.data.map((u: { id: string }) => u.id)).toEqual([customer.id]);
      reads.push(['/admin/users?query=', 'user', customer.id, 'profile']);
      // A change of nothing still answers with the account (its balance): filed as a read of it.
      await http()
        .patch(`/admin/accounts/${account.id}`)
        .set(bearer(reader.token))
        .send({ overdraft_limit: 0, reason: 'Checking the limit' })
        .expect(200);
      reads.push(['PATCH /admin/accounts', 'account', account.id, 'account']);
      // So does a card's block and its lifting (the card view), and a KYC decision (the submission).
      for (const change of ['block', 'unblock']) {
        await http()
          .post(`/admin/cards/${card.id}/${change}`)
          .set(bearer(reader.token))
          .send({ reason: 'Reported lost, then found' })
          .expect(200);
        reads.push([`POST /admin/cards/${change}`, 'card', card.id, 'card']);
      }
      const applicant = await newCustomer(get(), 'reads.applicant');
      await submitKyc(get(), applicant);
      await http()
        .post(`/admin/kyc/${applicant.id}/approve`)
        .set(bearer(reader.token))
        .send(await asReviewed(http(), reader.token, applicant.id))
        .expect(200);
      // A request refused for its own input (a bad cursor, dates the wrong way round) files nothing.
      await http()
        .get(`/admin/cards?owner_id=${customer.id}&cursor=zzz`)
        .set(bearer(reader.token))
        .expect(400);
      await http()
        .get(`/accounts/${account.id}/statement?from=2026-12-10&to=2026-12-01`)
        .set(bearer(reader.token))
        .expect(400);
      // An owner no one is: nothing shown, no one's data, nothing filed (not even under that id).
      const nobody = randomUUID();
      const none = await http()
        .get(`/admin/standing-orders?owner_id=${nobody}`)
        .set(bearer(reader.token))
        .expect(200);
      expect(none.body.data).toEqual([]);
      expect(
        (await db.query(`SELECT count(*)::int AS n FROM users.audit_log WHERE target_user_id = $1`, [nobody]))
          .rows[0].n,
      ).toBe(0);
      // A colleague's data is refused to staff (403), and so not filed.
      const colleagueAccount = await openAccount(get(), colleague);
      await http().get(`/accounts/${colleagueAccount.id}`).set(bearer(reader.token)).expect(403);
      await http().get(`/admin/users/${colleague.id}`).set(bearer(reader.token)).expect(403);
      // A payment between the colleague and the customer is the customer's too, so staff see it: filed for
      // both of them.
      await deposit(get(), admin, colleagueAccount, 1000);
      const paid = await transfer(get(), colleague, {
        from_account_id: colleagueAccount.id,
        to_account_number: account.account_number,
        amount: 700,
        currency: 'GBP',
      }).expect(201);
      await http().get(`/transactions/${paid.body.id}`).set(bearer(reader.token)).expect(200);
      reads.push(['/transactions/{paid}', 'transaction', paid.body.id, 'transaction']);
      // An admin's reads are filed too, a colleague's included, and so is the answer to a change of nothing.
      await http().get(`/accounts/${colleagueAccount.id}`).set(bearer(admin.token)).expect(200);
      await http()
        .patch(`/admin/users/${customer.id}`)
        .set(bearer(admin.token))
        .send({ disabled: false, reason: 'Checking the user' })
        .expect(200);

      const filed = await auditOf(
        { actor_id: reader.id, action: 'customer_data_viewed', target_user_id: customer.id },
        reads.length,
      );
      expect(
        filed
          .map((e) => [e.target_user_id, e.resource_type, e.resource_id, e.after?.viewed])
          .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
      ).toEqual(
        reads
          .map(([, type, id, viewed]) => [customer.id, type, id, viewed])
          .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
      );
      // The detail read to decide, and the decision's answer.
      expect(await readsOf(reader.id, applicant.id, 2)).toEqual([
        ['kyc', applicant.id, 'kyc'],
        ['kyc', applicant.id, 'kyc'],
      ]);
      expect(await readsOf(reader.id, colleague.id)).toEqual([['transaction', paid.body.id, 'transaction']]);
      for (const e of filed) {
        expect(e).toMatchObject({ actor_role: 'staff', before: null, reason: null });
        expect(e.created_at >= since).toBe(true);
      }
      const byAdmin = await auditOf({
        actor_id: admin.id,
        action: 'customer_data_viewed',
        target_user_id: colleague.id,
      });
      // Newest first: this read, the profile the promotion answered with, and the approval of the
      // colleague's identity (its answer, and the KYC detail the admin read to decide).
      expect(byAdmin.map((e) => [e.actor_role, e.resource_id, e.after?.viewed])).toEqual([
        ['admin', colleagueAccount.id, 'account'],
        ['admin', colleague.id, 'profile'],
        ['admin', colleague.id, 'kyc'],
        ['admin', colleague.id, 'kyc'],
      ]);
      expect(await readsOf(admin.id, customer.id)).toContainEqual(['user', customer.id, 'profile']);
      const ofCustomer = (
        await http()
          .get('/admin/audit')
          .query({ target_user_id: customer.id, action: 'customer_data_viewed', limit: 100 })
          .set(bearer(admin.token))
          .expect(200)
      ).body.data as AuditEntry[];
      expect(ofCustomer.filter((e) => e.actor_id === customer.id)).toEqual([]);
      // The trail read by kind: what the reader did apart from what they read, and the other way round.
      const actions = await auditOf({ actor_id: reader.id, kind: 'actions' }, 3);
      expect(actions.map((e) => e.action).sort()).toEqual(['card_blocked', 'card_unblocked', 'kyc_approved']);
      const readsOnly = await auditOf({ actor_id: reader.id, kind: 'reads' }, filed.length);
      expect(new Set(readsOnly.map((e) => e.action))).toEqual(new Set(['customer_data_viewed']));
      expect(readsOnly.map((e) => e.id).sort()).toEqual(
        (await auditOf({ actor_id: reader.id, action: 'customer_data_viewed' }, filed.length))
          .map((e) => e.id)
          .sort(),
      );
      // And by period: everything the reader did happened after `since`, none of it before.
      const readerIn = async (period: Record<string, string>) =>
        (
          await http()
            .get('/admin/audit')
            .query({ actor_id: reader.id, limit: 100, ...period })
            .set(bearer(admin.token))
            .expect(200)
        ).body.data as AuditEntry[];
      const all = await readerIn({});
      expect((await readerIn({ from: since })).map((e) => e.id)).toEqual(all.map((e) => e.id));
      expect(await readerIn({ to: since })).toEqual([]);
      expect(await readerIn({ from: '2026-01-01', to: '2026-01-31' })).toEqual([]);
      const fields = async (query: Record<string, string>) =>
        (await http().get('/admin/audit').query(query).set(bearer(admin.token)).expect(400)).body.details.map(
          (d: { field: string }) => d.field,
        );
      expect(await fields({ kind: 'everything' })).toEqual(['kind']);
      expect(await fields({ from: '2026-02-30' })).toEqual(['from']);
      expect(await fields({ from: '2026-12-05', to: '2026-12-01' })).toEqual(['to']);
    });

    it("refuses a staff member's or admin's reads of customers' data and of the audit trail once disabled or demoted while their token lives on (auth could not end their sessions), filing none", async () => {
      const reader = await promote(get(), admin, await newCustomer(get(), 'reads.gone'));
      const customer = await verifiedCustomer(get(), admin, 'reads.gone.customer');
      const account = await openAccount(get(), customer);
      const card = await issueCard(get(), customer, account);
      const reads = [
        `/accounts/${account.id}`,
        `/transactions?account_id=${account.id}`,
        `/admin/accounts?owner_id=${customer.id}`,
        `/admin/cards/${card.id}`,
        `/admin/standing-orders?owner_id=${customer.id}`,
        `/admin/users/${customer.id}`,
        `/admin/kyc/${customer.id}`,
        '/admin/kyc?status=verified',
      ];
      for (const path of reads) await http().get(path).set(bearer(reader.token)).expect(200);
      const filedBefore = (await auditOf({ actor_id: reader.id, action: 'customer_data_viewed' })).length;
      // What a disable or a demotion leaves while auth is unreachable (503 sessions_not_ended): the flag
      // set in users, the sessions and their tokens alive. Set here directly, so no session ends.
      for (const change of [`disabled_at = now()`, `role = 'customer'`]) {
        await db.query(`UPDATE users.users SET ${change} WHERE id = $1`, [reader.id]);
        try {
          for (const path of reads) {
            const res = await http().get(path).set(bearer(reader.token));
            expect({ change, path, status: res.status, code: res.body.code }).toEqual({
              change,
              path,
              status: 403,
              code: 'forbidden',
            });
          }
        } finally {
          await db.query(`UPDATE users.users SET disabled_at = NULL, role = 'staff' WHERE id = $1`, [
            reader.id,
          ]);
        }
      }
      // Nothing was filed for the refused reads; the same token reads again once the member is back.
      const rows = await db.query(
        `SELECT count(*)::int AS n FROM users.audit_log WHERE actor_id = $1 AND action = 'customer_data_viewed'`,
        [reader.id],
      );
      expect(rows.rows[0].n).toBe(filedBefore);
      await http().get(`/accounts/${account.id}`).set(bearer(reader.token)).expect(200);

      // An admin's read of the audit trail (which files nothing) likewise.
      const overseer = await promote(get(), admin, await newCustomer(get(), 'reads.gone.admin'), 'admin');
      await http().get('/admin/audit').query({ actor_id: reader.id }).set(bearer(overseer.token)).expect(200);
      for (const change of [`disabled_at = now()`, `role = 'staff'`]) {
        await db.query(`UPDATE users.users SET ${change} WHERE id = $1`, [overseer.id]);
        try {
          const res = await http()
            .get('/admin/audit')
            .query({ actor_id: reader.id })
            .set(bearer(overseer.token));
          expect({ change, status: res.status, code: res.body.code }).toEqual({
            change,
            status: 403,
            code: 'forbidden',
          });
        } finally {
          await db.query(`UPDATE users.users SET disabled_at = NULL, role = 'admin' WHERE id = $1`, [
            overseer.id,
          ]);
        }
      }
    });
  });

  describe('staff controls', () => {
    let staffA: Actor;
    let staffB: Actor;
    let ownA: Account;
    let customer: Actor;
    let x: Account;

    beforeAll(async () => {
      // Staff are customers too: each opened an account before joining the staff.
      const a = await verifiedCustomer(get(), admin, 'staff.a');
      ownA = await openAccount(get(), a);
      staffA = await promote(get(), admin, a);
      staffB = await promote(get(), admin, await newCustomer(get(), 'staff.b'));
      customer = await verifiedCustomer(get(), admin, 'staff.cust');
      x = await openAccount(get(), customer);
    });

    /** staffA's new card on ownA, an admin's deposit into ownA and staffA's payment from it to customer x. */
    const colleagueMoney = async (paidInAmount: number, paidOutAmount: number) => {
      const card = (await issueCard(get(), staffA, ownA)).id;
      const deposit = {
        account_id: ownA.id,
        amount: paidInAmount,
        currency: 'GBP',
        reason: 'Cash paid in at branch',
      };
      const paidIn = (await postDeposit(get(), admin, deposit).expect(201)).body.id as string;
      const payment = {
        from_account_id: ownA.id,
        to_account_id: x.id,
        amount: paidOutAmount,
        currency: 'GBP',
      };
      const paidOut = (await transfer(get(), staffA, payment).expect(201)).body.id as string;
      return { card, paidIn, paidOut };
    };

    it('refuses a staff member their own account: overdraft, freeze, unfreeze, deposit (403 own_account), changing nothing', async () => {
      const limit = await setOverdraft(staffA, ownA, 10_000_000);
      expect([limit.status, limit.body.code]).toEqual([403, 'own_account']);
      const frozen = await freeze(staffA, ownA);
      expect([frozen.status, frozen.body.code]).toEqual([403, 'own_account']);
      expect(await stateOf(ownA)).toMatchObject({ status: 'active', overdraft_limit: 0, balance: 0 });
      // An admin freezes it; its owner cannot lift the freeze.
      await freeze(admin, ownA, 'Staff account under review').expect(200);
      const lifted = await unfreeze(staffA, ownA);
      expect([lifted.status, lifted.body.code]).toEqual([403, 'own_account']);
      const self = await postDeposit(get(), staffA, {
        account_id: ownA.id,
        amount: 500,
        currency: 'GBP',
        reason: 'Cash paid in at branch',
      });
      expect([self.status, self.body.code]).toEqual([403, 'own_account']);
      expect(await stateOf(ownA)).toMatchObject({ status: 'frozen', overdraft_limit: 0, balance: 0 });
      expect(await reportedBy(staffA.id)).toEqual([]);
      await unfreeze(admin, ownA, 'Review finished').expect(200);
    });

    it("leaves a colleague's accounts and cards to an admin (403 colleague_account), changing nothing", async () => {
      // The colleague pays a customer: reversing it would put money back into the colleague's account.
      const { card, paidIn, paidOut } = await colleagueMoney(700, 200);
      const reverse = (who: Actor, entry = paidIn) =>
        http()
          .post(`/admin/transactions/${entry}/reverse`)
          .set(bearer(who.token))
          .set('Idempotency-Key', randomUUID())
          .send({ reason: 'Deposited in error' });
      const refused = [
        await freeze(staffB, ownA),
        await setOverdraft(staffB, ownA, 5000),
        await http()
          .post(`/admin/cards/${card}/block`)
          .set(bearer(staffB.token))
          .send({ reason: 'A colleague under review' }),
        // Money too: two colleagues cannot pay cash into each other's accounts, nor take it out.
        await postDeposit(get(), staffB, {
          account_id: ownA.id,
          amount: 500,
          currency: 'GBP',
          reason: 'Cash paid in at branch',
        }),
        await reverse(staffB),
        await reverse(staffB, paidOut),
      ];
      expect(refused.map((r) => [r.status, r.body.code])).toEqual(Array(6).fill([403, 'colleague_account']));
      expect(await stateOf(ownA)).toMatchObject({ status: 'active', overdraft_limit: 0, balance: 500 });
      expect(await reportedBy(staffB.id)).toEqual([]);
      // An admin may, and is audited as any staff action is.
      await freeze(admin, ownA, 'Staff account under review').expect(200);
      await unfreeze(admin, ownA, 'Review finished').expect(200);
      await http()
        .post(`/admin/cards/${card}/block`)
        .set(bearer(admin.token))
        .send({ reason: 'A colleague under review' })
        .expect(200);
      await http()
        .post(`/admin/cards/${card}/unblock`)
        .set(bearer(admin.token))
        .send({ reason: 'Review finished' })
        .expect(200);
      await reverse(admin, paidOut).expect(201);
      await reverse(admin).expect(201);
      expect(await stateOf(ownA)).toMatchObject({ balance: 0 });
      const [frozen] = await auditOf({ resource_id: ownA.id, action: 'account_frozen', actor_id: admin.id });
      expect(frozen).toMatchObject({ target_user_id: staffA.id, reason: 'Staff account under review' });
    });

    it("leaves reading a colleague's accounts, money, cards and orders to an admin (403 colleague_account)", async () => {
      const { card, paidIn, paidOut } = await colleagueMoney(900, 300);
      const reads = [
        `/accounts/${ownA.id}`,
        `/accounts/${ownA.id}/balance`,
        `/accounts/${ownA.id}/statement`,
        `/admin/accounts?owner_id=${staffA.id}`,
        `/transactions?account_id=${ownA.id}`,
        `/transactions/${paidIn}`,
        `/admin/cards?owner_id=${staffA.id}`,
        `/admin/cards/${card}`,
        `/admin/standing-orders?owner_id=${staffA.id}`,
      ];
      const read = (who: Actor, path: string) => http().get(path).set(bearer(who.token));
      // Counted for the alerts (security_events_total): the accounts app's four refusals at least.
      const refusalsCounted = () => securityEventsCounted(get(), 'accounts', 'colleague_account');
      const countedBefore = await refusalsCounted();
      const byColleague = await Promise.all(reads.map((path) => read(staffB, path)));
      expect(byColleague.map((r) => [r.status, r.body.code])).toEqual(
        Array(reads.length).fill([403, 'colleague_account']),
      );
      expect((await refusalsCounted()) - countedBefore).toBeGreaterThanOrEqual(4);
      // An admin reads every one, and so does their owner but for the staff view of their own cards (403
      // own_card: it says who blocked a card and why; GET /cards shows them); the colleague still reads the
      // customer's side of a payment between them, and the customer's own account.
      const answers = await Promise.all(reads.map((path) => read(admin, path)));
      expect(answers.map((r) => r.status)).toEqual(Array(reads.length).fill(200));
      const own = await Promise.all(reads.map((path) => read(staffA, path)));
      expect(own.map((r) => [r.status, r.body.code ?? null])).toEqual(
        reads.map((path) => (path.startsWith('/admin/cards') ? [403, 'own_card'] : [200, null])),
      );
      await read(staffB, `/transactions/${paidOut}`).expect(200);
      await read(staffB, `/accounts/${x.id}/statement`).expect(200);
      // A refused read changes nothing and reports no staff action.
      expect(await reportedBy(staffB.id)).toEqual([]);
      for (const entry of [paidOut, paidIn]) {
        await http()
          .post(`/admin/transactions/${entry}/reverse`)
          .set(bearer(admin.token))
          .set('Idempotency-Key', randomUUID())
          .send({ reason: 'Test money returned' })
          .expect(201);
      }
      expect([await stateOf(ownA), await stateOf(x)]).toMatchObject([{ balance: 0 }, { balance: 0 }]);
    });

    it('replays a deposit decided before its owner joined the staff; a new one takes an admin', async () => {
      const joiner = await verifiedCustomer(get(), admin, 'staff.joiner');
      const account = await openAccount(get(), joiner);
      const body = { account_id: account.id, amount: 300, currency: 'GBP', reason: 'Cash paid in at branch' };
      const key = randomUUID();
      const first = await postDeposit(get(), staffB, body, key).expect(201);
      await promote(get(), admin, joiner);
      // The ledger's answer to this very request stands: a retry is not refused as a new deposit would be.
      const again = await postDeposit(get(), staffB, body, key).expect(201);
      expect([again.body.id, again.headers['idempotent-replayed']]).toEqual([first.body.id, 'true']);
      const fresh = await postDeposit(get(), staffB, body);
      expect([fresh.status, fresh.body.code]).toEqual([403, 'colleague_account']);
      expect(await stateOf(account)).toMatchObject({ balance: 300 });
    });

    it('gives an overdraft to current accounts only (422 overdraft_not_allowed naming overdraft_limit)', async () => {
      const savings = await openAccount(get(), customer, 'GBP', 'savings');
      const refused = await setOverdraft(staffB, savings, 10_000).expect(422);
      expect(refused.body).toMatchObject({
        code: 'overdraft_not_allowed',
        details: [{ field: 'overdraft_limit' }],
      });
      expect(await stateOf(savings)).toMatchObject({ overdraft_limit: 0 });
      await setOverdraft(staffB, savings, 0).expect(200);
    });

    it('never lets concurrent requests of the owning staff member through', async () => {
      await freeze(admin, ownA, 'Frozen while the race runs').expect(200);
      // The owner's changes race each other and an admin's, on the same row: each is decided under its lock.
      const attempts = await Promise.all([
        ...Array.from({ length: 8 }, () => unfreeze(staffA, ownA)),
        ...Array.from({ length: 8 }, (_, i) => setOverdraft(staffA, ownA, 1_000_000 + i)),
        ...Array.from({ length: 4 }, (_, i) =>
          setOverdraft(admin, ownA, 100 + i, 'Admin change in the race'),
        ),
      ]);
      const mine = attempts.slice(0, 16);
      expect(mine.map((r) => [r.status, r.body.code])).toEqual(mine.map(() => [403, 'own_account']));
      expect(attempts.slice(16).map((r) => r.status)).toEqual([200, 200, 200, 200]);
      const after = await stateOf(ownA);
      expect(after.status).toBe('frozen');
      expect([100, 101, 102, 103]).toContain(after.overdraft_limit);
      expect(await reportedBy(staffA.id)).toEqual([]);
      await unfreeze(admin, ownA, 'Race over').expect(200);
    });

    it("lets a staff member lift only their own freeze; another's, or an admin's, takes an admin, and is audited", async () => {
      await freeze(staffA, x, 'Fraud alert from the card network').expect(200);
      const byB = await unfreeze(staffB, x);
      expect([byB.status, byB.body.code]).toEqual([403, 'frozen_by_other']);
      // Re-freezing would make B the freeze's author: refused too.
      const again = await freeze(staffB, x);
      expect([again.status, again.body.code]).toEqual([409, 'already_frozen']);
      expect((await stateOf(x)).status).toBe('frozen');
      await unfreeze(staffA, x, 'False alarm').expect(200);
      const notFrozen = await unfreeze(staffA, x);
      expect([notFrozen.status, notFrozen.body.code]).toEqual([409, 'not_frozen']);

      await freeze(staffA, x, 'Second alert').expect(200);
      const byAdmin = await unfreeze(admin, x, 'Customer verified by phone').expect(200);
      expect(byAdmin.body.status).toBe('active');
      const [entry] = await auditOf({ resource_id: x.id, action: 'account_unfrozen', actor_id: admin.id });
      expect(entry).toMatchObject({
        actor_id: admin.id,
        actor_role: 'admin',
        action: 'account_unfrozen',
        target_user_id: customer.id,
        resource_type: 'account',
        resource_id: x.id,
        before: { status: 'frozen', frozen_by: staffA.id },
        after: { status: 'active' },
        reason: 'Customer verified by phone',
      });

      // What an admin froze, only an admin lifts.
      await freeze(admin, x, 'Court order').expect(200);
      const byA = await unfreeze(staffA, x);
      expect([byA.status, byA.body.code]).toEqual([403, 'frozen_by_other']);
      expect((await stateOf(x)).status).toBe('frozen');
      await unfreeze(admin, x, 'Order lifted').expect(200);
    });

    it('lets an app instance from before freeze authors unfreeze during a rolling deploy; a stale author counts for nothing', async () => {
      const z = await openAccount(get(), customer, 'GBP', 'savings');
      await freeze(staffA, z, 'Alert before the deploy').expect(200);
      // What the previous release runs to unfreeze: it knows nothing of frozen_by and leaves it set.
      await db.query(
        `UPDATE transactions.ledger_accounts SET status = $2, version = version + 1, updated_at = clock_timestamp()
          WHERE id = $1 AND kind = 'customer' AND status <> 'closed'`,
        [z.id, 'active'],
      );
      expect((await stateOf(z)).status).toBe('active');
      const stale = await unfreeze(staffA, z);
      expect([stale.status, stale.body.code]).toEqual([409, 'not_frozen']);
      // A new freeze has its own author: the stale one lifts nothing.
      await freeze(staffB, z, 'Alert after the deploy').expect(200);
      const byA = await unfreeze(staffA, z);
      expect([byA.status, byA.body.code]).toEqual([403, 'frozen_by_other']);
      await unfreeze(staffB, z, 'Cleared').expect(200);
      const [lifted] = await auditOf({ resource_id: z.id, action: 'account_unfrozen', actor_id: staffB.id });
      expect(lifted).toMatchObject({ before: { status: 'frozen', frozen_by: staffB.id }, reason: 'Cleared' });
    });

    it('requires a plain-text reason that says something on freezes, unfreezes, overdraft changes, deposits and reversals', async () => {
      const none = await http().post(`/admin/accounts/${x.id}/freeze`).set(bearer(staffA.token)).send({});
      expect([none.status, none.body.details[0].field]).toEqual([400, 'reason']);
      const bidi = await freeze(staffA, x, 'Looks fine \u202Eevil');
      expect([bidi.status, bidi.body.details[0].field]).toEqual([400, 'reason']);
      // A reason that says nothing when read back: dots, accents over dots (blanks that render as nothing,
      // U+2800, are refused as plain text).
      for (const blank of ['...', '.\u0301.\u0300.\u0302']) {
        const res = await freeze(staffA, x, blank);
        expect([res.status, res.body.details[0]]).toEqual([
          400,
          { field: 'reason', message: 'reason must say why in at least three letters or digits' },
        ]);
      }
      // Accents over nothing are refused as plain text (a mark first) before that.
      const accents = await freeze(staffA, x, '\u0301\u0300\u0302');
      expect([accents.status, accents.body.details[0].field]).toEqual([400, 'reason']);
      expect(accents.body.details[0].message).toContain('nor start with or stack combining marks');
      const noReason = await http()
        .patch(`/admin/accounts/${x.id}`)
        .set(bearer(staffA.token))
        .send({ overdraft_limit: 100 });
      expect([noReason.status, noReason.body.details[0].field]).toEqual([400, 'reason']);
      const badReference = await postDeposit(get(), staffA, {
        account_id: x.id,
        amount: 100,
        currency: 'GBP',
        reason: 'Cash paid in',
        reference: 'Cash\u0007in',
      });
      expect([badReference.status, badReference.body.details[0].field]).toEqual([400, 'reference']);
      // The reference (what the customer reads) does not stand in for the reason.
      const noDepositReason = await postDeposit(get(), staffA, {
        account_id: x.id,
        amount: 100,
        currency: 'GBP',
        reference: 'Cash paid in',
      });
      expect([noDepositReason.status, noDepositReason.body.details[0].field]).toEqual([400, 'reason']);
      const badDepositReason = await postDeposit(get(), staffA, {
        account_id: x.id,
        amount: 100,
        currency: 'GBP',
        reason: 'Cash\u202Ein',
      });
      expect([badDepositReason.status, badDepositReason.body.details[0].field]).toEqual([400, 'reason']);
      expect(await stateOf(x)).toMatchObject({ status: 'active', overdraft_limit: 0, balance: 0 });
    });

    it('records deposits, reversals and overdraft changes with actor, target, resource, before, after and reason', async () => {
      await setOverdraft(staffB, x, 5000, 'Arranged overdraft, letter of 3 March').expect(200);
      const dep = await postDeposit(get(), staffA, {
        account_id: x.id,
        amount: 7000,
        currency: 'GBP',
        reason: 'Cash paid in at branch, receipt 20931',
        reference: 'Cash paid in at branch',
      }).expect(201);
      const payee = await verifiedCustomer(get(), admin, 'staff.payee');
      const y = await openAccount(get(), payee);
      const paid = await transfer(get(), customer, {
        from_account_id: x.id,
        to_account_id: y.id,
        amount: 2500,
        currency: 'GBP',
      }).expect(201);
      const rev = await http()
        .post(`/admin/transactions/${paid.body.id}/reverse`)
        .set(bearer(staffB.token))
        .set('Idempotency-Key', randomUUID())
        .send({ reason: 'Customer reported the payment as fraud' })
        .expect(201);

      // The event post_entry builds in SQL has exactly the fields of its type.
      const [event] = (
        await db.query(
          `SELECT payload FROM transactions.outbox WHERE name = 'staff_action.recorded' AND payload->>'resource_id' = $1`,
          [dep.body.id],
        )
      ).rows.map((r: { payload: StaffActionRecordedEvent }) => r.payload);
      const expected: StaffActionRecordedEvent = {
        event_id: event.event_id,
        occurred_at: dep.body.created_at,
        action: 'deposit_posted',
        actor_id: staffA.id,
        actor_role: 'staff',
        target_user_id: customer.id,
        resource_type: 'transaction',
        resource_id: dep.body.id,
        before: null,
        after: { account_id: x.id, amount: 7000, currency: 'GBP', reference: 'Cash paid in at branch' },
        reason: 'Cash paid in at branch, receipt 20931',
      };
      expect(event).toEqual(expected);

      const [limit] = await auditOf({ resource_id: x.id, action: 'overdraft_limit_changed' });
      expect(limit).toMatchObject({
        actor_id: staffB.id,
        actor_role: 'staff',
        target_user_id: customer.id,
        resource_type: 'account',
        before: { overdraft_limit: 0 },
        after: { overdraft_limit: 5000 },
        reason: 'Arranged overdraft, letter of 3 March',
      });
      const [deposited] = await auditOf({ resource_id: dep.body.id });
      expect(deposited).toEqual({
        id: event.event_id,
        actor_id: staffA.id,
        actor_role: 'staff',
        action: 'deposit_posted',
        target_user_id: customer.id,
        resource_type: 'transaction',
        resource_id: dep.body.id,
        before: null,
        after: { account_id: x.id, amount: 7000, currency: 'GBP', reference: 'Cash paid in at branch' },
        reason: 'Cash paid in at branch, receipt 20931',
        details: {},
        created_at: dep.body.created_at,
      });
      const [reversed] = await auditOf({ resource_id: paid.body.id });
      expect(reversed).toMatchObject({
        actor_id: staffB.id,
        action: 'transaction_reversed',
        // The customer the money is taken back from.
        target_user_id: payee.id,
        resource_type: 'transaction',
        before: { status: 'posted' },
        // Both sides named: taken back from the payee's account, given back to the customer's.
        after: {
          status: 'reversed',
          reversed_by_id: rev.body.id,
          amount: 2500,
          currency: 'GBP',
          reference: `Reversal of ${paid.body.id}`,
          from_account_id: y.id,
          to_account_id: x.id,
          to_owner_id: customer.id,
        },
        reason: 'Customer reported the payment as fraud',
      });
      const [frozen] = await auditOf({ resource_id: x.id, action: 'account_frozen', actor_id: staffA.id }, 2);
      expect(frozen).toMatchObject({
        target_user_id: customer.id,
        before: { status: 'active' },
        after: { status: 'frozen' },
        reason: 'Second alert', // newest first
      });

      // Filters combine; each answers only what it names.
      // (The actor's reads, among them the account each freeze answered with, are filed at once; their
      // actions arrive as events: waited for by name.)
      await auditOf({ actor_id: staffA.id, action: 'deposit_posted' });
      await auditOf({ actor_id: staffA.id, action: 'account_unfrozen' });
      const byActor = await auditOf({ actor_id: staffA.id }, 4);
      expect(new Set(byActor.map((e) => e.actor_id))).toEqual(new Set([staffA.id]));
      expect(byActor.map((e) => e.action)).toEqual(
        expect.arrayContaining(['account_frozen', 'account_unfrozen', 'deposit_posted']),
      );
      const byTarget = await auditOf({ target_user_id: customer.id, action: 'deposit_posted' });
      expect(byTarget.map((e) => e.resource_id)).toEqual([dep.body.id]);
      const bad = await http()
        .get('/admin/audit')
        .query({ action: 'coffee_made', actor_id: 'me' })
        .set(bearer(admin.token))
        .expect(400);
      expect(bad.body.details.map((d: { field: string }) => d.field).sort()).toEqual(['action', 'actor_id']);
      // The trail is the oversight of staff: staff do not read it.
      await http().get('/admin/audit').set(bearer(staffA.token)).expect(403);
    });

    it('files deposits made at once in the audit trail in batches, each once, and a redelivered batch adds nothing', async () => {
      const n = 30;
      const deposits = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          postDeposit(get(), staffA, {
            account_id: x.id,
            amount: 100 + i,
            currency: 'GBP',
            reason: `Cash paid in at branch, receipt ${i}`,
          }).expect(201),
        ),
      );
      const ids = deposits.map((d) => d.body.id as string);
      const filed = async () =>
        (
          await db.query(
            `SELECT resource_id, after->>'amount' AS amount, reason, xmin::text AS tx
               FROM users.audit_log WHERE action = 'deposit_posted' AND resource_id = ANY($1::uuid[])`,
            [ids],
          )
        ).rows as { resource_id: string; amount: string; reason: string; tx: string }[];
      const rows = await eventually(
        async () => {
          const r = await filed();
          return r.length === n ? r : undefined;
        },
        15000,
        `${n} deposits filed`,
      );
      const entry = (r: { resource_id: string; amount: string; reason: string }) => [
        r.resource_id,
        Number(r.amount),
        r.reason,
      ];
      expect(rows.map(entry).sort()).toEqual(
        deposits.map((d, i) => [d.body.id, 100 + i, `Cash paid in at branch, receipt ${i}`]).sort(),
      );
      // Events that arrived together were filed together: one transaction (one insert) for several
      // entries, where one at a time gave each its own.
      expect(new Set(rows.map((r) => r.tx)).size).toBeLessThan(n);

      // The same events (same ids and payloads) in new outbox rows, as a relay that crashed between
      // publishing and marking them sent would send them again: counted as duplicates, nothing filed.
      const duplicates = () => inboxDuplicates(get(), 'users', 'StaffActionsAudit.onRecorded');
      const seen = await duplicates();
      const copies = await db.query(
        `INSERT INTO transactions.outbox (id, name, payload, headers)
         SELECT gen_random_uuid(), name, payload, headers FROM transactions.outbox
          WHERE name = 'staff_action.recorded' AND payload->>'resource_id' = ANY($1::text[])`,
        [ids],
      );
      expect(copies.rowCount).toBe(n);
      await eventually(
        async () => ((await duplicates()) >= seen + n ? true : undefined),
        15000,
        'the copies to reach the audit trail',
      );
      // Each copy was found in the inbox (the entries' ids alone would also keep them out of the trail).
      expect(await duplicates()).toBe(seen + n);
      expect((await filed()).map(entry).sort()).toEqual(rows.map(entry).sort());
    });

    it("keeps a deposit's and a reversal's reason in the audit trail only: customers read the reference", async () => {
      // Staff write why they act (an investigation, say) where only the audit trail keeps it; what the
      // customers read (history, statement, notifications) is the reference, or a neutral default.
      const payer = await verifiedCustomer(get(), admin, 'staff.reason.payer');
      const payee = await verifiedCustomer(get(), admin, 'staff.reason.payee');
      const from = await openAccount(get(), payer);
      const to = await openAccount(get(), payee);
      const reasons = {
        deposit: 'Source of funds under review, case AML-4471',
        bare: 'Branch cash, investigation AML-4472 pending',
        reversal: 'Fraud investigation: payee suspected money mule',
        referenced: 'Fraud investigation AML-4473: recall requested by the payer',
      };
      const post = (path: string, body: Record<string, unknown>) =>
        http().post(path).set(bearer(staffA.token)).set('Idempotency-Key', randomUUID()).send(body);
      const dep = await post('/admin/deposits', {
        account_id: from.id,
        amount: 5000,
        currency: 'GBP',
        reason: reasons.deposit,
        reference: 'Cash paid in at branch',
      }).expect(201);
      expect(dep.body.reference).toBe('Cash paid in at branch');
      const bare = await post('/admin/deposits', {
        account_id: from.id,
        amount: 100,
        currency: 'GBP',
        reason: reasons.bare,
      }).expect(201);
      expect(bare.body.reference).toBeNull();
      const pay = (amount: number) =>
        transfer(get(), payer, {
          from_account_id: from.id,
          to_account_id: to.id,
          amount,
          currency: 'GBP',
        }).expect(201);
      const [first, second] = [await pay(700), await pay(300)];
      const rev = await post(`/admin/transactions/${first.body.id}/reverse`, {
        reason: reasons.reversal,
      }).expect(201);
      expect(rev.body.reference).toBe(`Reversal of ${first.body.id}`);
      const revRef = await post(`/admin/transactions/${second.body.id}/reverse`, {
        reason: reasons.referenced,
        reference: 'Payment recalled',
      }).expect(201);
      expect(revRef.body.reference).toBe('Payment recalled');

      // The audit trail has each reason, and the reference the customers were shown.
      const audited = await Promise.all(
        [dep.body.id, bare.body.id, first.body.id, second.body.id].map(
          async (id) => (await auditOf({ resource_id: id }))[0],
        ),
      );
      expect(audited.map((e) => [e.action, e.reason, e.after?.reference])).toEqual([
        ['deposit_posted', reasons.deposit, 'Cash paid in at branch'],
        ['deposit_posted', reasons.bare, null],
        ['transaction_reversed', reasons.reversal, `Reversal of ${first.body.id}`],
        ['transaction_reversed', reasons.referenced, 'Payment recalled'],
      ]);

      // Nothing either customer can read holds a reason.
      const entryIds = [dep.body.id, bare.body.id, rev.body.id, revRef.body.id];
      const notified = (c: Actor, ids: string[]) =>
        eventually(
          async () => {
            const list = await http()
              .get('/notifications')
              .query({ limit: 100 })
              .set(bearer(c.token))
              .expect(200);
            const data = list.body.data as { data: { transaction_id?: string } }[];
            return ids.every((id) => data.some((n) => n.data.transaction_id === id)) ? list.body : undefined;
          },
          15000,
          'the notifications of the deposits and reversals',
        );
      const seen: unknown[] = [
        await notified(payer, entryIds),
        await notified(payee, [rev.body.id, revRef.body.id]),
      ];
      for (const [c, account] of [
        [payer, from],
        [payee, to],
      ] as const) {
        seen.push(
          (
            await http()
              .get('/transactions')
              .query({ account_id: account.id })
              .set(bearer(c.token))
              .expect(200)
          ).body,
        );
        const readable = c === payer ? entryIds : [rev.body.id, revRef.body.id];
        for (const id of readable)
          seen.push((await http().get(`/transactions/${id}`).set(bearer(c.token)).expect(200)).body);
        const statement = `/accounts/${account.id}/statement?from=${new Date(Date.now() - 86_400_000).toISOString()}`;
        seen.push((await http().get(statement).set(bearer(c.token)).expect(200)).body);
        seen.push(
          (await http().get(statement).set(bearer(c.token)).set('Accept', 'text/csv').expect(200)).text,
        );
      }
      const shown = JSON.stringify(seen);
      expect(shown).toContain('Cash paid in at branch');
      expect(shown).toContain('Payment recalled');
      expect(shown).toContain(`Reversal of ${first.body.id}`);
      for (const reason of Object.values(reasons)) expect(shown).not.toContain(reason);
    });

    it('requires a reason (audit only) on deposits and reversals, and takes an optional reference of at most 140 characters', async () => {
      const payee = await verifiedCustomer(get(), admin, 'staff.reason.rules');
      const to = await openAccount(get(), payee);
      const post = (path: string, body: Record<string, unknown>) =>
        http().post(path).set(bearer(staffA.token)).set('Idempotency-Key', randomUUID()).send(body);
      const deposit = (extra: Record<string, unknown>) =>
        post('/admin/deposits', { account_id: to.id, amount: 100, currency: 'GBP', ...extra });
      const field = (res: request.Response) => [res.status, res.body.details?.[0]?.field];
      expect(field(await deposit({ reference: 'Cash paid in' }))).toEqual([400, 'reason']);
      expect(field(await deposit({ reason: 'ok' }))).toEqual([400, 'reason']);
      expect(field(await deposit({ reason: 'x'.repeat(501) }))).toEqual([400, 'reason']);
      expect(field(await deposit({ reason: 'Cash paid in', reference: 'x'.repeat(141) }))).toEqual([
        400,
        'reference',
      ]);
      expect(field(await deposit({ reason: 'Cash paid in', reference: '' }))).toEqual([400, 'reference']);
      expect((await stateOf(to)).balance).toBe(0);
      const paid = await deposit({ reason: 'r'.repeat(500), reference: 'x'.repeat(140) }).expect(201);
      expect(paid.body.reference).toBe('x'.repeat(140));

      const path = `/admin/transactions/${paid.body.id}/reverse`;
      expect(field(await post(path, { reference: 'Refund' }))).toEqual([400, 'reason']);
      expect(field(await post(path, { reason: 'Sent in error', reference: 'x'.repeat(141) }))).toEqual([
        400,
        'reference',
      ]);
      expect((await stateOf(to)).balance).toBe(100);
      await post(path, { reason: 'r'.repeat(500) }).expect(201);
      expect((await stateOf(to)).balance).toBe(0);
    });

    it('records role changes and KYC decisions in the same shape', async () => {
      const c = await newCustomer(get(), 'staff.roles');
      await http()
        .patch(`/admin/users/${c.id}`)
        .set(bearer(admin.token))
        .send({ role: 'staff', reason: 'Test: staff change' })
        .expect(200);
      const [changed] = await auditOf({ target_user_id: c.id, action: 'role_changed' });
      expect(changed).toMatchObject({
        actor_id: admin.id,
        actor_role: 'admin',
        resource_type: 'user',
        resource_id: c.id,
        before: { role: 'customer' },
        after: { role: 'staff' },
        details: { from: 'customer', to: 'staff' },
      });
    });
  });

  describe('staff actions and changes of their actor or owner, one after the other (StaffGate)', () => {
    let holder: Client;
    let redis: Redis;

    beforeAll(async () => {
      holder = await get().t.db();
      redis = await get().t.redis();
    });

    /** Holds `account`'s ledger row (the freeze's row lock) until the returned function lets go. */
    const holdLedgerRow = async (account: Account) => {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM transactions.ledger_accounts WHERE id = $1 FOR UPDATE', [account.id]);
      return () => holder.query('ROLLBACK');
    };
    /** Holds `user`'s row in users (a role change's lock) until the returned function lets go. */
    const holdUserRow = async (user: Actor) => {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM users.users WHERE id = $1 FOR UPDATE', [user.id]);
      return () => holder.query('ROLLBACK');
    };
    const changeRole = (user: Actor, role: string) =>
      http()
        .patch(`/admin/users/${user.id}`)
        .set(bearer(admin.token))
        .send({ role, reason: 'Test: moved to another team' });
    const statusInLedger = async (account: Account) =>
      (
        await db.query<{ status: string }>(`SELECT status FROM transactions.ledger_accounts WHERE id = $1`, [
          account.id,
        ])
      ).rows[0].status;
    const waitingFor = (what: string, like: string) => lockWaiters(db, 1, like, what);
    /**
     * Until a change of `user` is under way (its mark is in Redis) while a staff action of or on them is
     * recorded as under way: the change then waits for it (StaffGate).
     */
    const changeWaiting = (user: Actor, what: string) =>
      eventually(
        async () => {
          const prefix = get().t.env.REDIS_KEY_PREFIX;
          const [marked, active] = await Promise.all([
            redis.exists(prefix + changingKey(user.id)),
            redis.zcard(prefix + activeKey(user.id)),
          ]);
          return marked === 1 && active > 0 ? true : undefined;
        },
        15000,
        what,
      );
    /** The accounts app's count of staff actions that waited for a change (staff_gate_waits_total). */
    const gateWaits = async () =>
      metricValue(
        await scrapeMetrics(get().t, get().kind === 'split' ? get().services.accounts : get().baseUrl),
        'staff_gate_waits_total',
        { reason: 'change' },
      );
    /** Until the accounts app counts one more staff action waiting for a change than `before`. */
    const actionWaiting = (before: number, what: string) =>
      eventually(async () => ((await gateWaits()) > before ? true : undefined), 15000, what);
    /** A customer with an account, and a staff member (promoted for this test). */
    const cast = async (label: string) => {
      const customer = await verifiedCustomer(get(), admin, `${label}.c`);
      const account = await openAccount(get(), customer);
      const staff = await promote(get(), admin, await newCustomer(get(), `${label}.s`));
      return { customer, account, staff };
    };

    it("lets a freeze under way finish before its actor's demotion answers; the demotion waits for it", async () => {
      const { account, staff } = await cast('gate.first');
      const release = await holdLedgerRow(account);
      try {
        const frozen = freeze(staff, account).then((r) => r);
        await waitingFor('the freeze to wait on the held row', '%ledger_accounts%FOR UPDATE%');
        const demoted = changeRole(staff, 'customer').then(async (r) => ({
          res: r,
          statusWhenAnswered: await statusInLedger(account),
        }));
        await changeWaiting(staff, 'the demotion to wait for the freeze under way');
        await release();
        expect((await frozen).status).toBe(200);
        const { res, statusWhenAnswered } = await demoted;
        expect(res.status).toBe(200);
        // The freeze committed before the demotion began: it was already there when the demotion answered.
        expect(statusWhenAnswered).toBe('frozen');
      } finally {
        await release();
      }
      const [entry] = await auditOf({ resource_id: account.id, action: 'account_frozen' });
      expect(entry).toMatchObject({ actor_id: staff.id, actor_role: 'staff' });
    });

    it('refuses a freeze sent while its actor is being demoted (401 session_ended), freezing nothing', async () => {
      const { account, staff } = await cast('gate.second');
      const release = await holdUserRow(staff);
      try {
        const demoted = changeRole(staff, 'customer').then((r) => r);
        await waitingFor('the demotion to wait on the held user row', '%users%');
        const before = await gateWaits();
        const frozen = freeze(staff, account).then((r) => r);
        await actionWaiting(before, 'the freeze to wait for the demotion under way');
        await release();
        expect((await demoted).status).toBe(200);
        const res = await frozen;
        expect([res.status, res.body.code]).toEqual([401, 'session_ended']);
      } finally {
        await release();
      }
      expect(await statusInLedger(account)).toBe('active');
      expect(await reportedBy(staff.id)).toEqual([]);
    });

    it("refuses a staff member's freeze of a customer being made staff (403 colleague_account); one under way lands first", async () => {
      const { account, customer, staff } = await cast('gate.owner');
      // Made staff while a freeze of theirs waits for the row: the freeze was decided first, and lands first.
      let release = await holdLedgerRow(account);
      try {
        const frozen = freeze(staff, account).then((r) => r);
        await waitingFor('the freeze to wait on the held row', '%ledger_accounts%FOR UPDATE%');
        const promoted = changeRole(customer, 'staff').then(async (r) => ({
          res: r,
          statusWhenAnswered: await statusInLedger(account),
        }));
        await changeWaiting(customer, "the promotion to wait for the freeze of the customer's account");
        await release();
        expect((await frozen).status).toBe(200);
        const { res, statusWhenAnswered } = await promoted;
        expect(res.status).toBe(200);
        expect(statusWhenAnswered).toBe('frozen');
      } finally {
        await release();
      }
      // Back to a customer; an unfreeze sent while they are made staff again waits, then finds a colleague.
      await changeRole(customer, 'customer').expect(200);
      release = await holdUserRow(customer);
      try {
        const promoted = changeRole(customer, 'staff').then((r) => r);
        await waitingFor('the promotion to wait on the held user row', '%users%');
        const before = await gateWaits();
        const lifted = unfreeze(staff, account).then((r) => r);
        await actionWaiting(before, 'the unfreeze to wait for the promotion under way');
        await release();
        expect((await promoted).status).toBe(200);
        const res = await lifted;
        expect([res.status, res.body.code]).toEqual([403, 'colleague_account']);
      } finally {
        await release();
      }
      expect(await statusInLedger(account)).toBe('frozen');
    });

    it('refuses a run-due waiting behind a sweep under way once its actor is demoted (401), sweeping and auditing nothing', async () => {
      const { staff } = await cast('gate.sweep');
      const sweepsAudited = async () =>
        (
          await db.query(
            `SELECT count(*)::int AS n FROM payments.outbox
              WHERE name = 'staff_action.recorded' AND payload->>'actor_id' = $1`,
            [staff.id],
          )
        ).rows[0].n as number;
      // The sweep's advisory lock, held as a long sweep would hold it: the run-due tries for it every 200 ms,
      // each try holding its actor's gate (helper-104: it used to wait holding nothing, then run and be
      // audited after the demotion had answered).
      await holder.query('SELECT pg_advisory_lock($1)', [0x7061_7973]);
      try {
        const run = http()
          .post('/admin/payments/run-due')
          .set(bearer(staff.token))
          .send({})
          .then((r) => r);
        const key = get().t.env.REDIS_KEY_PREFIX + activeKey(staff.id);
        const deadline = Date.now() + 15000;
        while ((await redis.zcard(key)) === 0) {
          if (Date.now() > deadline) throw new Error("timed out waiting for the run-due's first try");
          await new Promise((r) => setTimeout(r, 2));
        }
        await changeRole(staff, 'customer').expect(200);
        // Its next try finds the session ended, the lock still held.
        const res = await run;
        expect([res.status, res.body.code]).toEqual([401, 'session_ended']);
      } finally {
        await holder.query('SELECT pg_advisory_unlock($1)', [0x7061_7973]);
      }
      expect(await sweepsAudited()).toBe(0);
    });

    it("never lets a staff action under way hold off its actor's demotion more than 5 s, and logs it when it goes ahead", async () => {
      const { customer, account, staff } = await cast('gate.slow');
      const card = (await issueCard(get(), customer, account)).id;
      // A card block waits on its row in the cards app's own transaction (no call with a deadline after it).
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM cards.cards WHERE id = $1 FOR UPDATE', [card]);
      let blocked: Promise<request.Response> | undefined;
      try {
        blocked = http()
          .post(`/admin/cards/${card}/block`)
          .set(bearer(staff.token))
          .send({ reason: 'Reported stolen by phone' })
          .then((r) => r);
        await waitingFor('the block to wait on the held card', '%cards.cards%FOR UPDATE%');
        // The row stays held: the demotion goes ahead once it has waited 5 s, and answers.
        const demoted = await changeRole(staff, 'customer');
        expect(demoted.status).toBe(200);
        const late = await freeze(staff, account);
        expect([late.status, late.body.code]).toEqual([401, 'session_ended']);
      } finally {
        await holder.query('ROLLBACK');
      }
      // The one already under way was authorised before the change began and lands (docs/security.md).
      expect((await blocked!).status).toBe(200);
      expect(await statusInLedger(account)).toBe('active');
      const logged = await eventually(
        async () =>
          readdirSync(get().t.logDir)
            .filter((f) => f.endsWith('.log'))
            .flatMap((f) => readFileSync(join(get().t.logDir, f), 'utf8').split('\n'))
            .find((line) => line.includes('"staff_gate_timeout"') && line.includes(staff.id)),
        15000,
        'the staff_gate_timeout security event',
      );
      expect(JSON.parse(logged)).toMatchObject({ security_event: 'staff_gate_timeout', user_id: staff.id });
    });
  });

  describe('identity documents', () => {
    const submit = (c: Actor, number: string, extra: Record<string, string> = {}) =>
      http()
        .post('/users/me/kyc')
        .set(bearer(c.token))
        .send({
          document_type: 'passport',
          document_number: number,
          country: 'GB',
          date_of_birth: '1990-04-12',
          ...extra,
        });
    /** Each decision (path and body) refused to `who` with 403 own_kyc. */
    const refusedAsOwn = async (who: Actor, decisions: readonly (readonly [string, object])[]) => {
      for (const [path, body] of decisions) {
        const res = await http().post(path).set(bearer(who.token)).send(body);
        expect({ path, status: res.status, code: res.body.code }).toEqual({
          path,
          status: 403,
          code: 'own_kyc',
        });
      }
    };
    /** Every row of the KYC review queue `who` sees with `status`, all pages. */
    const queueRows = async (who: Actor, status: string) => {
      const rows: { user_id: string }[] = [];
      let cursor: string | null = null;
      do {
        const page: request.Response = await http()
          .get('/admin/kyc')
          .query({ status, limit: 100, ...(cursor ? { cursor } : {}) })
          .set(bearer(who.token))
          .expect(200);
        rows.push(...(page.body.data as { user_id: string }[]));
        cursor = page.body.next_cursor;
      } while (cursor);
      return rows;
    };
    /** Every user id in the KYC review queue `who` sees with `status`. */
    const queueOf = async (who: Actor, status: string) =>
      (await queueRows(who, status)).map((k) => k.user_id);
    /** The queue's row of `userId` as `who` sees it. */
    const queueRowOf = async (who: Actor, status: string, userId: string) =>
      (await queueRows(who, status)).find((k) => k.user_id === userId);
    const detail = async (c: Actor) =>
      (await http().get(`/admin/kyc/${c.id}`).set(bearer(admin.token)).expect(200)).body as {
        status: string;
        duplicate_document: boolean;
        duplicate_user_ids: string[];
        duplicates: { user_id: string; document_type: string; country: string; status: string }[];
        document_number_masked: string;
      };
    const fullWidth = (s: string) =>
      [...s].map((ch) => String.fromCharCode(ch.charCodeAt(0) + 0xfee0)).join('');

    it('flags the same passport in any case and spacing, refuses its approval, and lets an admin override with a reason (only an admin, and only a duplicate keeps its reason)', async () => {
      const number = newPassportNumber(); // e.g. P012345678
      const spaced = `${number.slice(0, 1).toLowerCase()} ${number.slice(1, 4)}-${number.slice(4, 7)} ${number.slice(7)}`;
      const [c1, c2, c3] = await Promise.all(['dup.1', 'dup.2', 'dup.3'].map((t) => newCustomer(get(), t)));
      const bodies: unknown[] = [];
      bodies.push((await submit(c1, number).expect(201)).body);
      bodies.push((await submit(c2, spaced).expect(201)).body);
      bodies.push((await submit(c3, fullWidth(number.toLowerCase())).expect(201)).body);
      // The customer is never told the document is on file elsewhere.
      expect(bodies.map((b) => (b as { status: string }).status)).toEqual(Array(3).fill('pending'));

      const ids = (...actors: Actor[]) => actors.map((a) => a.id).sort();
      expect(await detail(c1)).toMatchObject({
        duplicate_document: true,
        duplicate_user_ids: ids(c2, c3),
        document_number_masked: `******${number.slice(-3)}`,
      });
      expect((await detail(c2)).duplicate_user_ids).toEqual(ids(c1, c3));
      // The review queue shows the flag too.
      let listed: { user_id: string; duplicate_document: boolean; duplicate_user_ids: string[] } | undefined;
      let cursor: string | null = null;
      const pages: unknown[] = [];
      do {
        const page: request.Response = await http()
          .get('/admin/kyc')
          .query({ status: 'pending', limit: 100, ...(cursor ? { cursor } : {}) })
          .set(bearer(admin.token))
          .expect(200);
        pages.push(page.body);
        listed = (page.body.data as NonNullable<typeof listed>[]).find((k) => k.user_id === c3.id);
        cursor = page.body.next_cursor;
      } while (!listed && cursor);
      expect(listed).toMatchObject({ duplicate_document: true, duplicate_user_ids: ids(c1, c2) });

      const staff = await promote(get(), admin, await newCustomer(get(), 'dup.staff'));
      const refused = await http()
        .post(`/admin/kyc/${c1.id}/approve`)
        .set(bearer(staff.token))
        .send(await asReviewed(http(), staff.token, c1.id))
        .expect(409);
      expect(refused.body.code).toBe('duplicate_document');
      const byAdmin = await http()
        .post(`/admin/kyc/${c1.id}/approve`)
        .set(bearer(admin.token))
        .send(await asReviewed(http(), admin.token, c1.id))
        .expect(409);
      expect(byAdmin.body.code).toBe('duplicate_document');
      const staffOverride = await http()
        .post(`/admin/kyc/${c1.id}/approve`)
        .set(bearer(staff.token))
        .send(await asReviewed(http(), staff.token, c1.id))
        .send({ override_duplicate: true, override_reason: 'I checked it' });
      expect(staffOverride.status).toBe(403);
      const noReason = await http()
        .post(`/admin/kyc/${c1.id}/approve`)
        .set(bearer(admin.token))
        .send(await asReviewed(http(), admin.token, c1.id))
        .send({ override_duplicate: true })
        .expect(400);
      expect(noReason.body.details[0].field).toBe('override_reason');
      const reasonOnly = await http()
        .post(`/admin/kyc/${c1.id}/approve`)
        .set(bearer(admin.token))
        .send(await asReviewed(http(), admin.token, c1.id))
        .send({ override_reason: 'Why not' })
        .expect(400);
      expect(reasonOnly.body.details[0].field).toBe('override_duplicate');
      await http()
        .get(`/users/me/kyc`)
        .set(bearer(c1.token))
        .expect(200, {
          ...(bodies[0] as object),
        });
      // An override is an admin's even where nothing is duplicated, and one that overrode nothing leaves
      // no reason in the trail (a staff member's text would read as an admin's override).
      const plain = await newCustomer(get(), 'dup.plain');
      await submitKyc(get(), plain);
      const plainOverride = { override_duplicate: true, override_reason: 'Override authorised by admin' };
      const byStaff = await http()
        .post(`/admin/kyc/${plain.id}/approve`)
        .set(bearer(staff.token))
        .send({ ...(await asReviewed(http(), staff.token, plain.id)), ...plainOverride })
        .expect(403);
      expect(byStaff.body.code).toBe('forbidden');
      expect((await http().get('/users/me/kyc').set(bearer(plain.token)).expect(200)).body.status).toBe(
        'pending',
      );
      await http()
        .post(`/admin/kyc/${plain.id}/approve`)
        .set(bearer(admin.token))
        .send({ ...(await asReviewed(http(), admin.token, plain.id)), ...plainOverride })
        .expect(200);
      const [plainApproval] = await auditOf({ target_user_id: plain.id, action: 'kyc_approved' });
      expect(plainApproval).toMatchObject({ actor_id: admin.id, reason: null });

      // Rejecting an impostor clears them from the others' flags.
      await http()
        .post(`/admin/kyc/${c3.id}/reject`)
        .set(bearer(staff.token))
        .send(await asReviewed(http(), staff.token, c3.id))
        .send({ reason_code: 'not_verified', reason: 'Document belongs to someone else' })
        .expect(200);
      expect((await detail(c1)).duplicate_user_ids).toEqual([c2.id]);
      const approved = await http()
        .post(`/admin/kyc/${c1.id}/approve`)
        .set(bearer(admin.token))
        .send(await asReviewed(http(), admin.token, c1.id))
        .send({ override_duplicate: true, override_reason: 'Twins share a passport scan; checked in branch' })
        .expect(200);
      expect(approved.body).toMatchObject({ status: 'verified', duplicate_document: true });
      const [audited] = await auditOf({ target_user_id: c1.id, action: 'kyc_approved' });
      expect(audited).toMatchObject({
        actor_id: admin.id,
        resource_type: 'kyc',
        resource_id: c1.id,
        before: { status: 'pending' },
        after: { status: 'verified' },
        reason: 'Twins share a passport scan; checked in branch',
        details: {
          duplicate_document: true,
          duplicate_user_ids: [c2.id],
        },
      });
      // Each holder exactly as shown, nothing more (no internal field).
      expect(audited.details.duplicates).toEqual([
        { user_id: c2.id, document_type: 'passport', country: 'GB', status: 'pending' },
      ]);
      // The verified one now blocks the other.
      const second = await http()
        .post(`/admin/kyc/${c2.id}/approve`)
        .set(bearer(admin.token))
        .send(await asReviewed(http(), admin.token, c2.id))
        .expect(409);
      expect(second.body.code).toBe('duplicate_document');

      // The number is in no response and no log line, in any of its spellings.
      const seen = JSON.stringify([bodies, pages, approved.body, refused.body, second.body, audited]);
      const logs = readdirSync(get().t.logDir)
        .filter((f) => f.endsWith('.log'))
        .map((f) => readFileSync(join(get().t.logDir, f), 'utf8'))
        .join('\n');
      expect(logs.length).toBeGreaterThan(0);
      for (const spelling of [number, spaced, fullWidth(number.toLowerCase())]) {
        expect(seen).not.toContain(spelling);
        expect(logs).not.toContain(spelling);
      }
    });

    it("leaves a colleague's KYC to an admin (403 colleague_account, not in staff's queue nor named as a duplicate), each refusal logged as a security event", async () => {
      const [a, b, c, d] = await Promise.all(
        ['kyc.coll.a', 'kyc.coll.b', 'kyc.coll.c', 'kyc.coll.d'].map((t) => newCustomer(get(), t)),
      );
      const reviewer = await promote(get(), admin, a);
      const colleague = await promote(get(), admin, b);
      const unsubmitted = await promote(get(), admin, d);
      // A customer submits the colleague's document number.
      const number = newPassportNumber();
      await submit(colleague, number).expect(201);
      await submit(c, number).expect(201);
      // The queue shows staff their customers' submissions only; an admin sees the colleague's too.
      const staffQueue = await queueOf(reviewer, 'pending');
      expect(staffQueue).toContain(c.id);
      expect(staffQueue).not.toContain(colleague.id);
      expect(await queueOf(admin, 'pending')).toEqual(expect.arrayContaining([c.id, colleague.id]));
      // The customer's submission is a duplicate to staff too, without the colleague named; an admin's
      // view names them.
      const seenByStaff = await http().get(`/admin/kyc/${c.id}`).set(bearer(reviewer.token)).expect(200);
      expect(seenByStaff.body).toMatchObject({
        duplicate_document: true,
        duplicate_user_ids: [],
        duplicates: [],
      });
      expect(await queueRowOf(reviewer, 'pending', c.id)).toMatchObject({
        duplicate_document: true,
        duplicate_user_ids: [],
        duplicates: [],
      });
      expect((await detail(c)).duplicate_user_ids).toEqual([colleague.id]);
      const approval = await http()
        .post(`/admin/kyc/${c.id}/approve`)
        .set(bearer(reviewer.token))
        .send(await asReviewed(http(), reviewer.token, c.id))
        .expect(409);
      expect(approval.body.code).toBe('duplicate_document');
      const refused = [
        // A colleague with no submission is refused as one with: a 404 would say which have none.
        await http().get(`/admin/kyc/${unsubmitted.id}`).set(bearer(reviewer.token)),
        await http().get(`/admin/kyc/${colleague.id}`).set(bearer(reviewer.token)),
        await http()
          .post(`/admin/kyc/${colleague.id}/approve`)
          .set(bearer(reviewer.token))
          .send({ submitted_at: UNREAD_SUBMISSION }),
        await http().post(`/admin/kyc/${colleague.id}/reject`).set(bearer(reviewer.token)).send({
          submitted_at: UNREAD_SUBMISSION,
          reason_code: 'document_unreadable',
          reason: 'Photo unreadable',
        }),
      ];
      expect(refused.map((r) => [r.status, r.body.code])).toEqual(Array(4).fill([403, 'colleague_account']));
      expect((await detail(colleague)).status).toBe('pending');
      expect((await detail(c)).status).toBe('pending');
      // An admin decides it (a duplicate of the customer's, so with an override).
      await http()
        .post(`/admin/kyc/${colleague.id}/approve`)
        .set(bearer(admin.token))
        .send({
          ...(await asReviewed(http(), admin.token, colleague.id)),
          override_duplicate: true,
          override_reason: "The customer submitted a colleague's passport number; reviewed separately",
        })
        .expect(200);
      // Each refusal is a warning naming the security event, the actor and the path (an insider's probing).
      const logged = await eventually(
        async () => {
          const lines = readdirSync(get().t.logDir)
            .filter((f) => f.endsWith('.log'))
            .flatMap((f) => readFileSync(join(get().t.logDir, f), 'utf8').split('\n'))
            .filter((l) => l.includes('"security_event":"colleague_account"') && l.includes(reviewer.id));
          return lines.length >= 4 ? lines : undefined;
        },
        10_000,
        'the four refusals to be logged',
      );
      expect(logged.map((l) => JSON.parse(l).path).sort()).toEqual(
        [
          `/admin/kyc/${unsubmitted.id}`,
          `/admin/kyc/${colleague.id}`,
          `/admin/kyc/${colleague.id}/approve`,
          `/admin/kyc/${colleague.id}/reject`,
        ].sort(),
      );
    });

    it('keeps staff off their own KYC and a document on file for them, whatever the case of the id they send', async () => {
      // Postgres matches a uuid in any case; checks made in TypeScript compare strings. An id sent in upper
      // case used to pass the database and slip past them: a staff member approved their own KYC.
      const staff = await promote(get(), admin, await newCustomer(get(), 'own.kyc.staff'));
      await submit(staff, newPassportNumber()).expect(201);
      const counted = () => securityEventsCounted(get(), 'users', 'own_kyc_refused');
      const countedBefore = await counted();
      for (const id of [staff.id, staff.id.toUpperCase()]) {
        await refusedAsOwn(staff, [
          [`/admin/kyc/${id}/approve`, { submitted_at: UNREAD_SUBMISSION }],
          [
            `/admin/kyc/${id}/reject`,
            {
              submitted_at: UNREAD_SUBMISSION,
              reason_code: 'document_unreadable',
              reason: 'Not my best photo',
            },
          ],
        ]);
        // Nor read it: its duplicates would say who else holds a number they typed in.
        const read = await http().get(`/admin/kyc/${id}`).set(bearer(staff.token));
        expect([read.status, read.body.code]).toEqual([403, 'own_kyc']);
      }
      // Each refusal is a security event the insider alert counts (StaffProbingColleagues).
      expect((await counted()) - countedBefore).toBe(6);
      expect(await queueOf(staff, 'pending')).not.toContain(staff.id);
      expect((await detail(staff)).duplicate_document).toBe(false);

      // The duplicate check holds for an id in upper case too.
      const number = newPassportNumber();
      const [holder, copy] = await Promise.all(['own.kyc.h', 'own.kyc.c'].map((t) => newCustomer(get(), t)));
      await submit(holder, number).expect(201);
      await http()
        .post(`/admin/kyc/${holder.id}/approve`)
        .set(bearer(admin.token))
        .send(await asReviewed(http(), admin.token, holder.id))
        .expect(200);
      await submit(copy, number.toLowerCase()).expect(201);
      const upper = await http()
        .post(`/admin/kyc/${copy.id.toUpperCase()}/approve`)
        .set(bearer(staff.token))
        .send(await asReviewed(http(), staff.token, copy.id.toUpperCase()));
      expect([upper.status, upper.body.code]).toEqual([409, 'duplicate_document']);
      expect((await detail(copy)).status).toBe('pending');

      // An admin may override a duplicate, but not one of a document on file for themselves.
      const second = await promote(get(), admin, await newCustomer(get(), 'own.kyc.admin'), 'admin');
      try {
        const own = newPassportNumber();
        await submit(second, own).expect(201);
        await http()
          .post(`/admin/kyc/${second.id}/approve`)
          .set(bearer(admin.token))
          .send(await asReviewed(http(), admin.token, second.id))
          .expect(200);
        const other = await newCustomer(get(), 'own.kyc.other');
        await submit(other, own).expect(201);
        const override = { override_duplicate: true, override_reason: 'Checked the passport in branch' };
        const insiderBefore = await counted();
        const documentCounted = () => securityEventsCounted(get(), 'users', 'own_document_refused');
        const documentBefore = await documentCounted();
        const refused = await http()
          .post(`/admin/kyc/${other.id}/approve`)
          .set(bearer(second.token))
          .send(await asReviewed(http(), second.token, other.id))
          .send(override);
        expect([refused.status, refused.body.code]).toEqual([403, 'own_kyc']);
        // Logged as its own event, apart from the insider alert's: it is another customer's submission. Two:
        // the read of it that asReviewed makes, and the approval.
        expect((await documentCounted()) - documentBefore).toBe(2);
        expect(await counted()).toBe(insiderBefore);
        expect((await detail(other)).status).toBe('pending');
        await http()
          .post(`/admin/kyc/${other.id}/approve`)
          .set(bearer(admin.token))
          .send(await asReviewed(http(), admin.token, other.id))
          .send(override)
          .expect(200);
      } finally {
        // Other scenarios count the active admins.
        await http()
          .patch(`/admin/users/${second.id}`)
          .set(bearer(admin.token))
          .send({ role: 'customer', reason: 'Test: staff change' })
          .expect(200);
      }
    });

    /**
     * Waits until `n` requests wait for a lock on a KYC submission or a user's row (a long query's text
     * is cut short in pg_stat_activity: TypeORM's lists its columns before the table).
     */
    const userLockWaiters = (n: number, what: string) =>
      eventually(
        async () => {
          const waiting = [
            ...(await lockedQueries(db, '%KycEntity%')),
            ...(await lockedQueries(db, '%FROM users.users%')),
          ];
          return waiting.length >= n ? waiting : undefined;
        },
        15000,
        what,
      );

    /**
     * Holds `lock` (SQL and parameters) on a connection of its own, sends each request once the ones
     * before it wait on a lock, lets go once all of them wait, and answers their responses in order.
     */
    const forcedToOverlap = async (lock: [string, unknown[]], requests: (() => request.Test)[]) => {
      const holder = await get().t.db();
      try {
        await holder.query('BEGIN');
        await holder.query(...lock);
        const sent: Promise<request.Response>[] = [];
        for (const send of requests) {
          sent.push(send().then((r) => r));
          await userLockWaiters(sent.length, `${sent.length} request(s) blocked`);
        }
        await holder.query('COMMIT');
        return await Promise.all(sent);
      } finally {
        await holder.query('ROLLBACK');
      }
    };

    it("keeps a staff member off others' submissions of their verified document; their own unverified one changes nothing they see", async () => {
      // A member of staff whose own document, verified by someone else, another customer now submits.
      const number = newPassportNumber();
      const staff = await promote(get(), admin, await newCustomer(get(), 'held.staff'));
      await submit(staff, number).expect(201);
      await http()
        .post(`/admin/kyc/${staff.id}/approve`)
        .set(bearer(admin.token))
        .send(await asReviewed(http(), admin.token, staff.id))
        .expect(200);
      const [pending, unrelated] = await Promise.all(
        ['held.pending', 'held.unrelated'].map((t) => newCustomer(get(), t)),
      );
      await submit(pending, number.toLowerCase()).expect(201);
      await submit(unrelated, newPassportNumber()).expect(201);
      const pendingQueue = await queueOf(staff, 'pending');
      expect(pendingQueue).not.toContain(pending.id);
      expect(pendingQueue).toContain(unrelated.id);
      for (const id of [pending.id, pending.id.toUpperCase()]) {
        const read = await http().get(`/admin/kyc/${id}`).set(bearer(staff.token));
        expect({ id, status: read.status, code: read.body.code }).toEqual({
          id,
          status: 403,
          code: 'own_kyc',
        });
      }
      await refusedAsOwn(staff, [
        [`/admin/kyc/${pending.id}/approve`, { submitted_at: UNREAD_SUBMISSION }],
        [
          `/admin/kyc/${pending.id.toUpperCase()}/reject`,
          {
            submitted_at: UNREAD_SUBMISSION,
            reason_code: 'not_verified',
            reason: 'Document belongs to someone else',
          },
        ],
      ]);
      expect(await detail(pending)).toMatchObject({ status: 'pending', duplicate_user_ids: [staff.id] });
      await http().get(`/admin/kyc/${unrelated.id}`).set(bearer(staff.token)).expect(200);

      // A member of staff who types a verified customer's number into their own KYC: they used to be
      // named as a duplicate in that customer's entry (and, once hidden, the entry's disappearance or a 403
      // told the same). Their unverified submission changes nothing they see or may do.
      const other = newPassportNumber();
      const verified = await newCustomer(get(), 'held.verified');
      await submit(verified, other).expect(201);
      await http()
        .post(`/admin/kyc/${verified.id}/approve`)
        .set(bearer(admin.token))
        .send(await asReviewed(http(), admin.token, verified.id))
        .expect(200);
      const prober = await promote(get(), admin, await newCustomer(get(), 'held.prober'));
      const seen = async () => ({
        queued: (await queueOf(prober, 'verified')).includes(verified.id),
        entry: (await http().get(`/admin/kyc/${verified.id}`).set(bearer(prober.token))).body as {
          duplicate_document: boolean;
          duplicate_user_ids: string[];
        },
      });
      const before = await seen();
      await submit(prober, other).expect(201);
      const after = await seen();
      expect(after).toEqual(before);
      expect(after.queued).toBe(true);
      expect(after.entry).toMatchObject({ duplicate_document: false, duplicate_user_ids: [] });
      // Whoever reviews the prober's submission sees the verified holder, and cannot approve it plainly.
      expect(await detail(prober)).toMatchObject({ status: 'pending', duplicate_user_ids: [verified.id] });
      const approve = await http()
        .post(`/admin/kyc/${prober.id}/approve`)
        .set(bearer(admin.token))
        .send(await asReviewed(http(), admin.token, prober.id));
      expect([approve.status, approve.body.code]).toEqual([409, 'duplicate_document']);
    });

    it("approves two admins' KYC when each approves the other's at once (forced to overlap): no deadlock", async () => {
      // Each used to hold their own row (FOR SHARE) while waiting for the other's (FOR UPDATE): Postgres
      // broke the cycle by failing one of them (409 concurrent_update). (Admins: a colleague's KYC is not
      // a staff member's to decide.)
      const [a, b] = await Promise.all(
        ['mutual.a', 'mutual.b'].map(async (t) =>
          promote(get(), admin, await newCustomer(get(), t), 'admin'),
        ),
      );
      try {
        await submit(a, newPassportNumber()).expect(201);
        await submit(b, newPassportNumber()).expect(201);
        // Hold both submissions, send both approvals, and let go only once both are blocked: each has then
        // taken its first locks before the other could finish.
        const [readA, readB] = [
          await asReviewed(http(), b.token, a.id),
          await asReviewed(http(), a.token, b.id),
        ];
        const answers = await forcedToOverlap(
          ['SELECT 1 FROM users.kyc WHERE user_id = ANY($1::uuid[]) FOR UPDATE', [[a.id, b.id]]],
          [
            () => http().post(`/admin/kyc/${b.id}/approve`).set(bearer(a.token)).send(readB),
            () => http().post(`/admin/kyc/${a.id}/approve`).set(bearer(b.token)).send(readA),
          ],
        );
        expect(answers.map((r) => [r.status, r.body.code ?? null])).toEqual([
          [200, null],
          [200, null],
        ]);
        expect([(await detail(a)).status, (await detail(b)).status]).toEqual(['verified', 'verified']);
      } finally {
        // Other scenarios count the active admins.
        for (const who of [a, b]) {
          await http()
            .patch(`/admin/users/${who.id}`)
            .set(bearer(admin.token))
            .send({ role: 'customer', reason: 'Test: staff change' })
            .expect(200);
        }
      }
    });

    it("approves a customer's KYC while another admin changes that customer (forced to overlap): both done, no deadlock", async () => {
      // The change locks the customer, then every active admin, in id order; the approval used to hold
      // its admin's row (FOR SHARE) and then want the customer's: crossed whenever the customer sorts first.
      const [x, approver] = (
        await Promise.all(['crossed.customer', 'crossed.admin'].map((t) => newCustomer(get(), t)))
      ).sort((p, q) => (p.id < q.id ? -1 : 1));
      const second = await promote(get(), admin, approver, 'admin');
      try {
        await submit(x, newPassportNumber()).expect(201);
        const read = await asReviewed(http(), second.token, x.id);
        const answers = await forcedToOverlap(
          ['SELECT 1 FROM users.kyc WHERE user_id = $1 FOR UPDATE', [x.id]],
          [
            () => http().post(`/admin/kyc/${x.id}/approve`).set(bearer(second.token)).send(read),
            () =>
              http()
                .patch(`/admin/users/${x.id}`)
                .set(bearer(admin.token))
                .send({ role: 'customer', reason: 'Test: role confirmed' }),
          ],
        );
        expect(answers.map((r) => [r.status, r.body.code ?? null])).toEqual([
          [200, null],
          [200, null],
        ]);
        expect((await detail(x)).status).toBe('verified');
      } finally {
        // Other scenarios count the active admins.
        await http()
          .patch(`/admin/users/${second.id}`)
          .set(bearer(admin.token))
          .send({ role: 'customer', reason: 'Test: staff change' })
          .expect(200);
      }
    });

    it('flags the same number under another document type or issuing country, showing each holder with theirs', async () => {
      // Reviewers see only ******326: the number approved as a GB passport must not verify anyone again
      // as a GB national ID or an Irish passport.
      const number = newPassportNumber();
      const [holder, asId, abroad] = await Promise.all(
        ['dup.kind.holder', 'dup.kind.id', 'dup.kind.ie'].map((t) => newCustomer(get(), t)),
      );
      await submit(holder, number).expect(201);
      await http()
        .post(`/admin/kyc/${holder.id}/approve`)
        .set(bearer(admin.token))
        .send(await asReviewed(http(), admin.token, holder.id))
        .expect(200);
      await submit(asId, number, { document_type: 'national_id' }).expect(201);
      await submit(abroad, number.toLowerCase(), { country: 'IE' }).expect(201);
      const holders = (...entries: { user_id: string }[]) =>
        entries.sort((a, b) => (a.user_id < b.user_id ? -1 : 1));
      const held = { user_id: holder.id, document_type: 'passport', country: 'GB', status: 'verified' };
      const heldAsId = { user_id: asId.id, document_type: 'national_id', country: 'GB', status: 'pending' };
      const heldAbroad = { user_id: abroad.id, document_type: 'passport', country: 'IE', status: 'pending' };
      expect(await detail(asId)).toMatchObject({
        document_type: 'national_id',
        duplicate_document: true,
        duplicate_user_ids: [holder.id, abroad.id].sort(),
        duplicates: holders(held, heldAbroad),
      });
      expect((await detail(abroad)).duplicates).toEqual(holders(held, heldAsId));
      expect((await detail(holder)).duplicates).toEqual(holders(heldAsId, heldAbroad));
      const queued = await http()
        .get('/admin/kyc')
        .query({ status: 'verified', limit: 100 })
        .set(bearer(admin.token))
        .expect(200);
      let page = queued.body as {
        data: { user_id: string; duplicates: unknown[] }[];
        next_cursor: string | null;
      };
      while (!page.data.some((k) => k.user_id === holder.id) && page.next_cursor) {
        page = (
          await http()
            .get('/admin/kyc')
            .query({ status: 'verified', limit: 100, cursor: page.next_cursor })
            .set(bearer(admin.token))
            .expect(200)
        ).body;
      }
      expect(page.data.find((k) => k.user_id === holder.id)?.duplicates).toEqual(
        holders(heldAsId, heldAbroad),
      );
      for (const c of [asId, abroad]) {
        const refused = await http()
          .post(`/admin/kyc/${c.id}/approve`)
          .set(bearer(admin.token))
          .send(await asReviewed(http(), admin.token, c.id))
          .expect(409);
        expect(refused.body.code).toBe('duplicate_document');
      }
    });

    it('finds a duplicate among submissions stored before lookup hashes existed (filled in before an approval)', async () => {
      const number = newPassportNumber();
      const [old, fresh] = await Promise.all([newCustomer(get(), 'dup.old'), newCustomer(get(), 'dup.new')]);
      await submit(old, number).expect(201);
      // As a row from before the migration: only the ciphertext.
      await db.query('UPDATE users.kyc SET document_number_hash = NULL WHERE user_id = $1', [old.id]);
      await submit(fresh, number.toLowerCase()).expect(201);
      const res = await http()
        .post(`/admin/kyc/${fresh.id}/approve`)
        .set(bearer(admin.token))
        .send(await asReviewed(http(), admin.token, fresh.id))
        .expect(409);
      expect(res.body.code).toBe('duplicate_document');
      const [row] = (
        await db.query(
          'SELECT document_number_hash IS NOT NULL AS hashed FROM users.kyc WHERE user_id = $1',
          [old.id],
        )
      ).rows;
      expect(row.hashed).toBe(true);
      expect((await detail(old)).duplicate_user_ids).toEqual([fresh.id]);
    });

    it('keeps the document that verified a customer on file while they re-verify with another', async () => {
      // A re-verification replaced the verified document on the row: another user could then be
      // verified with it, however often the holder re-submitted.
      const number = newPassportNumber();
      const [holder, other] = await Promise.all([
        newCustomer(get(), 'dup.holder'),
        newCustomer(get(), 'dup.other'),
      ]);
      await submit(holder, number).expect(201);
      await http()
        .post(`/admin/kyc/${holder.id}/approve`)
        .set(bearer(admin.token))
        .send(await asReviewed(http(), admin.token, holder.id))
        .expect(200);
      const reverify = (name: string) => submit(holder, newPassportNumber(), { full_name: name }).expect(201);
      await reverify('Holder Newname');
      await submit(other, number.toLowerCase(), { document_type: 'driving_licence', country: 'IE' }).expect(
        201,
      );
      // While the change is reviewed...
      expect(await detail(other)).toMatchObject({
        duplicate_document: true,
        duplicate_user_ids: [holder.id],
        duplicates: [{ user_id: holder.id, document_type: 'passport', country: 'GB', status: 'verified' }],
      });
      // ...and after it is refused (the holder stays verified with that document).
      await http()
        .post(`/admin/kyc/${holder.id}/reject`)
        .set(bearer(admin.token))
        .send(await asReviewed(http(), admin.token, holder.id))
        .send({ reason_code: 'details_mismatch', reason: 'Name change not evidenced' })
        .expect(200);
      await reverify('Holder Othername');
      expect((await detail(other)).duplicate_user_ids).toEqual([holder.id]);
      const refused = await http()
        .post(`/admin/kyc/${other.id}/approve`)
        .set(bearer(admin.token))
        .send(await asReviewed(http(), admin.token, other.id))
        .expect(409);
      expect(refused.body.code).toBe('duplicate_document');
      // The holder's pending change holds another document: not flagged by the old one.
      expect(await detail(holder)).toMatchObject({ duplicate_document: false, duplicate_user_ids: [] });
      // Once a re-verification is approved, its document is the verified one; the old one is still the
      // holder's (superseded), not free for anyone else: it is the one likely lost or stolen.
      await http()
        .post(`/admin/kyc/${holder.id}/approve`)
        .set(bearer(admin.token))
        .send(await asReviewed(http(), admin.token, holder.id))
        .expect(200);
      expect(await detail(other)).toMatchObject({
        duplicate_document: true,
        duplicate_user_ids: [holder.id],
        duplicates: [{ user_id: holder.id, document_type: 'passport', country: 'GB', status: 'superseded' }],
      });
      const stillRefused = await http()
        .post(`/admin/kyc/${other.id}/approve`)
        .set(bearer(admin.token))
        .send(await asReviewed(http(), admin.token, other.id))
        .expect(409);
      expect(stillRefused.body.code).toBe('duplicate_document');
      // Only an admin's audited override approves it.
      await http()
        .post(`/admin/kyc/${other.id}/approve`)
        .set(bearer(admin.token))
        .send(await asReviewed(http(), admin.token, other.id))
        .send({ override_duplicate: true, override_reason: 'Test: the passport number was re-issued' })
        .expect(200);
      // One record of it (the apps may add such records, never change or remove them: database-roles).
      const [{ n }] = (
        await db.query(`SELECT count(*)::int AS n FROM users.superseded_documents WHERE user_id = $1`, [
          holder.id,
        ])
      ).rows as { n: number }[];
      expect(n).toBe(1);
    });

    it('answers 409 document_unreadable for a number on file that does not decrypt, logs it once without its ciphertext, and lets staff reject it', async () => {
      const [pending, verified] = await Promise.all([
        newCustomer(get(), 'dup.unreadable'),
        newCustomer(get(), 'dup.unreadable.verified'),
      ]);
      await submit(pending, newPassportNumber()).expect(201);
      await submit(verified, newPassportNumber()).expect(201);
      await http()
        .post(`/admin/kyc/${verified.id}/approve`)
        .set(bearer(admin.token))
        .send(await asReviewed(http(), admin.token, verified.id))
        .expect(200);
      // A damaged row, and one encrypted for another user (as under another key): neither decrypts.
      const damaged = `v9${randomUUID().replace(/-/g, '')}.AAAA.BBBB.CCCC`;
      const [{ document_number_encrypted: foreign }] = (
        await db.query('SELECT document_number_encrypted FROM users.kyc WHERE user_id = $1', [pending.id])
      ).rows as { document_number_encrypted: string }[];
      const spoil = (c: Actor, ciphertext: string) =>
        db.query(
          'UPDATE users.kyc SET document_number_encrypted = $2, document_number_hash = NULL WHERE user_id = $1',
          [c.id, ciphertext],
        );
      await spoil(pending, damaged);
      await spoil(verified, foreign);

      const approvals = [];
      for (let i = 0; i < 2; i++) {
        const res = await http()
          .post(`/admin/kyc/${pending.id}/approve`)
          .set(bearer(admin.token))
          .send(await asReviewed(http(), admin.token, pending.id));
        expect([res.status, res.body.code]).toEqual([409, 'document_unreadable']);
        approvals.push(res);
      }
      // A verified customer's change of details would drop the verified document from the check: refused.
      const change = await submit(verified, newPassportNumber(), { full_name: 'Changed Name' });
      expect([change.status, change.body.code]).toEqual([409, 'document_unreadable']);
      expect((await http().get('/users/me/kyc').set(bearer(verified.token)).expect(200)).body).toMatchObject({
        status: 'verified',
      });
      // Rejecting needs no number: the customer then submits again, and that one is approved.
      await http()
        .post(`/admin/kyc/${pending.id}/reject`)
        .set(bearer(admin.token))
        .send(await asReviewed(http(), admin.token, pending.id))
        .send({ reason_code: 'document_unreadable', reason: 'Document unreadable, please submit it again' })
        .expect(200);
      await submit(pending, newPassportNumber()).expect(201);
      await http()
        .post(`/admin/kyc/${pending.id}/approve`)
        .set(bearer(admin.token))
        .send(await asReviewed(http(), admin.token, pending.id))
        .expect(200);

      // Each unreadable row is logged once, by user id, however often it is met; never its ciphertext.
      const last = approvals[1].body.request_id as string;
      const logs = await eventually(
        async () => {
          const text = readdirSync(get().t.logDir)
            .filter((f) => f.endsWith('.log'))
            .map((f) => readFileSync(join(get().t.logDir, f), 'utf8'))
            .join('\n');
          return text.includes(last) && text.includes(change.body.request_id) ? text : undefined;
        },
        15000,
        'the requests in the logs',
      );
      const errorsAbout = (c: Actor) =>
        logs.split('\n').filter((l) => l.includes('does not decrypt') && l.includes(`"user_id":"${c.id}"`));
      expect(errorsAbout(pending)).toHaveLength(1);
      expect(errorsAbout(verified)).toHaveLength(1);
      expect(JSON.parse(errorsAbout(pending)[0]).level).toBeGreaterThanOrEqual(50);
      expect(logs).not.toContain(damaged.slice(0, 20));
      expect(logs).not.toContain(foreign);
    });

    it('refuses a KYC rejection reason with control or bidirectional characters, naming the field', async () => {
      const c = await newCustomer(get(), 'dup.reason');
      await submit(c, newPassportNumber()).expect(201);
      const res = await http()
        .post(`/admin/kyc/${c.id}/reject`)
        .set(bearer(admin.token))
        .send(await asReviewed(http(), admin.token, c.id))
        .send({ reason_code: 'document_unreadable', reason: 'Unreadable\u202E' })
        .expect(400);
      expect(res.body.details[0].field).toBe('reason');
      expect((await detail(c)).duplicate_document).toBe(false);
      await http().get(`/admin/kyc/${randomUUID()}`).set(bearer(admin.token)).expect(404);
      await http().get(`/admin/kyc/${c.id}`).set(bearer(c.token)).expect(403);
    });
  });
}
