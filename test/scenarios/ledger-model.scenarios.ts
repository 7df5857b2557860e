/**
 * The ledger against a sequential model, both topologies (issue 17): 1,000 transfers fired at once,
 * with overdrafts, card holds, frozen accounts and duplicated Idempotency-Keys mixed in, must answer
 * and post exactly as SOME one-at-a-time order of the same requests would. The model
 * (test/support/ledger-model.ts) knows only the API and the ledger's tables, so the check holds for
 * any way of posting (one transaction per transfer, or batches); see there for how the order is found.
 *
 * The accounts hold little, in multiples of 100, and the amounts are multiples of 100: about half the
 * transfers are refused for funds, and some spend an account to exactly its limit (the boundary of
 * the funds rule). The requests are drawn from a seed printed with the figures.
 */
import { createHmac, randomInt, randomUUID } from 'node:crypto';
import { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Client } from 'pg';
import request from 'supertest';
import { bearer, firstAdmin, type Actor } from '../support/actors';
import {
  type Account,
  deposit,
  issueCard,
  ledgerBatcher,
  openAccount,
  verifiedCustomer,
} from '../support/banking';
import {
  checkStorm,
  type Answer,
  type Entry,
  type ModelAccount,
  type Posting,
  type TransferRequest,
} from '../support/ledger-model';
import { auditTransfers } from '../support/event-audit';
import { settledAudit } from '../support/fault-load';
import { eventually } from '../support/test-env';
import type { Running } from '../support/topologies';

/** Prints a measured figure beside the test output (a figure, never an assertion). */
const figure = (line: string) => process.stdout.write(`  [figure] ${line}\n`);

const CUSTOMERS = 10;
const STORM = 1000;
/** Account indexes (A0..A19; customer i owns A2i and A2i+1) frozen, holding card money, overdrawable. */
const FROZEN = [3, 12];
const HELD = [5, 9, 16];
// Every other current account (the even indices) has an arranged overdraft: savings cannot.
const hasLimit = (i: number) => i % 4 === 0;

/** mulberry32: a small seeded generator, so a run's requests can be drawn again from its seed. */
function seeded(seed: number) {
  let s = seed;
  const next = () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  return { int, pick: <T>(xs: T[]) => xs[int(0, xs.length - 1)] };
}

/** One key's requests: `copies` of one body, and maybe one request with another amount under the key. */
interface Plan {
  from: number;
  to: number;
  amount: number;
  copies: number;
  otherAmount?: number;
}

export function ledgerModelScenarios(get: () => Running) {
  describe('ledger model', () => {
    const http = () => request(get().baseUrl);
    let admin: Actor;
    let db: Client;

    beforeAll(async () => {
      admin = await firstAdmin(get());
      db = await get().t.db();
    });

    /** Places a card hold of `amount` on the account (a card of its own, an approved authorisation). */
    const hold = async (owner: Actor, account: Account, amount: number) => {
      const card = await issueCard(get(), owner, account);
      const raw = JSON.stringify({
        network_transaction_id: `NTX-${randomUUID()}`,
        pan: card.pan,
        expiry_month: card.expiry_month,
        expiry_year: card.expiry_year,
        cvc: card.cvc,
        amount,
        currency: 'GBP',
        merchant: { name: 'Tesco', category_code: '5411', city: 'Leeds', country: 'GB' },
        channel: 'contactless',
      });
      const t = Math.floor(Date.now() / 1000);
      const mac = createHmac('sha256', get().t.env.CARD_NETWORK_SECRET)
        .update(`${t}.POST /card-network/authorisations.${raw}`)
        .digest('hex');
      const res = await http()
        .post('/card-network/authorisations')
        .set('Content-Type', 'application/json')
        .set('X-Card-Network-Signature', `t=${t},v2=${mac}`)
        .send(raw)
        .expect(200);
      expect(res.body).toMatchObject({ approved: true });
    };

    const ledgerRows = async (ids: string[]) => {
      const { rows } = await db.query(
        `SELECT id, owner_id, currency, status, balance::text, held::text, overdraft_limit::text,
                version::text
           FROM transactions.ledger_accounts WHERE id = ANY($1::uuid[])`,
        [ids],
      );
      return new Map(
        rows.map((r) => [
          r.id as string,
          {
            owner: r.owner_id as string,
            currency: r.currency as string,
            status: r.status as string,
            balance: Number(r.balance),
            held: Number(r.held),
            overdraftLimit: Number(r.overdraft_limit),
            version: Number(r.version),
          },
        ]),
      );
    };

    /** The ids of every entry that debits or credits one of the accounts. */
    const entryIds = async (ids: string[]) =>
      new Set(
        (
          await db.query(
            `SELECT id FROM transactions.entries
              WHERE debit_account_id = ANY($1::uuid[]) OR credit_account_id = ANY($1::uuid[])`,
            [ids],
          )
        ).rows.map((r) => r.id as string),
      );

    it('answers 1,000 transfers fired at once as some sequential order of them would, and verifies clean', async () => {
      const seed = randomInt(2 ** 31);
      const rnd = seeded(seed);

      // Setup, through the API: 10 customers with 2 GBP accounts each, small deposits, overdraft
      // limits, card holds, and 2 accounts frozen.
      const customers: Actor[] = [];
      const accounts: Account[] = [];
      for (let c = 0; c < CUSTOMERS; c++) {
        const who = await verifiedCustomer(get(), admin, `model.c${c}`);
        customers.push(who);
        accounts.push(await openAccount(get(), who), await openAccount(get(), who, 'GBP', 'savings'));
      }
      const ownerOf = (i: number) => customers[i >> 1];
      const ids = accounts.map((a) => a.id);
      const before: ModelAccount[] = [];
      for (let i = 0; i < accounts.length; i++) {
        const balance = 100 * rnd.int(2, 12);
        const overdraftLimit = hasLimit(i) ? 100 * rnd.int(3, 8) : 0;
        const held = HELD.includes(i) ? 100 * rnd.int(1, 2) : 0;
        await deposit(get(), admin, accounts[i], balance);
        if (overdraftLimit > 0) {
          await http()
            .patch(`/admin/accounts/${accounts[i].id}`)
            .set(bearer(admin.token))
            .send({ overdraft_limit: overdraftLimit, reason: 'Test: ledger model limit' })
            .expect(200);
        }
        if (held > 0) await hold(ownerOf(i), accounts[i], held);
        if (FROZEN.includes(i)) {
          await http()
            .post(`/admin/accounts/${accounts[i].id}/freeze`)
            .set(bearer(admin.token))
            .send({ reason: 'Test: ledger model freeze' })
            .expect(200);
        }
        before.push({
          id: accounts[i].id,
          label: `A${i}`,
          owner: ownerOf(i).id,
          currency: 'GBP',
          status: FROZEN.includes(i) ? 'frozen' : 'active',
          balance,
          held,
          overdraftLimit,
        });
      }
      // The model starts from what the setup did; the ledger and the API must agree with it.
      const rowsBefore = await ledgerRows(ids);
      for (const a of before) {
        const { version, ...row } = rowsBefore.get(a.id)!;
        expect({ label: a.label, ...row }).toEqual({
          label: a.label,
          owner: a.owner,
          currency: a.currency,
          status: a.status,
          balance: a.balance,
          held: a.held,
          overdraftLimit: a.overdraftLimit,
        });
        expect(version).toBeGreaterThan(0);
      }
      const versionsBefore = new Map([...rowsBefore].map(([id, r]) => [id, r.version]));
      const entriesBefore = await entryIds(ids);

      // The requests: each customer pays from their own accounts to any of the 20.
      const active = accounts.map((_, i) => i).filter((i) => !FROZEN.includes(i));
      const payee = (from: number) => {
        let to: number;
        do to = rnd.pick(active);
        while (to === from);
        return to;
      };
      const plans: Plan[] = [];
      // Out of frozen accounts (account_frozen, whatever the funds; some sent 3 times under one key).
      for (let n = 0; n < 40; n++) {
        const from = FROZEN[n % 2];
        plans.push({ from, to: payee(from), amount: 100 * rnd.int(1, 15), copies: n % 8 === 0 ? 3 : 1 });
      }
      // Into frozen accounts (allowed: money in lands).
      for (let n = 0; n < 40; n++) {
        plans.push({ from: rnd.pick(active), to: FROZEN[n % 2], amount: 100 * rnd.int(1, 3), copies: 1 });
      }
      // One key and body sent 2 to 5 times; one key sent twice with a body and once with another.
      for (let n = 0; n < 50; n++) {
        const from = rnd.pick(active);
        plans.push({ from, to: payee(from), amount: 100 * rnd.int(1, 10), copies: rnd.int(2, 5) });
      }
      for (let n = 0; n < 30; n++) {
        const from = rnd.pick(active);
        const amount = 100 * rnd.int(1, 10);
        plans.push({ from, to: payee(from), amount, copies: 2, otherAmount: amount + 100 });
      }
      const size = (p: Plan) => p.copies + (p.otherAmount ? 1 : 0);
      while (plans.reduce((s, p) => s + size(p), 0) < STORM) {
        const from = rnd.pick(active);
        plans.push({ from, to: payee(from), amount: 100 * rnd.int(1, 10), copies: 1 });
      }
      const drawn: Omit<TransferRequest, 'n'>[] = [];
      plans.forEach((p, k) => {
        const key = `model-${seed}-${k}`;
        const body = (amount: number) => ({
          from_account_id: ids[p.from],
          to_account_id: ids[p.to],
          amount,
          currency: 'GBP',
        });
        const caller = ownerOf(p.from).id;
        for (let c = 0; c < p.copies; c++) drawn.push({ caller, key, body: body(p.amount) });
        if (p.otherAmount) drawn.push({ caller, key, body: body(p.otherAmount) });
      });
      for (let i = drawn.length - 1; i > 0; i--) {
        const j = rnd.int(0, i);
        [drawn[i], drawn[j]] = [drawn[j], drawn[i]];
      }
      const requests: TransferRequest[] = drawn.map((r, n) => ({ n, ...r }));
      const tokenOf = new Map(customers.map((c) => [c.id, c]));

      // The ledger's batch counters at transactions (a test of batching: the storm must form batches).
      const countersBefore = await ledgerBatcher(get());

      // The storm: every request at once, a socket each (in split, through the edge).
      const agent = new Agent({ keepAlive: true, maxSockets: requests.length });
      const started = performance.now();
      const responses = await Promise.all(
        requests.map((r) =>
          http()
            .post('/transactions')
            .agent(agent)
            .set(bearer(tokenOf.get(r.caller)!.token))
            .set('Idempotency-Key', r.key)
            .send(r.body)
            .then((res) => res),
        ),
      );
      const stormMs = performance.now() - started;
      agent.destroy();
      const countersAfter = await ledgerBatcher(get());
      const batches = countersAfter.batches - countersBefore.batches;
      const batchedItems = countersAfter.items - countersBefore.items;
      const answerOf = (res: request.Response): Answer => ({
        status: res.status,
        code: res.status === 201 ? undefined : (res.body?.code as string | undefined),
        id: res.status === 201 ? (res.body.id as string) : undefined,
        replayed: res.headers['idempotent-replayed'] === 'true',
      });
      // The answers that tell the client to send the request again: both 503s a transfer may get, a
      // dependency unavailable (its outcome unknown) and ledger_busy (refused unposted after
      // LEDGER_QUEUE_TIMEOUT_MS in the batch queue), and 408 request_timeout: the app did not read the
      // request within the suite's headers timeout (HTTP_TEST_ENV), which Node counts from a new
      // connection's accept, so an app busy with the rest of the storm on a loaded machine answers it
      // although the client sent in time (CI stop 62: 642 of the 1,000 with a 2 s timeout, the split
      // suite running beside it).
      const unavailable = (a: Answer) =>
        (a.status === 503 && (a.code === 'dependency_unavailable' || a.code === 'ledger_busy')) ||
        (a.status === 408 && a.code === 'request_timeout');
      const stormAnswers = responses.map(answerOf);
      // Each is retried with its key and body, one at a time, after the storm, as a client would: a 503's
      // request may have been decided and its answer lost; a 408's was not read, so it was not.
      const answers: Answer[] = [];
      for (const [i, first] of stormAnswers.entries()) {
        let answer = first;
        for (let attempt = 0; attempt < 3 && unavailable(answer); attempt++) {
          const r = requests[i];
          answer = {
            ...answerOf(
              await http()
                .post('/transactions')
                .set(bearer(tokenOf.get(r.caller)!.token))
                .set('Idempotency-Key', r.key)
                .send(r.body),
            ),
            retried: true,
          };
        }
        answers.push(answer);
      }

      // What the ledger did: the storm's postings (above each account's version before it) and entries.
      const postings: Posting[] = (
        await db.query(
          `SELECT account_id, account_version::text, entry_id, amount::text, balance_after::text
             FROM transactions.postings WHERE account_id = ANY($1::uuid[])`,
          [ids],
        )
      ).rows
        .map((r) => ({
          account_id: r.account_id as string,
          account_version: Number(r.account_version),
          entry_id: r.entry_id as string,
          amount: Number(r.amount),
          balance_after: Number(r.balance_after),
        }))
        .filter((p) => p.account_version > versionsBefore.get(p.account_id)!);
      const stormEntryIds = [...(await entryIds(ids))].filter((id) => !entriesBefore.has(id));
      const entries: Entry[] = (
        await db.query(
          `SELECT id, kind, debit_account_id, credit_account_id, amount::text, currency
             FROM transactions.entries WHERE id = ANY($1::uuid[])`,
          [stormEntryIds],
        )
      ).rows.map((r) => ({
        id: r.id as string,
        kind: r.kind as string,
        debit_account_id: r.debit_account_id as string,
        credit_account_id: r.credit_account_id as string,
        amount: Number(r.amount),
        currency: r.currency as string,
      }));

      const report = checkStorm({ before, versionsBefore, requests, answers, postings, entries });
      const c = report.counts;
      figure(
        `${get().kind}: ${requests.length} transfers at once in ${Math.round(stormMs)} ms (seed ${seed}): ` +
          Object.keys(c)
            .sort()
            .map((k) => `${k} ×${c[k]}`)
            .join(', ') +
          `; ${report.order.length} posted, ${report.tight} of them to exactly the payer's limit; ` +
          `${stormAnswers.filter((a) => a.status === 503).length} answered 503 (dependency_unavailable or ledger_busy) and ` +
          `${stormAnswers.filter((a) => a.status === 408).length} 408 in the storm, retried after it; ` +
          `${batchedItems} postings in ${batches} batches (mean ${(batchedItems / batches).toFixed(1)})`,
      );
      // Postings shared commits: some batch held more than one.
      expect({ batches, moreItemsThanBatches: batchedItems > batches }).toEqual({
        batches,
        moreItemsThanBatches: true,
      });
      // The storm itself decided most of it (the retries after it go one at a time, and check no
      // concurrency): a loaded machine's 408s (CI stop 62: 642 with a 2 s headers timeout) must not turn it
      // into a sequential test that passes anyway.
      const decidedInStorm = stormAnswers.filter((a) => !unavailable(a)).length;
      expect({ decidedInStorm, atLeastHalf: decidedInStorm >= STORM / 2 }).toEqual({
        decidedInStorm,
        atLeastHalf: true,
      });
      expect({ seed, problems: report.problems.slice(0, 25), total: report.problems.length }).toEqual({
        seed,
        problems: [],
        total: 0,
      });
      // The storm had each thing it is meant to check in it.
      for (const label of [
        '201',
        '201 replayed',
        '422 insufficient_funds',
        '422 insufficient_funds replayed',
        '409 account_frozen',
        '409 account_frozen replayed',
        '422 idempotency_key_reused',
      ]) {
        expect({ label, some: (c[label] ?? 0) > 0 }).toEqual({ label, some: true });
      }
      const intoFrozen = entries.filter((e) => FROZEN.some((i) => ids[i] === e.credit_account_id));
      expect(intoFrozen.length).toBeGreaterThan(0);

      // The model's balances after the storm are the ledger's rows and what the API reads.
      const rowsAfter = await ledgerRows(ids);
      for (let i = 0; i < accounts.length; i++) {
        const m = report.after.get(ids[i])!;
        const row = rowsAfter.get(ids[i])!;
        const read = (
          await http()
            .get(`/accounts/${ids[i]}/balance`)
            .set(bearer(ownerOf(i).token))
            .expect(200)
        ).body as { balance: number; held_amount: number; available_balance: number };
        const available = m.status === 'active' ? Math.max(0, m.balance - m.held + m.overdraftLimit) : 0;
        expect({
          account: m.label,
          row: { balance: row.balance, held: row.held, status: row.status },
          read: { balance: read.balance, held: read.held_amount, available: read.available_balance },
        }).toEqual({
          account: m.label,
          row: { balance: m.balance, held: m.held, status: m.status },
          read: { balance: m.balance, held: m.held, available },
        });
      }
      const verified = await http().get('/admin/ledger/verify').set(bearer(admin.token)).expect(200);
      expect(verified.body).toMatchObject({ ok: true, mismatches: [] });

      // Every posted transfer reaches notifications and analytics (its event exists because the money
      // moved). Waiting for that, and for the notices' deliveries, also leaves no backlog of the storm's
      // to slow the scenarios after this one.
      const drainStarted = performance.now();
      const audit = await settledAudit(() => auditTransfers(db, ids));
      const eventsMs = performance.now() - drainStarted;
      expect({ entries: audit.entries, lost: audit.lost }).toEqual({ entries: entries.length, lost: [] });
      await eventually(
        async () => {
          const { rows } = await db.query(
            `SELECT count(*)::int AS n FROM notifications.deliveries d
               JOIN notifications.notifications n ON n.id = d.notification_id
              WHERE n.user_id = ANY($1::uuid[]) AND d.status = 'pending'`,
            [customers.map((x) => x.id)],
          );
          return rows[0].n === 0 ? true : undefined;
        },
        120_000,
        "the storm's notices to be delivered",
      );
      figure(
        `${get().kind}: the storm's ${entries.length} transactions notified and counted ${Math.round(eventsMs)} ms after its checks, delivered ${Math.round(performance.now() - drainStarted)} ms after`,
      );
    }, 300_000);
  });
}
