/**
 * The card network's side of cards, both topologies, end to end through HTTP: signed authorisations
 * that hold money in the ledger (available balance down, balance not), clearings that post and release,
 * forced posts, reversals, hold expiry, every decline reason with nothing held, retries of every message,
 * bad signatures, hostile bodies, the customer's notices on the stream, analytics by merchant and
 * category, and authorisations, transfers and clearings racing on one account.
 *
 * Requests are signed here by the documented scheme (HMAC-SHA256 of "<t>.<raw body>"), written again
 * independently of the module's own signer, and sent as the exact bytes signed.
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import request from 'supertest';
import { bearer, firstAdmin, type Actor } from '../support/actors';
import {
  type Account,
  deposit,
  issueCard,
  type IssuedCard,
  openAccount,
  transfer,
  verifiedCustomer,
} from '../support/banking';
import { openStream } from '../support/event-stream';
import { failUpdates } from '../support/failing-updates';
import { lockWaiters } from '../support/lock-waits';
import { eventually, logsThrough, metricValue, scrapeMetrics } from '../support/test-env';
import type { Running } from '../support/topologies';
import { holdIdOf } from '../../libs/cards/src/network/hold-id';
import { OUTBOX_CLAIM_LOCK } from '../../migrations/1763700000024-OutboxClaimOnOnePage';

/** A card as issued: its number and CVC are what the network is sent. */
type Card = IssuedCard;

interface Balance {
  balance: number;
  held_amount: number;
  available_balance: number;
}

/** A customer with a funded account and a card on it. */
interface Wallet {
  who: Actor;
  account: Account;
  card: Card;
}

const STARBUCKS = { name: 'Starbucks', category_code: '5814', city: 'London', country: 'GB' };
const AMAZON = { name: 'Amazon', category_code: '5999', city: 'London', country: 'GB' };
const TESCO = { name: 'Tesco', category_code: '5411', city: 'Leeds', country: 'GB' };
const CASINO = { name: 'Lucky Star Casino', category_code: '7995', city: 'Brighton', country: 'GB' };

const ERROR_KEYS = ['code', 'details', 'message', 'request_id', 'status'];
const ntx = () => `NTX-${randomUUID()}`;
const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

/** The X-Card-Network-Signature of POST /card-network/<route> with `raw` under `secret` at `t` (unix seconds). */
const signature = (secret: string, route: string, raw: string, t = Math.floor(Date.now() / 1000)) =>
  `t=${t},v2=${createHmac('sha256', secret).update(`${t}.POST /card-network/${route}.${raw}`).digest('hex')}`;

export function cardNetworkScenarios(get: () => Running) {
  describe('card network', () => {
    const http = () => request(get().baseUrl);
    let admin: Actor;
    let db: Client;
    /** Every number and CVC this suite saw: none may appear in a log or an event. */
    const secrets = { pans: new Set<string>(), cvcs: new Set<string>() };
    const secret = () => get().t.env.CARD_NETWORK_SECRET;

    /**
     * POST /card-network/<path> with `body` as the exact bytes sent; signed with the suite's secret
     * unless `sig` gives the header (null: none).
     */
    const network = (path: string, body: unknown, sig?: string | null) => {
      const raw = typeof body === 'string' ? body : JSON.stringify(body);
      const req = http().post(`/card-network/${path}`).set('Content-Type', 'application/json');
      if (sig !== null) req.set('X-Card-Network-Signature', sig ?? signature(secret(), path, raw));
      return req.send(raw);
    };
    const authorisation = (card: Card, over: Record<string, unknown> = {}) => ({
      network_transaction_id: ntx(),
      pan: card.pan,
      expiry_month: card.expiry_month,
      expiry_year: card.expiry_year,
      cvc: card.cvc,
      amount: 2550,
      currency: 'GBP',
      merchant: STARBUCKS,
      channel: 'contactless',
      ...over,
    });
    const authorise = async (card: Card, over: Record<string, unknown> = {}) =>
      (await network('authorisations', authorisation(card, over)).expect(200)).body as {
        approved: boolean;
        authorisation_id?: string;
        decline_reason?: string;
      };
    const approved = async (card: Card, over: Record<string, unknown> = {}) => {
      const answer = await authorise(card, over);
      expect(answer).toEqual({ approved: true, authorisation_id: expect.any(String) });
      return answer.authorisation_id!;
    };
    const clearing = (authorisationId: string, amount: number, over: Record<string, unknown> = {}) => ({
      network_transaction_id: ntx(),
      authorisation_id: authorisationId,
      amount,
      currency: 'GBP',
      ...over,
    });

    const balance = async (w: Wallet): Promise<Balance> => {
      const res = await http().get(`/accounts/${w.account.id}/balance`).set(bearer(w.who.token)).expect(200);
      const { balance: b, held_amount, available_balance } = res.body as Balance;
      return { balance: b, held_amount, available_balance };
    };
    /**
     * Sends the authorisation `body` while `lock` (a connection of the test's) holds the account's ledger
     * row, so it waits inside the ledger with its card checks passed; `meanwhile` runs then (a stop of
     * the card), and the row is let go. Gives the network's answer.
     */
    const authoriseWhileLedgerWaits = async (
      lock: Client,
      w: Wallet,
      body: unknown,
      meanwhile: () => Promise<unknown>,
      how: string,
    ) => {
      let answer: Promise<request.Response>;
      try {
        await lock.query('BEGIN');
        await lock.query(`SELECT 1 FROM transactions.ledger_accounts WHERE id = $1 FOR UPDATE`, [
          w.account.id,
        ]);
        answer = network('authorisations', body).then((res) => res);
        await lockWaiters(
          db,
          1,
          '%transactions.card_calls%',
          `the authorisation waiting in the ledger (${how})`,
        );
        await meanwhile();
      } finally {
        await lock.query('ROLLBACK'); // lets the ledger go on
      }
      return answer;
    };
    /** Waits until the account's balance shows `held` held, and gives that balance. */
    const untilHeld = (w: Wallet, held: number, what: string, ms = 10000) =>
      eventually(
        async () => {
          const b = await balance(w);
          return b.held_amount === held ? b : undefined;
        },
        ms,
        what,
      );
    const authorisations = async (w: Wallet, status?: string) => {
      const q = status ? `?status=${status}` : '';
      const res = await http()
        .get(`/cards/${w.card.id}/authorisations${q}`)
        .set(bearer(w.who.token))
        .expect(200);
      return res.body.data as Record<string, unknown>[];
    };
    /** Waits (20 s by default: the sweep runs every second here) until the authorisation reads `status`. */
    const untilStatus = (w: Wallet, id: string, status: string, what: string, ms = 20000) =>
      eventually(
        async () => ((await authorisations(w, status)).some((a) => a.id === id) ? true : undefined),
        ms,
        what,
      );
    const untilExpired = (w: Wallet, id: string, what: string) => untilStatus(w, id, 'expired', what);
    /** What the ledger holds on the wallet's account, read from its row (the balance cache left aside). */
    const heldByLedger = async (w: Wallet) =>
      (
        await db.query(`SELECT held::int AS held FROM transactions.ledger_accounts WHERE id = $1`, [
          w.account.id,
        ])
      ).rows[0].held as number;
    const activeHolds = async (cardId: string) =>
      (
        await db.query(
          `SELECT count(*)::int AS n FROM transactions.holds WHERE card_id = $1 AND status = 'active'`,
          [cardId],
        )
      ).rows[0].n as number;
    const verify = async () =>
      (await http().get('/admin/ledger/verify').set(bearer(admin.token)).expect(200)).body;
    /** The card.released events written for an authorisation, oldest first: what its owner is told. */
    const releasedEvents = async (id: string) =>
      (
        await db.query(
          `SELECT (payload->>'released')::int AS released, (payload->>'remaining')::int AS remaining,
                  payload->>'reason' AS reason
             FROM cards.outbox WHERE name = 'card.released' AND payload->>'authorisation_id' = $1
            ORDER BY created_at, id`,
          [id],
        )
      ).rows as { released: number; remaining: number; reason: string }[];

    const issue = async (who: Actor, account: Account): Promise<Card> => {
      const card = await issueCard(get(), who, account);
      secrets.pans.add(card.pan);
      secrets.cvcs.add(card.cvc);
      return card;
    };
    const wallet = async (tag: string, funds: number, who?: Actor): Promise<Wallet> => {
      const owner = who ?? (await verifiedCustomer(get(), admin, `network.${tag}`));
      const account = await openAccount(get(), owner);
      if (funds > 0) await deposit(get(), admin, account, funds);
      return { who: owner, account, card: await issue(owner, account) };
    };
    const setLimits = (w: Wallet, card: Card, body: Record<string, unknown>) =>
      http().patch(`/cards/${card.id}/limits`).set(bearer(w.who.token)).send(body).expect(200);

    beforeAll(async () => {
      admin = await firstAdmin(get());
      db = await get().t.db();
    });

    it('approves an authorisation: the money is held (available down, balance not) and the card shows it pending', async () => {
      const w = await wallet('approve', 10000);
      expect(await balance(w)).toEqual({ balance: 10000, held_amount: 0, available_balance: 10000 });
      const authorised = async () =>
        metricValue(
          await scrapeMetrics(get().t, get().services.cards ?? get().baseUrl),
          'card_authorised_amount_minor_total',
          { currency: 'GBP' },
        );
      const authorisedBefore = await authorised();
      const id = await approved(w.card);
      expect((await authorised()) - authorisedBefore).toBe(2550);
      expect(await balance(w)).toEqual({ balance: 10000, held_amount: 2550, available_balance: 7450 });
      expect(await authorisations(w, 'pending')).toEqual([
        expect.objectContaining({
          id,
          card_id: w.card.id,
          status: 'pending',
          amount: 2550,
          currency: 'GBP',
          merchant: STARBUCKS,
          category: 'eating_out',
          channel: 'contactless',
          decline_reason: null,
          cleared_amount: null,
        }),
      ]);
      // The held money is spoken for: a transfer of more than the available balance is refused.
      const other = await openAccount(get(), w.who);
      const refused = await transfer(get(), w.who, {
        from_account_id: w.account.id,
        to_account_id: other.id,
        amount: 7451,
        currency: 'GBP',
      }).expect(422);
      expect(refused.body.code).toBe('insufficient_funds');
      expect(await balance(w)).toEqual({ balance: 10000, held_amount: 2550, available_balance: 7450 });
      // Another customer sees neither the card's authorisations nor the account.
      const bob = await verifiedCustomer(get(), admin, 'network.bob');
      await http().get(`/cards/${w.card.id}/authorisations`).set(bearer(bob.token)).expect(404);
      await http().get(`/cards/${w.card.id}`).set(bearer(bob.token)).expect(404);
      await http().get(`/accounts/${w.account.id}/balance`).set(bearer(bob.token)).expect(404);
      const history = await http()
        .get(`/transactions?account_id=${w.account.id}`)
        .set(bearer(bob.token))
        .expect(404);
      expect(history.body.details).toEqual([{ field: 'account_id', message: 'no such account of yours' }]);
    });

    it('still answers authorisations on a card whose limits are the largest a customer can set', async () => {
      const w = await wallet('largest-limits', 10000);
      const largest = 10 ** 15;
      await setLimits(w, w.card, { per_transaction: largest, daily: largest, monthly: largest });
      await http()
        .patch(`/cards/${w.card.id}/limits`)
        .set(bearer(w.who.token))
        .send({ monthly: largest + 1 })
        .expect(400);
      await approved(w.card);
      expect(await balance(w)).toEqual({ balance: 10000, held_amount: 2550, available_balance: 7450 });
    });

    it('clears at a higher amount (a tip): the hold is released and the ledger posts the final amount, with merchant and category', async () => {
      const w = await wallet('tip', 10000);
      const id = await approved(w.card);
      const cardPosted = async () =>
        metricValue(
          await scrapeMetrics(get().t, get().services.transactions ?? get().baseUrl),
          'ledger_amount_minor_total',
          { kind: 'card', currency: 'GBP' },
        );
      const postedBefore = await cardPosted();
      const res = await network('clearings', clearing(id, 2850)).expect(200);
      // The ledger counts what it posted: the amount cleared, not the one authorised.
      expect((await cardPosted()) - postedBefore).toBe(2850);
      expect(res.body).toEqual({
        cleared: true,
        authorisation_id: id,
        transaction_id: expect.any(String),
        amount: 2850,
        currency: 'GBP',
        forced: false,
      });
      const transactionId = res.body.transaction_id as string;
      expect(await balance(w)).toEqual({ balance: 7150, held_amount: 0, available_balance: 7150 });
      expect(await activeHolds(w.card.id)).toBe(0);
      expect(await authorisations(w)).toEqual([
        expect.objectContaining({
          id,
          status: 'cleared',
          amount: 2550,
          cleared_amount: 2850,
          transaction_id: transactionId,
          forced: false,
        }),
      ]);
      // The account's history shows the card payment with its merchant and category.
      const history = await http()
        .get(`/transactions?account_id=${w.account.id}`)
        .set(bearer(w.who.token))
        .expect(200);
      expect(history.body.data[0]).toMatchObject({
        id: transactionId,
        kind: 'card',
        amount: 2850,
        currency: 'GBP',
        merchant: 'Starbucks',
        category: 'eating_out',
        direction: 'debit',
        balance_after: 7150,
      });
      // So does its statement, as JSON and as CSV (the merchant the column before the time).
      const statement = await http()
        .get(`/accounts/${w.account.id}/statement`)
        .set(bearer(w.who.token))
        .expect(200);
      expect(statement.body.entries.at(-1)).toEqual({
        transaction_id: transactionId,
        kind: 'card',
        reference: null,
        merchant: 'Starbucks',
        amount: -2850,
        balance: 7150,
        created_at: expect.any(String),
      });
      expect(statement.body.entries[0]).toMatchObject({ kind: 'deposit', merchant: null });
      const statementCsv = await http()
        .get(`/accounts/${w.account.id}/statement`)
        .set(bearer(w.who.token))
        .set('Accept', 'text/csv')
        .expect(200);
      expect(statementCsv.text).toMatch(
        new RegExp(`,${transactionId},card,,-28\\.50,71\\.50,GBP,[0-9TZ:.-]+,"Starbucks"\\r\\n`),
      );
      // transaction.created carries them too, and card.cleared tells the authorised and the final amount.
      const created = await db.query(
        `SELECT payload FROM transactions.outbox WHERE name = 'transaction.created' AND payload->>'transaction_id' = $1`,
        [transactionId],
      );
      expect(created.rows).toEqual([
        {
          payload: expect.objectContaining({
            kind: 'card',
            amount: 2850,
            merchant: 'Starbucks',
            category: 'eating_out',
          }),
        },
      ]);
      const cleared = await db.query(
        `SELECT payload FROM cards.outbox WHERE name = 'card.cleared' AND payload->>'authorisation_id' = $1`,
        [id],
      );
      expect(cleared.rows).toEqual([
        {
          payload: expect.objectContaining({
            authorised_amount: 2550,
            amount: 2850,
            transaction_id: transactionId,
            merchant_name: 'Starbucks',
            category: 'eating_out',
            forced: false,
            last4: w.card.pan.slice(-4),
          }),
        },
      ]);
      // The customer is told the amount changed.
      await eventually(
        async () => {
          const list = await http().get('/notifications').set(bearer(w.who.token)).expect(200);
          return (list.body.data as { body: string }[]).find((n) =>
            n.body.includes('came to £28.50, not the £25.50'),
          );
        },
        15000,
        'the changed-amount notice',
      );
      // A second clearing of the same authorisation (another network id) is refused and posts nothing.
      const again = await network('clearings', clearing(id, 2850)).expect(409);
      expect(again.body.code).toBe('already_cleared');
      expect(await balance(w)).toEqual({ balance: 7150, held_amount: 0, available_balance: 7150 });

      // Lower than authorised (a partial shipment): the whole hold goes, only the amount cleared is posted.
      const partial = await approved(w.card, { amount: 5000, merchant: AMAZON, channel: 'online' });
      expect(await balance(w)).toMatchObject({ held_amount: 5000, available_balance: 2150 });
      await network('clearings', clearing(partial, 3000)).expect(200);
      expect(await balance(w)).toEqual({ balance: 4150, held_amount: 0, available_balance: 4150 });
      expect((await verify()).ok).toBe(true);
    });

    it("refuses a clearing or refund whose pan is not its authorisation's card (422 card_mismatch), moving nothing", async () => {
      const a = await wallet('mismatch.a', 10000);
      const b = await wallet('mismatch.b', 10000);
      const id = await approved(a.card);
      const before = [await balance(a), await balance(b)];
      const cleared = await network('clearings', clearing(id, 2550, { pan: b.card.pan })).expect(422);
      expect(cleared.body).toMatchObject({ code: 'card_mismatch', details: [{ field: 'pan' }] });
      const refund = {
        network_transaction_id: ntx(),
        authorisation_id: id,
        pan: b.card.pan,
        amount: 100,
        currency: 'GBP',
      };
      const refunded = await network('refunds', refund).expect(422);
      expect(refunded.body).toMatchObject({ code: 'card_mismatch', details: [{ field: 'pan' }] });
      expect([await balance(a), await balance(b)]).toEqual(before);
      // With the authorisation's own card number, both go through.
      await network('clearings', clearing(id, 2550, { pan: a.card.pan })).expect(200);
      await network('refunds', { ...refund, network_transaction_id: ntx(), pan: a.card.pan }).expect(200);
      expect(await balance(a)).toEqual({ balance: 7550, held_amount: 0, available_balance: 7550 });
    });

    it('accepts a forced post (no authorisation) that overdraws, and records it as forced', async () => {
      const w = await wallet('forced', 1000);
      const forcedId = ntx();
      const res = await network('clearings', {
        network_transaction_id: forcedId,
        amount: 1500,
        currency: 'GBP',
        pan: w.card.pan,
        merchant: AMAZON,
      }).expect(200);
      expect(res.body).toEqual({
        cleared: true,
        authorisation_id: null,
        transaction_id: expect.any(String),
        amount: 1500,
        currency: 'GBP',
        forced: true,
      });
      expect(await balance(w)).toEqual({ balance: -500, held_amount: 0, available_balance: 0 });
      // The network's retry with its fields in another order, the merchant's too, is the same message:
      // replayed, nothing debited again (the body's fields are fingerprinted sorted, a nested object's in
      // its class's order, whatever order they were sent in).
      const reordered = await network('clearings', {
        merchant: { country: 'GB', city: 'London', category_code: '5999', name: 'Amazon' },
        pan: w.card.pan,
        currency: 'GBP',
        amount: 1500,
        network_transaction_id: forcedId,
      }).expect(200);
      expect(reordered.body).toEqual(res.body);
      expect(await balance(w)).toEqual({ balance: -500, held_amount: 0, available_balance: 0 });
      const event = await db.query(
        `SELECT payload FROM cards.outbox WHERE name = 'card.cleared' AND payload->>'transaction_id' = $1`,
        [res.body.transaction_id],
      );
      expect(event.rows[0].payload).toMatchObject({
        authorisation_id: null,
        authorised_amount: null,
        card_id: w.card.id,
        amount: 1500,
        forced: true,
        merchant_name: 'Amazon',
        category: 'shopping',
      });
      const history = await http()
        .get(`/transactions?account_id=${w.account.id}`)
        .set(bearer(w.who.token))
        .expect(200);
      expect(history.body.data[0]).toMatchObject({
        id: res.body.transaction_id,
        kind: 'card',
        merchant: 'Amazon',
        category: 'shopping',
        balance_after: -500,
      });
      // The card's list shows it as what it is: cleared, forced, no channel (nothing was authorised).
      expect(await authorisations(w, 'cleared')).toEqual([
        expect.objectContaining({
          amount: 1500,
          cleared_amount: 1500,
          status: 'cleared',
          forced: true,
          channel: null,
          transaction_id: res.body.transaction_id,
          merchant: AMAZON,
          category: 'shopping',
        }),
      ]);
      // The customer is told: nothing was said at authorisation, since there was none.
      await eventually(
        async () => {
          const list = await http().get('/notifications').set(bearer(w.who.token)).expect(200);
          return (list.body.data as { body: string }[]).find((n) => n.body === '£15.00 spent at Amazon');
        },
        15000,
        'the forced post notice',
      );
      // An overdrawn account authorises nothing more.
      expect(await authorise(w.card, { amount: 100 })).toEqual({
        approved: false,
        decline_reason: 'insufficient_funds',
      });
      // An authorisation under the forced post's network id (funds there now) is refused, nothing held:
      // it used to be answered as an approval of the forced post's row, its hold left held.
      await deposit(get(), admin, w.account, 5000);
      const reused = await network(
        'authorisations',
        authorisation(w.card, { network_transaction_id: forcedId }),
      );
      expect(reused.status).toBe(422);
      expect(reused.body.code).toBe('idempotency_key_reused');
      expect(await balance(w)).toEqual({ balance: 4500, held_amount: 0, available_balance: 4500 });
      // Nor the other way round: a forced post under an authorisation's id (approved, held, or declined)
      // is refused naming the id, nothing debited, the hold left for that authorisation's own clearing.
      const heldId = ntx();
      await network(
        'authorisations',
        authorisation(w.card, { amount: 1000, network_transaction_id: heldId }),
      ).expect(200);
      const declinedId = ntx();
      const declined = await network(
        'authorisations',
        authorisation(w.card, { amount: 900000, network_transaction_id: declinedId }),
      ).expect(200);
      expect(declined.body).toMatchObject({ approved: false, decline_reason: 'insufficient_funds' });
      for (const id of [heldId, declinedId]) {
        const forcedOver = await network('clearings', {
          network_transaction_id: id,
          amount: 1000,
          currency: 'GBP',
          pan: w.card.pan,
          merchant: AMAZON,
        }).expect(422);
        expect(forcedOver.body).toMatchObject({
          code: 'idempotency_key_reused',
          details: [{ field: 'network_transaction_id', message: 'already used by an authorisation' }],
        });
      }
      expect(await balance(w)).toEqual({ balance: 4500, held_amount: 1000, available_balance: 3500 });
      expect((await authorisations(w, 'cleared')).length).toBe(1);
      // Copies of one forced post arriving together: one debit, every copy answered as the first (a copy
      // finding the first's row is not refused as if the id were an authorisation's).
      for (let round = 0; round < 5; round++) {
        const copy = {
          network_transaction_id: ntx(),
          amount: 10,
          currency: 'GBP',
          pan: w.card.pan,
          merchant: AMAZON,
        };
        const copies = await Promise.all(Array.from({ length: 6 }, () => network('clearings', copy)));
        expect(copies.map((r) => r.status)).toEqual(copies.map(() => 200));
        expect(new Set(copies.map((r) => r.body.transaction_id)).size).toBe(1);
      }
      expect(await balance(w)).toEqual({ balance: 4450, held_amount: 1000, available_balance: 3450 });
      // A forced post for a card that is not ours is 404; without pan and merchant, 400 naming the field.
      const unknown = await network('clearings', {
        network_transaction_id: ntx(),
        amount: 100,
        currency: 'GBP',
        pan: '4000000000000002',
        merchant: AMAZON,
      }).expect(404);
      expect(unknown.body.details).toEqual([{ field: 'pan', message: 'no such card' }]);
      const bare = await network('clearings', {
        network_transaction_id: ntx(),
        amount: 100,
        currency: 'GBP',
        pan: w.card.pan,
      }).expect(400);
      expect(bare.body.details[0].field).toBe('authorisation_id');
      expect(await balance(w)).toEqual({ balance: 4450, held_amount: 1000, available_balance: 3450 });
    });

    it('gives back a partial reversal once when its copies arrive together, or after the ledger released it and the answer was lost; a full one so lost still reads all released', async () => {
      // Before anything is stored in cards, every copy reached the ledger, which gave the amount back
      // once per copy: ten copies of 100 released 1,000 of a 1,000 hold.
      const w = await wallet('reverse.race', 10000);
      const id = await approved(w.card, { amount: 1000 });
      const partial = { authorisation_id: id, amount: 100, network_transaction_id: ntx() };
      const copies = await Promise.all(Array.from({ length: 10 }, () => network('reversals', partial)));
      const expected = { authorisation_id: id, status: 'pending', released: 100, remaining: 900 };
      expect(copies.map((r) => [r.status, r.body])).toEqual(copies.map(() => [200, expected]));
      expect(await balance(w)).toEqual({ balance: 10000, held_amount: 900, available_balance: 9100 });

      // The ledger released (a call whose reply was lost, or a crash before cards recorded it): the
      // network's retry gets that release's outcome and gives back nothing more.
      const lost = { authorisation_id: id, amount: 300, network_transaction_id: ntx() };
      await db.query(`SELECT * FROM transactions.release_hold($1, 300, 'reversed', $2)`, [
        id,
        lost.network_transaction_id,
      ]);
      const retried = await network('reversals', lost).expect(200);
      expect(retried.body).toEqual({
        authorisation_id: id,
        status: 'pending',
        released: 300,
        remaining: 600,
      });
      // (Read from the ledger's row: the release above, made in SQL, did not refresh the balance cache.)
      const held = async () =>
        (await db.query(`SELECT held::int FROM transactions.ledger_accounts WHERE id = $1`, [w.account.id]))
          .rows[0].held as number;
      expect(await held()).toBe(600);

      // One network id for reversals of two holds sent at once: one gives back, the other is refused.
      const other = await approved(w.card, { amount: 1000 });
      const shared = ntx();
      const both = await Promise.all(
        [id, other].map((authorisation_id) =>
          network('reversals', { authorisation_id, amount: 50, network_transaction_id: shared }),
        ),
      );
      expect(both.map((r) => r.status).sort()).toEqual([200, 422]);
      expect(both.find((r) => r.status === 422)!.body.code).toBe('idempotency_key_reused');
      expect(await held()).toBe(1550);
      expect(await balance(w)).toEqual({ balance: 10000, held_amount: 1550, available_balance: 8450 });
      expect((await verify()).ok).toBe(true);
      const [row] = (
        await db.query(`SELECT released_amount::int FROM cards.authorisations WHERE id = $1`, [id])
      ).rows;
      expect(row.released_amount).toBe(both[0].status === 200 ? 450 : 400);

      // A full reversal (no id) whose reply was lost: the retry releases nothing more, and the row still
      // records all of the hold as released, not only what this answer gave back.
      await db.query(`SELECT * FROM transactions.release_hold($1, NULL, 'reversed')`, [id]);
      const full = await network('reversals', { authorisation_id: id }).expect(200);
      expect(full.body).toEqual({ authorisation_id: id, status: 'reversed', released: 0, remaining: 0 });
      const [after] = (
        await db.query(`SELECT status, released_amount::int FROM cards.authorisations WHERE id = $1`, [id])
      ).rows;
      expect(after).toEqual({ status: 'reversed', released_amount: 1000 });
    });

    it('reverses part then all of a hold; a retried partial reversal gives back once', async () => {
      const w = await wallet('reverse', 10000);
      const id = await approved(w.card, { amount: 5000 });
      const partial = { authorisation_id: id, amount: 2000, network_transaction_id: ntx() };
      const first = await network('reversals', partial).expect(200);
      expect(first.body).toEqual({
        authorisation_id: id,
        status: 'pending',
        released: 2000,
        remaining: 3000,
      });
      expect(await balance(w)).toEqual({ balance: 10000, held_amount: 3000, available_balance: 7000 });
      // The network retries: the same answer, nothing given back twice.
      for (let i = 0; i < 2; i++) {
        expect((await network('reversals', partial).expect(200)).body).toEqual(first.body);
      }
      const raced = await Promise.all(
        Array.from({ length: 4 }, () => network('reversals', partial).expect(200)),
      );
      for (const r of raced) expect(r.body).toEqual(first.body);
      expect(await balance(w)).toEqual({ balance: 10000, held_amount: 3000, available_balance: 7000 });
      // Its owner is told of the part once, however often the network sent it.
      expect(await releasedEvents(id)).toEqual([{ released: 2000, remaining: 3000, reason: 'reversed' }]);
      // The same id with another reversal is refused.
      const reused = await network('reversals', { ...partial, amount: 1000 }).expect(422);
      expect(reused.body.code).toBe('idempotency_key_reused');
      // More than any card amount can be (the ledger's bound, 10^15): 400 naming the field, nothing given back.
      const huge = await network('reversals', {
        ...partial,
        amount: 10 ** 15 + 1,
        network_transaction_id: ntx(),
      });
      expect(huge.status).toBe(400);
      expect(huge.body.details).toEqual([
        { field: 'amount', message: 'amount must not exceed 1000000000000000 minor units' },
      ]);
      expect(await balance(w)).toEqual({ balance: 10000, held_amount: 3000, available_balance: 7000 });
      expect(await authorisations(w, 'pending')).toEqual([
        expect.objectContaining({ id, status: 'pending' }),
      ]);

      // A full reversal gives back the rest; repeating it gives back nothing.
      const full = await network('reversals', { authorisation_id: id }).expect(200);
      expect(full.body).toEqual({ authorisation_id: id, status: 'reversed', released: 3000, remaining: 0 });
      const repeat = await network('reversals', { authorisation_id: id }).expect(200);
      expect(repeat.body).toEqual({ authorisation_id: id, status: 'reversed', released: 0, remaining: 0 });
      expect(await balance(w)).toEqual({ balance: 10000, held_amount: 0, available_balance: 10000 });
      expect(await authorisations(w, 'reversed')).toEqual([expect.objectContaining({ id })]);
      expect(await activeHolds(w.card.id)).toBe(0);
      expect(await releasedEvents(id)).toEqual([
        { released: 2000, remaining: 3000, reason: 'reversed' },
        { released: 3000, remaining: 0, reason: 'reversed' },
      ]);

      // A clearing after the reversal is owed all the same: posted, as forced (nothing was held). Its
      // event says all of it had been given back, so its owner is told the money was taken after all.
      const late = await network('clearings', clearing(id, 4000)).expect(200);
      expect(late.body).toMatchObject({ authorisation_id: id, forced: true });
      const [lateEvent] = (
        await db.query(
          `SELECT payload FROM cards.outbox WHERE name = 'card.cleared' AND payload->>'authorisation_id' = $1`,
          [id],
        )
      ).rows;
      expect(lateEvent.payload).toMatchObject({
        amount: 4000,
        authorised_amount: 5000,
        released_amount: 5000,
      });
      expect(await balance(w)).toEqual({ balance: 6000, held_amount: 0, available_balance: 6000 });
      expect(await authorisations(w, 'cleared')).toEqual([
        expect.objectContaining({ id, cleared_amount: 4000, forced: true }),
      ]);
      // But only once: another clearing of it (another network id) is refused, racing or not.
      const again = await Promise.all(
        Array.from({ length: 3 }, () => network('clearings', clearing(id, 4000)).expect(409)),
      );
      for (const r of again) expect(r.body.code).toBe('already_cleared');
      expect(await balance(w)).toEqual({ balance: 6000, held_amount: 0, available_balance: 6000 });
      expect(await authorisations(w, 'cleared')).toEqual([
        expect.objectContaining({ id, cleared_amount: 4000, transaction_id: late.body.transaction_id }),
      ]);
      // Unknown authorisations are 404.
      await network('reversals', { authorisation_id: randomUUID() }).expect(404);
      expect((await verify()).ok).toBe(true);
    });

    it('gives back the hold of an authorisation the network reverses by its own id, answered or not (a timeout reversal)', async () => {
      const w = await wallet('reverse.unanswered', 10000);
      const body = authorisation(w.card, { amount: 4321 });
      const id = holdIdOf(body.network_transaction_id);
      const split = get().kind === 'split';
      const lock = await get().t.db();
      let answer: request.Response;
      try {
        // Split: the cards app gives up on the ledger's reply (RPC_TIMEOUT_MS) and answers 504; the
        // ledger, let go after, places the hold all the same, and no decision is recorded for it.
        // Monolith: the call waits and the approval is recorded; the network reverses it by its id.
        const rpcTimeoutMs = Number(get().env.RPC_TIMEOUT_MS ?? 5000);
        answer = await authoriseWhileLedgerWaits(
          lock,
          w,
          body,
          () => (split ? new Promise((r) => setTimeout(r, rpcTimeoutMs + 1000)) : Promise.resolve()),
          'the network timing out',
        );
      } finally {
        await lock.end();
      }
      if (split) {
        expect({ status: answer.status, code: answer.body.code }).toEqual({
          status: 504,
          code: 'dependency_timeout',
        });
        await untilHeld(w, 4321, 'the hold placed after the call was given up');
        expect(await authorisations(w)).toEqual([]);
      } else {
        expect(answer.body).toEqual({ approved: true, authorisation_id: id });
      }
      const reversal = await network('reversals', {
        original_network_transaction_id: body.network_transaction_id,
      }).expect(200);
      expect(reversal.body).toEqual({
        authorisation_id: id,
        status: 'reversed',
        released: 4321,
        remaining: 0,
      });
      expect(await balance(w)).toEqual({ balance: 10000, held_amount: 0, available_balance: 10000 });
      expect(await activeHolds(w.card.id)).toBe(0);
      const repeat = await network('reversals', {
        original_network_transaction_id: body.network_transaction_id,
      }).expect(200);
      expect(repeat.body).toEqual({ authorisation_id: id, status: 'reversed', released: 0, remaining: 0 });
      // The network's repeat of the authorisation after its reversal, answered or not: declined
      // `reversed`, nothing held again, nothing more recorded (split: nothing at all; monolith: the
      // approval, reversed).
      const listed = await authorisations(w);
      expect(await authorise(w.card, body)).toEqual({ approved: false, decline_reason: 'reversed' });
      expect(await heldByLedger(w)).toBe(0);
      expect(await authorisations(w)).toEqual(listed);

      // An id no authorisation had: 404 naming it. Neither way of naming one, or both: 400.
      const unknown = await network('reversals', { original_network_transaction_id: ntx() }).expect(404);
      expect(unknown.body.details).toEqual([
        { field: 'original_network_transaction_id', message: expect.any(String) },
      ]);
      const neither = await network('reversals', {}).expect(400);
      expect(neither.body.details).toEqual([{ field: 'authorisation_id', message: expect.any(String) }]);
      const both = await network('reversals', {
        authorisation_id: id,
        original_network_transaction_id: body.network_transaction_id,
      }).expect(400);
      expect(both.body.details).toEqual([
        { field: 'original_network_transaction_id', message: expect.any(String) },
      ]);
      expect((await verify()).ok).toBe(true);
    });

    it('declines `reversed` an authorisation the network reversed in full before it came, or since, holding and recording nothing', async () => {
      const w = await wallet('reverse.first', 10000);
      const cards = () => get().services.cards ?? get().baseUrl;
      const declinedReversed = async () =>
        metricValue(await scrapeMetrics(get().t, cards()), 'card_authorisations_total', {
          outcome: 'declined',
          reason: 'reversed',
        });
      const before = await declinedReversed();
      // The network's timeout reversal overtakes its authorisation: nothing is held yet (404, written down).
      const body = authorisation(w.card, { amount: 1500 });
      await network('reversals', { original_network_transaction_id: body.network_transaction_id }).expect(
        404,
      );
      // The authorisation, and its retry: declined, without a hold placed (the ledger has none under its id)
      // or anything recorded for the card (no decline in its list, nothing told to its owner).
      for (let i = 0; i < 2; i++) {
        expect(await authorise(w.card, body)).toEqual({ approved: false, decline_reason: 'reversed' });
      }
      const holds = await db.query(`SELECT 1 FROM transactions.holds WHERE id = $1`, [
        holdIdOf(body.network_transaction_id),
      ]);
      expect(holds.rowCount).toBe(0);
      expect(await authorisations(w)).toEqual([]);
      expect(await balance(w)).toEqual({ balance: 10000, held_amount: 0, available_balance: 10000 });
      expect((await declinedReversed()) - before).toBe(2);

      // One approved and reversed since: a retry of it is declined `reversed` too, while after a part is
      // reversed it is still approved (part of it is held).
      const later = authorisation(w.card, { amount: 1000 });
      const id = holdIdOf(later.network_transaction_id);
      expect(await authorise(w.card, later)).toEqual({ approved: true, authorisation_id: id });
      await network('reversals', { authorisation_id: id, amount: 400, network_transaction_id: ntx() }).expect(
        200,
      );
      expect(await authorise(w.card, later)).toEqual({ approved: true, authorisation_id: id });
      await network('reversals', { authorisation_id: id }).expect(200);
      expect(await authorise(w.card, later)).toEqual({ approved: false, decline_reason: 'reversed' });
      expect(await authorisations(w)).toEqual([expect.objectContaining({ id, status: 'reversed' })]);

      // An approval recorded while its full reversal by the network's id was being written down, whose
      // attempt has not looked for that yet (or stopped first; the sweep's look is put off here): a repeat
      // gives its hold back and is declined `reversed` too, never approved with nothing held.
      const raced = authorisation(w.card, { amount: 700 });
      const racedId = holdIdOf(raced.network_transaction_id);
      expect(await authorise(w.card, raced)).toEqual({ approved: true, authorisation_id: racedId });
      await db.query(
        `INSERT INTO cards.early_reversals (network_transaction_id, next_check_at)
         VALUES ($1, now() + interval '1 hour')`,
        [raced.network_transaction_id],
      );
      expect(await authorise(w.card, raced)).toEqual({ approved: false, decline_reason: 'reversed' });
      expect(await heldByLedger(w)).toBe(0);
      expect(await authorisations(w)).toEqual([
        expect.objectContaining({ id: racedId, status: 'reversed' }),
        expect.objectContaining({ id, status: 'reversed' }),
      ]);
      expect(await balance(w)).toEqual({ balance: 10000, held_amount: 0, available_balance: 10000 });
      expect((await verify()).ok).toBe(true);
    });

    /**
     * An authorisation the network reverses by its own id while the ledger decides it (its account row
     * held here): no decision is recorded and no hold placed yet, and the reversal, not waited for (it may
     * wait in the ledger behind the authorisation too), is written down; the approval, recorded after,
     * finds it. The network's answer to the authorisation.
     */
    const reversedWhileDecided = async (w: Wallet, body: { network_transaction_id: string }) => {
      const lock = await get().t.db();
      let reversal: Promise<request.Response> | undefined;
      try {
        const answer = await authoriseWhileLedgerWaits(
          lock,
          w,
          body,
          async () => {
            reversal = network('reversals', {
              original_network_transaction_id: body.network_transaction_id,
            }).then((res) => res);
            await eventually(
              async () =>
                (
                  await db.query(`SELECT 1 FROM cards.early_reversals WHERE network_transaction_id = $1`, [
                    body.network_transaction_id,
                  ])
                ).rowCount
                  ? true
                  : undefined,
              10000,
              'the reversal written down',
            );
          },
          'a reversal arriving first',
        );
        expect([404, 200]).toContain((await reversal!).status);
        return answer;
      } finally {
        await lock.end();
      }
    };
    /** The events cards wrote of an authorisation, oldest first. */
    const cardEvents = async (id: string) =>
      (
        await db.query(
          `SELECT name FROM cards.outbox WHERE payload->>'authorisation_id' = $1 ORDER BY created_at, name`,
          [id],
        )
      ).rows.map((r: { name: string }) => r.name);
    type CardNotice = { type: string; data: { authorisation_id?: string } };
    /** The card notices of `w`'s owner, once `done` says they are all there. */
    const cardNotices = (w: Wallet, done: (notices: CardNotice[]) => boolean) =>
      eventually(
        async () => {
          const res = await http().get('/notifications?limit=100').set(bearer(w.who.token)).expect(200);
          const card = (res.body.data as CardNotice[]).filter((n) => n.type.startsWith('card.'));
          return done(card) ? card : undefined;
        },
        15000,
        'the card notices',
      );
    const of = (id: string) => (n: CardNotice) => n.data.authorisation_id === id;
    /**
     * Authorisation `id` of `w` reads reversed, its hold given back, and its owner was told nothing of it:
     * a later card event of the same card is relayed and told, and by then nothing of this one was.
     */
    /**
     * Authorisation `id`'s record (its row's INSERT) held at a gate, after the ledger placed its hold: a
     * trigger on the INSERT waits for an advisory lock the gate's own connection holds until `open`. And
     * cards' relays held from claiming (`relayHeld`, until its ROLLBACK), so that every event could still
     * be taken back. `close` lets go of both and drops the trigger.
     */
    const gateRecording = async (id: string) => {
      const [gate, relayHeld] = await Promise.all([get().t.db(), get().t.db()]);
      const trigger = `test_gate_${id.replace(/-/g, '')}`;
      await db.query(
        `CREATE FUNCTION public.${trigger}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
           PERFORM pg_advisory_xact_lock(hashtext('${id}')); RETURN NEW;
         END $$`,
      );
      await db.query(
        `CREATE TRIGGER ${trigger} BEFORE INSERT ON cards.authorisations FOR EACH ROW
           WHEN (NEW.id = '${id}') EXECUTE FUNCTION public.${trigger}()`,
      );
      await relayHeld.query('BEGIN');
      await relayHeld.query(`SELECT pg_advisory_xact_lock($1, hashtext('cards'))`, [OUTBOX_CLAIM_LOCK]);
      await gate.query(`SELECT pg_advisory_lock(hashtext($1))`, [id]);
      return {
        open: () => gate.query(`SELECT pg_advisory_unlock(hashtext($1))`, [id]),
        close: async () => {
          await relayHeld.query('ROLLBACK');
          await gate.query(`SELECT pg_advisory_unlock_all()`);
          await Promise.all([gate.end(), relayHeld.end()]);
          await db.query(`DROP TRIGGER IF EXISTS ${trigger} ON cards.authorisations`);
          await db.query(`DROP FUNCTION IF EXISTS public.${trigger}()`);
        },
      };
    };
    const expectUntold = async (w: Wallet, id: string) => {
      expect(await untilHeld(w, 0, 'the hold given back')).toMatchObject({ held_amount: 0 });
      expect(await authorisations(w)).toEqual([expect.objectContaining({ id, status: 'reversed' })]);
      const later = await approved(w.card, { amount: 100 });
      const told = await cardNotices(w, (notices) => notices.some(of(later)));
      expect(told.filter(of(id))).toEqual([]);
      expect((await verify()).ok).toBe(true);
    };

    it('tells its owner nothing of an approval the network reversed before the answer, while no relay had it', async () => {
      const w = await wallet('reverse.untold', 10000);
      const body = authorisation(w.card, { amount: 1999 });
      const id = holdIdOf(body.network_transaction_id);
      const relayHeld = await get().t.db();
      try {
        // Cards' relays wait for their turn to claim (held here), so the approval's card.authorised is
        // still unclaimed when the approval finds the network's reversal written down.
        await relayHeld.query('BEGIN');
        await relayHeld.query(`SELECT pg_advisory_xact_lock($1, hashtext('cards'))`, [OUTBOX_CLAIM_LOCK]);
        const answer = await reversedWhileDecided(w, body);
        expect(answer.body).toEqual({ approved: false, decline_reason: 'reversed' });
        // Neither "spent" nor "cancelled": its card.authorised was taken back, and nothing released told.
        expect(await cardEvents(id)).toEqual([]);
      } finally {
        await relayHeld.query('ROLLBACK');
        await relayHeld.end();
      }
      await expectUntold(w, id);
    });

    it('tells both "spent" and "cancelled" of such an approval when a relay had delivered its "spent" first', async () => {
      const w = await wallet('reverse.claimed', 10000);
      const body = authorisation(w.card, { amount: 1888 });
      const id = holdIdOf(body.network_transaction_id);
      // Just before the approval is marked reversed, its card.authorised as a relay leaves one it claimed
      // and delivered but did not mark published (it stopped, or the broker's confirm was lost): due again
      // and unpublished, but delivered, so no longer to be taken back (helper-163).
      const trigger = `test_claimed_${id.replace(/-/g, '')}`;
      await db.query(
        `CREATE FUNCTION public.${trigger}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
           UPDATE cards.outbox SET next_attempt_at = clock_timestamp() - interval '1 millisecond'
            WHERE name = 'card.authorised' AND payload->>'authorisation_id' = OLD.id::text;
           RETURN NEW;
         END $$`,
      );
      await db.query(
        `CREATE TRIGGER ${trigger} BEFORE UPDATE ON cards.authorisations FOR EACH ROW
           WHEN (OLD.id = '${id}' AND NEW.status = 'reversed') EXECUTE FUNCTION public.${trigger}()`,
      );
      try {
        const answer = await reversedWhileDecided(w, body);
        expect(answer.body).toEqual({ approved: false, decline_reason: 'reversed' });
      } finally {
        await db.query(`DROP TRIGGER IF EXISTS ${trigger} ON cards.authorisations`);
        await db.query(`DROP FUNCTION IF EXISTS public.${trigger}()`);
      }
      expect(await cardEvents(id)).toEqual(['card.authorised', 'card.released']);
      const told = await cardNotices(w, (notices) => notices.filter(of(id)).length >= 2);
      expect(
        told
          .filter(of(id))
          .map((n) => n.type)
          .sort(),
      ).toEqual(['card.payment_cancelled', 'card.spent']);
      expect((await verify()).ok).toBe(true);
    });

    it('tells its owner nothing of such an approval when the reversal marks it reversed before the approval does', async () => {
      const w = await wallet('reverse.marks', 10000);
      const body = authorisation(w.card, { amount: 1777 });
      const id = holdIdOf(body.network_transaction_id);
      const [inFlight, earlyTable] = await Promise.all([get().t.db(), get().t.db()]);
      // The approval's record waits at the gate, so that the reversal finds no decision recorded but a hold
      // to give back; its card.authorised stays unclaimed.
      const gate = await gateRecording(id);
      try {
        const approval = network('authorisations', body).then((res) => res);
        await lockWaiters(db, 1, '%INSERT INTO cards.authorisations%', 'the approval held at the gate');
        // Written down as the reversal would, with the sweep's look at it put off.
        await db.query(
          `INSERT INTO cards.early_reversals (network_transaction_id, next_check_at)
           VALUES ($1, now() + interval '1 hour')`,
          [body.network_transaction_id],
        );
        // The reversal gives the hold back, and its record waits (below) until the approval is recorded.
        await inFlight.query('BEGIN');
        await inFlight.query('LOCK TABLE cards.reversals_in_flight IN ACCESS EXCLUSIVE MODE');
        const reversal = network('reversals', {
          original_network_transaction_id: body.network_transaction_id,
        }).then((res) => res);
        await lockWaiters(db, 1, '%DELETE FROM cards.reversals_in_flight%', "the reversal's record waiting");
        // The approval is recorded, and waits before it looks for the reversal.
        await earlyTable.query('BEGIN');
        await earlyTable.query('LOCK TABLE cards.early_reversals IN ACCESS EXCLUSIVE MODE');
        await gate.open();
        await lockWaiters(db, 1, '%FROM cards.early_reversals%', 'the approval looking for the reversal');
        expect((await db.query(`SELECT status FROM cards.authorisations WHERE id = $1`, [id])).rows).toEqual([
          { status: 'pending' },
        ]);
        // The reversal's record marks it reversed first, then the approval finds the reversal.
        await inFlight.query('COMMIT');
        expect((await reversal).body).toMatchObject({
          authorisation_id: id,
          status: 'reversed',
          released: 1777,
        });
        await earlyTable.query('COMMIT');
        expect((await approval).body).toEqual({ approved: false, decline_reason: 'reversed' });
        // Neither "spent" nor "cancelled" (before, both: helper-163 L2).
        expect(await cardEvents(id)).toEqual([]);
      } finally {
        await Promise.all([inFlight, earlyTable].map((c) => c.query('ROLLBACK')));
        await Promise.all([inFlight, earlyTable].map((c) => c.end()));
        await gate.close();
      }
      await expectUntold(w, id);
    });

    it('tells "spent" and each part given back when two partial reversals straddle the approval, the first told before the second gives back the rest', async () => {
      const w = await wallet('reverse.parts', 10000);
      const body = authorisation(w.card, { amount: 1777 });
      const id = holdIdOf(body.network_transaction_id);
      const [inFlight, holdLock] = await Promise.all([get().t.db(), get().t.db()]);
      const part = (amount: number) =>
        network('reversals', {
          original_network_transaction_id: body.network_transaction_id,
          network_transaction_id: ntx(),
          amount,
        }).then((res) => res);
      const gate = await gateRecording(id);
      try {
        const approval = network('authorisations', body).then((res) => res);
        await lockWaiters(db, 1, '%INSERT INTO cards.authorisations%', 'the approval held at the gate');
        // A part, begun before any decision is recorded: it gives back 500, and its record waits.
        await inFlight.query('BEGIN');
        await inFlight.query('LOCK TABLE cards.reversals_in_flight IN ACCESS EXCLUSIVE MODE');
        const first = part(500);
        await lockWaiters(
          db,
          1,
          '%DELETE FROM cards.reversals_in_flight%',
          "the first part's record waiting",
        );
        // The rest, begun before any decision is recorded too, waits in the ledger for the hold.
        await holdLock.query('BEGIN');
        await holdLock.query(`SELECT 1 FROM transactions.holds WHERE id = $1 FOR UPDATE`, [id]);
        const rest = part(1277);
        await lockWaiters(db, 1, '%card_calls%', 'the rest waiting in the ledger');
        await gate.open();
        expect((await approval).body).toEqual({ approved: true, authorisation_id: id });
        await inFlight.query('COMMIT');
        expect((await first).body).toMatchObject({ status: 'pending', released: 500, remaining: 1277 });
        await holdLock.query('COMMIT');
        expect((await rest).body).toMatchObject({ status: 'reversed', released: 1277, remaining: 0 });
        // "Spent" stays once a part was told given back (before, only "£5.00 back" was left: helper-165 L1).
        const told = await db.query(
          `SELECT name, payload->>'released' AS released FROM cards.outbox
            WHERE payload->>'authorisation_id' = $1 ORDER BY created_at, name`,
          [id],
        );
        expect(told.rows).toEqual([
          { name: 'card.authorised', released: null },
          { name: 'card.released', released: '500' },
          { name: 'card.released', released: '1277' },
        ]);
      } finally {
        await Promise.all([inFlight, holdLock].map((c) => c.query('ROLLBACK')));
        await Promise.all([inFlight, holdLock].map((c) => c.end()));
        await gate.close();
      }
      expect(await untilHeld(w, 0, 'the hold given back')).toMatchObject({ held_amount: 0 });
      expect((await verify()).ok).toBe(true);
    });

    it('gives back the hold of an authorisation the network reversed by its own id while it was decided, and shows it reversed', async () => {
      const w = await wallet('reverse.early', 10000);
      const body = authorisation(w.card, { amount: 2345 });
      const id = holdIdOf(body.network_transaction_id);
      // The reversal is answered before its hold was placed (404: nothing held yet) or after, once the
      // ledger went on (the hold given back); either way the approval recorded after it gives its hold back.
      const answer = await reversedWhileDecided(w, body);
      // The network is told so: nothing is held for it (before 2026-12-07, approved).
      expect(answer.body).toEqual({ approved: false, decline_reason: 'reversed' });
      expect(await untilHeld(w, 0, 'the hold given back')).toEqual({
        balance: 10000,
        held_amount: 0,
        available_balance: 10000,
      });
      expect(await activeHolds(w.card.id)).toBe(0);
      expect(await authorisations(w)).toEqual([
        expect.objectContaining({ id, status: 'reversed', amount: 2345 }),
      ]);
      const [row] = (
        await db.query(`SELECT released_amount::int FROM cards.authorisations WHERE id = $1`, [id])
      ).rows;
      expect(row.released_amount).toBe(2345);
      expect((await verify()).ok).toBe(true);

      // Kept as long as a hold: the hold expiry sweep (every second here) deletes it once older.
      await db.query(
        `UPDATE cards.early_reversals SET created_at = now() - interval '8 days' WHERE network_transaction_id = $1`,
        [body.network_transaction_id],
      );
      await eventually(
        async () =>
          (
            await db.query(`SELECT 1 FROM cards.early_reversals WHERE network_transaction_id = $1`, [
              body.network_transaction_id,
            ])
          ).rowCount === 0
            ? true
            : undefined,
        20000,
        'the written-down reversal deleted',
      );
    });

    it('gives back a hold the ledger placed after the reversal by its id found none (an authorisation call given up on)', async () => {
      const w = await wallet('reverse.late.hold', 10000);
      const body = authorisation(w.card, { amount: 1500 });
      const id = holdIdOf(body.network_transaction_id);
      const heldInLedger = () => heldByLedger(w);
      const nextCheck = async (networkId: string) =>
        (
          await db.query(
            `SELECT next_check_at FROM cards.early_reversals WHERE network_transaction_id = $1`,
            [networkId],
          )
        ).rows[0].next_check_at as Date | null;
      // The ledger places a hold, as a call the cards app gave up on (504 in split mode) does when the
      // ledger decides it late: straight through its function here, with nothing recorded in cards.
      const placeLate = async (networkId: string, amount: number) => {
        const [decided] = (
          await db.query(
            `SELECT outcome FROM transactions.authorise_card($1, $2, $3, $4, $5, $6, 'GBP', 'Starbucks',
                    'eating_out', NULL, NULL, now() + interval '7 days', 'Europe/London')`,
            [holdIdOf(networkId), networkId, w.card.id, w.account.id, w.who.id, amount],
          )
        ).rows;
        expect(decided.outcome).toBe('approved');
      };
      const timeoutReversal = (networkId: string) =>
        network('reversals', { original_network_transaction_id: networkId }).expect(404);
      // The network's timeout reversal comes while nothing is held yet: 404, and the id is written down.
      await timeoutReversal(body.network_transaction_id);
      // Another came 16 minutes ago, and no sweep has run since its first check (the app or Redis away);
      // a third never has a hold.
      const [overdue, never] = [ntx(), ntx()];
      for (const networkId of [overdue, never]) {
        await timeoutReversal(networkId);
        await db.query(
          `UPDATE cards.early_reversals SET created_at = now() - interval '16 minutes',
                  next_check_at = now() - interval '10 minutes' WHERE network_transaction_id = $1`,
          [networkId],
        );
      }
      await placeLate(body.network_transaction_id, 1500);
      await placeLate(overdue, 700);
      expect(await heldInLedger()).toBe(2200);
      // The hold expiry sweep (every second here) gives both back: no authorisation, nothing held.
      await eventually(
        async () => ((await heldInLedger()) === 0 ? true : undefined),
        20000,
        'the late holds given back',
      );
      const holds = await db.query(`SELECT status FROM transactions.holds WHERE id = ANY($1::uuid[])`, [
        [id, holdIdOf(overdue)],
      ]);
      expect(holds.rows).toEqual([{ status: 'reversed' }, { status: 'reversed' }]);
      expect(await authorisations(w)).toEqual([]);
      expect(await balance(w)).toEqual({ balance: 10000, held_amount: 0, available_balance: 10000 });
      // Each is asked about no more: its hold was found, or it was asked past the 15 minutes.
      await eventually(
        async () => ((await nextCheck(never)) === null ? true : undefined),
        20000,
        'the id with no hold asked about past its window, then no more',
      );
      expect(await nextCheck(body.network_transaction_id)).toBeNull();
      expect(await nextCheck(overdue)).toBeNull();
      // A retry of the authorisation by the network after that is declined `reversed`: nothing is held
      // or recorded for it (before 2026-12-07: approved, with nothing held, and recorded reversed).
      expect(await authorise(w.card, body)).toEqual({ approved: false, decline_reason: 'reversed' });
      expect(await authorisations(w)).toEqual([]);
      expect(await heldInLedger()).toBe(0);
      // An approval recorded while its reversal was written down, whose app stopped before it looked for
      // it (as if): the pass gives its hold back and marks it reversed.
      const stopped = ntx();
      const stoppedId = await approved(w.card, { amount: 400, network_transaction_id: stopped });
      expect(await heldInLedger()).toBe(400);
      await db.query(
        `INSERT INTO cards.early_reversals (network_transaction_id, next_check_at) VALUES ($1, now())`,
        [stopped],
      );
      await eventually(
        async () => ((await heldInLedger()) === 0 ? true : undefined),
        20000,
        'the approval recorded before its reversal was looked for given back',
      );
      // Marked reversed once the ledger has given the hold back (HoldExpiry: release, then mark): in split
      // mode the mark may come a moment after the ledger's answer.
      await untilStatus(
        w,
        stoppedId,
        'reversed',
        'the approval marked reversed after its hold was given back',
      );
      expect(await authorisations(w)).toEqual([
        expect.objectContaining({ id: stoppedId, status: 'reversed' }),
      ]);
      // A retry of it after that is declined `reversed` too: nothing is held for it.
      expect(await authorise(w.card, { amount: 400, network_transaction_id: stopped })).toEqual({
        approved: false,
        decline_reason: 'reversed',
      });
      expect(await nextCheck(stopped)).toBeNull();
      expect((await verify()).ok).toBe(true);
    });

    it('brings in line an authorisation whose reversal the ledger made but whose answer was lost (a timeout, the app stopped)', async () => {
      const w = await wallet('reverse.lost', 10000);
      const id = await approved(w.card, { amount: 1200 });
      const inFlight = async (authorisationId: string) =>
        (
          await db.query(
            `SELECT count(*)::int AS n FROM cards.reversals_in_flight WHERE authorisation_id = $1`,
            [authorisationId],
          )
        ).rows[0].n as number;
      // As a reversal writes before its ledger call (due now here, not in 30 s); the ledger releases the
      // hold, and then the call's answer is lost: nothing more runs in cards, and the network does not
      // send the reversal again.
      await db.query(
        `INSERT INTO cards.reversals_in_flight (authorisation_id, next_check_at) VALUES ($1, now())`,
        [id],
      );
      await db.query(`SELECT 1 FROM transactions.release_hold($1, NULL, 'reversed')`, [id]);
      // The hold expiry sweep (every second here) marks it as its hold reads, and strikes the entry off.
      await untilStatus(w, id, 'reversed', 'the authorisation brought in line with its released hold');
      const [row] = (
        await db.query(`SELECT released_amount::int FROM cards.authorisations WHERE id = $1`, [id])
      ).rows;
      expect(row.released_amount).toBe(1200);
      expect(await inFlight(id)).toBe(0);
      // Told by the sweep, as the reversal's own record would have told it.
      expect(await releasedEvents(id)).toEqual([{ released: 1200, remaining: 0, reason: 'reversed' }]);
      // A partial reversal lost the same way: still pending, with the part its hold gave back recorded as
      // released (before 2026-12-07 it stayed at 0).
      const part = await approved(w.card, { amount: 500 });
      await db.query(
        `INSERT INTO cards.reversals_in_flight (authorisation_id, next_check_at) VALUES ($1, now())`,
        [part],
      );
      const lost = ntx();
      await db.query(`SELECT 1 FROM transactions.release_hold($1, 150, 'reversed', $2)`, [part, lost]);
      await eventually(
        async () => ((await inFlight(part)) === 0 ? true : undefined),
        20000,
        'the entry of a partial reversal looked at',
      );
      const [partRow] = (
        await db.query(`SELECT status, released_amount::int FROM cards.authorisations WHERE id = $1`, [part])
      ).rows;
      expect(partRow).toEqual({ status: 'pending', released_amount: 150 });
      // The network sends it again after all: the ledger replays the part, which is not counted twice.
      const resent = await network('reversals', {
        authorisation_id: part,
        amount: 150,
        network_transaction_id: lost,
      }).expect(200);
      expect(resent.body).toEqual({
        authorisation_id: part,
        status: 'pending',
        released: 150,
        remaining: 350,
      });
      const [resentRow] = (
        await db.query(`SELECT released_amount::int FROM cards.authorisations WHERE id = $1`, [part])
      ).rows;
      expect(resentRow.released_amount).toBe(150);
      await network('reversals', { authorisation_id: part }).expect(200);
      // The part told once (by the sweep, not again by the network's copy), then the rest.
      expect(await releasedEvents(part)).toEqual([
        { released: 150, remaining: 350, reason: 'reversed' },
        { released: 350, remaining: 0, reason: 'reversed' },
      ]);
      // One whose hold expires before the network sends it again: all of it released, the part not lost.
      const expiring = await approved(w.card, { amount: 500 });
      const lostAgain = ntx();
      await db.query(`SELECT 1 FROM transactions.release_hold($1, 150, 'reversed', $2)`, [
        expiring,
        lostAgain,
      ]);
      await db.query(`UPDATE transactions.holds SET expires_at = now() - interval '1 minute' WHERE id = $1`, [
        expiring,
      ]);
      await untilExpired(w, expiring, 'the partly reversed authorisation expired');
      await network('reversals', {
        authorisation_id: expiring,
        amount: 150,
        network_transaction_id: lostAgain,
      }).expect(200);
      const [expiredRow] = (
        await db.query(`SELECT status, released_amount::int FROM cards.authorisations WHERE id = $1`, [
          expiring,
        ])
      ).rows;
      expect(expiredRow).toEqual({ status: 'expired', released_amount: 500 });
      // Its part was never recorded here: the expiry tells all of it once, and the late copy nothing.
      expect(await releasedEvents(expiring)).toEqual([{ released: 500, remaining: 0, reason: 'expired' }]);
      // A reversal that is answered leaves nothing behind; one whose ledger call did nothing leaves the
      // authorisation pending (its hold still held, for the network to reverse again).
      const answered = await approved(w.card, { amount: 300 });
      const lock = await get().t.db();
      try {
        // Written down while its ledger call waits (the account's row held here), struck off once answered.
        await lock.query('BEGIN');
        await lock.query(`SELECT 1 FROM transactions.ledger_accounts WHERE id = $1 FOR UPDATE`, [
          w.account.id,
        ]);
        const reversal = network('reversals', { authorisation_id: answered }).then((res) => res);
        await eventually(
          async () => ((await inFlight(answered)) === 1 ? true : undefined),
          10000,
          'the reversal written down while under way',
        );
        await lock.query('ROLLBACK');
        expect((await reversal).status).toBe(200);
      } finally {
        await lock.end();
      }
      expect(await inFlight(answered)).toBe(0);
      const untouched = await approved(w.card, { amount: 200 });
      await db.query(
        `INSERT INTO cards.reversals_in_flight (authorisation_id, next_check_at) VALUES ($1, now())`,
        [untouched],
      );
      await eventually(
        async () => ((await inFlight(untouched)) === 0 ? true : undefined),
        20000,
        'the entry of a reversal that released nothing looked at',
      );
      expect(await authorisations(w, 'pending')).toEqual([expect.objectContaining({ id: untouched })]);
      expect(await balance(w)).toEqual({ balance: 10000, held_amount: 200, available_balance: 9800 });
      expect((await verify()).ok).toBe(true);
    });

    it("marks reversed an approval recorded after a partial reversal by the network's id gave back all of its hold", async () => {
      const w = await wallet('reverse.partial.early', 10000);
      const body = authorisation(w.card, { amount: 3000 });
      const id = holdIdOf(body.network_transaction_id);
      // The ledger places the hold; recording the approval waits on the card's row, held here.
      const lock = await get().t.db();
      let answer: Promise<request.Response> | undefined;
      let reversal: request.Response;
      try {
        await lock.query('BEGIN');
        await lock.query(`SELECT 1 FROM cards.cards WHERE id = $1 FOR UPDATE`, [w.card.id]);
        answer = network('authorisations', body).then((res) => res);
        await untilHeld(w, 3000, 'the hold placed, its approval not yet recorded');
        reversal = await network('reversals', {
          original_network_transaction_id: body.network_transaction_id,
          amount: 3000,
          network_transaction_id: ntx(),
        }).expect(200);
      } finally {
        await lock.query('ROLLBACK');
        await lock.end();
      }
      expect(reversal.body).toEqual({
        authorisation_id: id,
        status: 'reversed',
        released: 3000,
        remaining: 0,
      });
      expect((await answer!).body).toEqual({ approved: false, decline_reason: 'reversed' });
      expect(await authorisations(w)).toEqual([expect.objectContaining({ id, status: 'reversed' })]);
      expect(await balance(w)).toEqual({ balance: 10000, held_amount: 0, available_balance: 10000 });
      expect((await verify()).ok).toBe(true);
    });

    it('answers a reversal of a hold the ledger has cleared while the clearing is not yet recorded', async () => {
      const w = await wallet('reverse.cleared', 10000);
      const id = await approved(w.card, { amount: 3000 });
      // A clearing the ledger posted and whose recording has not happened yet (in flight, or crashed
      // before it and due to be retried by the network).
      const [settlement] = (
        await db.query(
          `SELECT id FROM transactions.ledger_accounts
            WHERE kind = 'system' AND system_code = 'card_settlement' AND currency = 'GBP' LIMIT 1`,
        )
      ).rows;
      const [posted] = (
        await db.query(
          `SELECT outcome FROM transactions.clear_card($1, $2, $3, $4, $5, $6, 3000, 'GBP', 'Starbucks',
                  'eating_out', $7, 'test', NULL)`,
          [randomUUID(), ntx(), id, w.card.id, w.account.id, w.who.id, settlement.id],
        )
      ).rows;
      expect(posted.outcome).toBe('posted');
      // The network reverses it meanwhile: nothing is left to give back, and no 500.
      for (const body of [
        { authorisation_id: id },
        { authorisation_id: id, amount: 500, network_transaction_id: ntx() },
      ]) {
        const res = await network('reversals', body).expect(200);
        expect(res.body).toEqual({ authorisation_id: id, status: 'cleared', released: 0, remaining: 0 });
      }
      // Read from the ledger: the balance cache is refreshed by the clearing's caller, skipped here.
      const [ledger] = (
        await db.query(`SELECT balance::int, held::int FROM transactions.ledger_accounts WHERE id = $1`, [
          w.account.id,
        ])
      ).rows;
      expect(ledger).toEqual({ balance: 7000, held: 0 });
      expect((await verify()).ok).toBe(true);
    });

    it('expires a hold past its expiry: the authorisation shows expired and the money is available again', async () => {
      const w = await wallet('expiry', 10000);
      const id = await approved(w.card, { amount: 4000 });
      const kept = await approved(w.card, { amount: 1000 });
      expect(await balance(w)).toEqual({ balance: 10000, held_amount: 5000, available_balance: 5000 });
      // As if CARD_HOLD_EXPIRY_DAYS had passed for one of them.
      const moved = await db.query(
        `UPDATE transactions.holds SET expires_at = now() - interval '1 minute' WHERE id = $1 AND status = 'active'`,
        [id],
      );
      expect(moved.rowCount).toBe(1);
      await untilExpired(w, id, 'the hold to expire');
      expect(await untilHeld(w, 1000, 'the expired hold to leave the balance')).toEqual({
        balance: 10000,
        held_amount: 1000,
        available_balance: 9000,
      });
      expect(await authorisations(w, 'pending')).toEqual([expect.objectContaining({ id: kept })]);
      expect(await releasedEvents(id)).toEqual([{ released: 4000, remaining: 0, reason: 'expired' }]);
      // A reversal of the expired hold changes nothing, and tells nothing.
      const reversal = await network('reversals', { authorisation_id: id }).expect(200);
      expect(reversal.body).toEqual({ authorisation_id: id, status: 'expired', released: 0, remaining: 0 });
      expect(await balance(w)).toEqual({ balance: 10000, held_amount: 1000, available_balance: 9000 });
      expect(await releasedEvents(id)).toHaveLength(1);
      expect(await releasedEvents(kept)).toEqual([]);
      expect((await verify()).ok).toBe(true);
    });

    it('tells an early-reversed approval cancelled only once its queued release gives the money back', async () => {
      const w = await wallet('reverse.early.queued', 10000);
      const body = authorisation(w.card, { amount: 1500 });
      const id = await approved(w.card, body);
      // As an approval recorded while the network's full reversal by its id was written down, whose app
      // stopped before it looked: the sweep's late pass gives its hold back. The ledger cannot release it
      // now, so the release waits in the queue.
      const recover = await failUpdates(db, 'transactions.holds', `OLD.id = '${id}'`);
      try {
        await db.query(
          `INSERT INTO cards.early_reversals (network_transaction_id, next_check_at) VALUES ($1, now())`,
          [body.network_transaction_id],
        );
        await untilStatus(w, id, 'reversed', 'the approval marked reversed');
        // Marked reversed, but the money is still held: nothing released, its owner not told (helper-157:
        // before, told "available to spend again" at once).
        const [row] = (
          await db.query(`SELECT released_amount::int FROM cards.authorisations WHERE id = $1`, [id])
        ).rows;
        expect(row.released_amount).toBe(0);
        expect(await activeHolds(w.card.id)).toBe(1);
        expect(await releasedEvents(id)).toEqual([]);
      } finally {
        await recover();
      }
      // The queue's next try gives it back: released, and told once.
      expect(await untilHeld(w, 0, 'the queued release to give the hold back', 30000)).toEqual({
        balance: 10000,
        held_amount: 0,
        available_balance: 10000,
      });
      // Told once, when the row records all of it released.
      const toldOnce = async (authorisationId: string, amount: number, what: string) => {
        await eventually(
          async () => ((await releasedEvents(authorisationId)).length > 0 ? true : undefined),
          20000,
          what,
        );
        expect(await releasedEvents(authorisationId)).toEqual([
          { released: amount, remaining: 0, reason: 'reversed' },
        ]);
        const [after] = (
          await db.query(`SELECT status, released_amount::int FROM cards.authorisations WHERE id = $1`, [
            authorisationId,
          ])
        ).rows;
        expect(after).toEqual({ status: 'reversed', released_amount: amount });
      };
      await toldOnce(id, 1500, 'the owner told');

      // One whose queued release used up its tries (marked reversed, still held, the job gone): its hold's
      // expiry gives it back, and its owner is told then.
      const stuck = await approved(w.card, { amount: 700 });
      await db.query(`UPDATE cards.authorisations SET status = 'reversed' WHERE id = $1`, [stuck]);
      await db.query(`UPDATE transactions.holds SET expires_at = now() - interval '1 minute' WHERE id = $1`, [
        stuck,
      ]);
      await toldOnce(stuck, 700, 'the expired hold of a reversed approval told');
      expect(await untilHeld(w, 0, 'the expired hold to leave the balance')).toMatchObject({
        held_amount: 0,
      });
      expect((await verify()).ok).toBe(true);
    });

    it('records and tells a reversal that comes after the ledger expired its hold but before the sweep marked it', async () => {
      const w = await wallet('expiry.reversed', 10000);
      const full = await approved(w.card, { amount: 4000 });
      const part = await approved(w.card, { amount: 1000 });
      // The sweep's first step done (the ledger expired both holds), its mark here not yet made.
      for (const id of [full, part]) {
        await db.query(`SELECT transactions.release_hold($1, NULL, 'expired')`, [id]);
      }
      const answered = await network('reversals', { authorisation_id: full }).expect(200);
      expect(answered.body).toEqual({ authorisation_id: full, status: 'expired', released: 0, remaining: 0 });
      await network('reversals', {
        authorisation_id: part,
        amount: 300,
        network_transaction_id: ntx(),
      }).expect(200);
      // All of each was given back by the expiry, and told once as such (helper-157: before, both rows
      // read expired with nothing released, and their owner was never told).
      const rows = (
        await db.query(
          `SELECT id, status, released_amount::int FROM cards.authorisations WHERE id = ANY($1) ORDER BY amount`,
          [[full, part]],
        )
      ).rows;
      expect(rows).toEqual([
        { id: part, status: 'expired', released_amount: 1000 },
        { id: full, status: 'expired', released_amount: 4000 },
      ]);
      expect(await releasedEvents(full)).toEqual([{ released: 4000, remaining: 0, reason: 'expired' }]);
      expect(await releasedEvents(part)).toEqual([{ released: 1000, remaining: 0, reason: 'expired' }]);
    });

    it('tells what came back once in all when partial reversals of one payment record at once', async () => {
      const w = await wallet('reverse.parts', 20000);
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) ids.push(await approved(w.card, { amount: 1000 }));
      // Three parts of each payment, each under its own network id, all thirty sent together: their
      // records race for the row, and each tells only what the row's released_amount rose by.
      const answers = await Promise.all(
        ids.flatMap((authorisation_id) =>
          [100, 200, 300].map((amount) =>
            network('reversals', { authorisation_id, amount, network_transaction_id: ntx() }),
          ),
        ),
      );
      expect(answers.map((r) => r.status)).toEqual(answers.map(() => 200));
      for (const id of ids) {
        const told = await releasedEvents(id);
        expect({ id, told: told.reduce((sum, e) => sum + e.released, 0) }).toEqual({ id, told: 600 });
        expect(told.every((e) => e.released > 0 && e.reason === 'reversed')).toBe(true);
        expect(Math.min(...told.map((e) => e.remaining))).toBe(400);
      }
      const rows = (
        await db.query(`SELECT DISTINCT released_amount::int FROM cards.authorisations WHERE id = ANY($1)`, [
          ids,
        ])
      ).rows;
      expect(rows).toEqual([{ released_amount: 600 }]);
      expect(await balance(w)).toEqual({ balance: 20000, held_amount: 4000, available_balance: 16000 });
      expect((await verify()).ok).toBe(true);
    });

    it('records a clearing whose cards-side step was lost, once, past a page of authorisations it cannot settle', async () => {
      const w = await wallet('lost-clearing', 10000);
      const id = await approved(w.card, { amount: 3000 });
      const cleared = clearing(id, 2850);
      const posted = await network('clearings', cleared).expect(200);
      // The ledger posted the clearing; cards' record of it (the row, its answer, card.cleared) is lost, as
      // a crash or a lost reply would leave it, and the network never retries. The authorisation is past a
      // hold's life (7 days).
      await db.query(
        `UPDATE cards.authorisations SET status = 'pending', cleared_amount = NULL, transaction_id = NULL,
                forced = false, created_at = now() - interval '8 days' WHERE id = $1`,
        [id],
      );
      await db.query(`DELETE FROM cards.network_messages WHERE network_transaction_id = $1`, [
        cleared.network_transaction_id,
      ]);
      await db.query(
        `DELETE FROM cards.outbox WHERE name = 'card.cleared' AND payload->>'authorisation_id' = $1`,
        [id],
      );
      // Ahead of it, a full page (200) of pending authorisations older still whose holds the ledger does not
      // know: the pass used to read the same oldest page on every run, and never got past it.
      const stuck = (
        await db.query(
          `INSERT INTO cards.authorisations (id, card_id, owner_id, account_id, network_transaction_id, amount,
                                             currency, merchant, category, channel, status, created_at)
           SELECT gen_random_uuid(), card_id, owner_id, account_id, network_transaction_id || '-stuck-' || g,
                  amount, currency, merchant, category, channel, 'pending', now() - interval '30 days'
             FROM cards.authorisations, generate_series(1, 200) g WHERE id = $1
           RETURNING id`,
          [id],
        )
      ).rows.map((r: { id: string }) => r.id);
      try {
        await untilStatus(w, id, 'cleared', 'the lost clearing to be recorded', 30000);
        const events = async () =>
          (
            await db.query(
              `SELECT payload FROM cards.outbox WHERE name = 'card.cleared' AND payload->>'authorisation_id' = $1`,
              [id],
            )
          ).rows.map((r: { payload: Record<string, unknown> }) => r.payload);
        const [row] = (
          await db.query(
            `SELECT status, cleared_amount::int, transaction_id, forced FROM cards.authorisations WHERE id = $1`,
            [id],
          )
        ).rows;
        expect(row).toEqual({
          status: 'cleared',
          cleared_amount: 2850,
          transaction_id: posted.body.transaction_id,
          forced: false,
        });
        expect(await events()).toEqual([
          expect.objectContaining({
            amount: 2850,
            transaction_id: posted.body.transaction_id,
            forced: false,
          }),
        ]);
        // The network's retry, late, gets the ledger's answer again and tells the customer nothing twice.
        const retried = await network('clearings', cleared).expect(200);
        expect(retried.body.transaction_id).toBe(posted.body.transaction_id);
        expect(await events()).toHaveLength(1);
        expect(await balance(w)).toEqual({ balance: 7150, held_amount: 0, available_balance: 7150 });
      } finally {
        await db.query(`DELETE FROM cards.authorisations WHERE id = ANY($1)`, [stuck]);
      }
    });

    it('marks an authorisation expired whose hold the ledger released when the second step was lost', async () => {
      const w = await wallet('lost-step', 10000);
      const id = await approved(w.card, { amount: 3000 });
      // The sweep's first step done (the ledger released the hold), its second (the mark here) lost, as a
      // crash between the two would leave it; the authorisation is past a hold's life (7 days).
      await db.query(`SELECT transactions.release_hold($1, NULL, 'expired')`, [id]);
      await db.query(`UPDATE cards.authorisations SET created_at = now() - interval '8 days' WHERE id = $1`, [
        id,
      ]);
      await untilExpired(w, id, 'the authorisation to be marked expired');
      const [row] = (
        await db.query(
          `SELECT status, released_amount::int AS released FROM cards.authorisations WHERE id = $1`,
          [id],
        )
      ).rows;
      expect(row).toEqual({ status: 'expired', released: 3000 });
      expect((await verify()).ok).toBe(true);
    });

    it('counts a hold that expired and was then cleared late towards the limits: the payment took the money', async () => {
      const w = await wallet('late-clearing', 20000);
      await setLimits(w, w.card, { daily: 5000 });
      const late = await approved(w.card, { amount: 4000 });
      await db.query(`UPDATE transactions.holds SET expires_at = now() - interval '1 minute' WHERE id = $1`, [
        late,
      ]);
      await untilExpired(w, late, 'the hold to expire');
      // Expired, it no longer counts: 1000 fits the day's 5000.
      await approved(w.card, { amount: 1000 });
      // The merchant clears it after all, a day late and for less (3500): posted as forced, the money taken.
      const cleared = await network('clearings', clearing(late, 3500)).expect(200);
      expect(cleared.body).toMatchObject({ authorisation_id: late, forced: true });
      // 3500 cleared and 1000 held today: 501 more would pass the 5000; 500 fits.
      expect(await authorise(w.card, { amount: 501 })).toEqual({
        approved: false,
        decline_reason: 'limit_exceeded',
      });
      await approved(w.card, { amount: 500 });
      expect((await verify()).ok).toBe(true);
    });

    it('gives back the room a cleared payment took once staff reverse it (a dispute): the money came back, and the card says so', async () => {
      const w = await wallet('disputed', 20000);
      await setLimits(w, w.card, { daily: 5000, monthly: 5000 });
      const disputed = await approved(w.card, { amount: 4000 });
      const cleared = await network('clearings', clearing(disputed, 4000)).expect(200);
      expect(await authorise(w.card, { amount: 1001 })).toEqual({
        approved: false,
        decline_reason: 'limit_exceeded',
      });
      const reversal = await http()
        .post(`/admin/transactions/${cleared.body.transaction_id as string}/reverse`)
        .set(bearer(admin.token))
        .set('Idempotency-Key', randomUUID())
        .send({ reason: 'Disputed: goods never delivered' })
        .expect(201);
      expect(await balance(w)).toEqual({ balance: 20000, held_amount: 0, available_balance: 20000 });
      // The card's authorisations tell the customer: still cleared (the merchant took it), and reversed since.
      const shown = await eventually(
        async () => (await authorisations(w)).find((x) => x.id === disputed && x.reversed_by_id !== null),
        15_000,
        "the reversal in the card's authorisations",
      );
      expect(shown).toMatchObject({
        status: 'cleared',
        cleared_amount: 4000,
        transaction_id: cleared.body.transaction_id,
        reversed_by_id: reversal.body.id,
      });
      expect(Date.parse(shown.reversed_at as string)).not.toBeNaN();
      // Reversed, it took nothing: the day's and the month's 5000 are free again, and no more than that.
      await approved(w.card, { amount: 5000 });
      expect(await authorise(w.card, { amount: 1 })).toEqual({
        approved: false,
        decline_reason: 'limit_exceeded',
      });
      expect((await verify()).ok).toBe(true);
    });

    it("checks a merchant's refund against the payment it names, and a staff reversal against its refunds: the customer is never paid back twice", async () => {
      const w = await wallet('refund-checks', 20000);
      const reverse = (transactionId: string) =>
        http()
          .post(`/admin/transactions/${transactionId}/reverse`)
          .set(bearer(admin.token))
          .set('Idempotency-Key', randomUUID())
          .send({ reason: 'Disputed: goods never delivered' });
      const refund = (authorisationId: string, amount: number) =>
        network('refunds', {
          network_transaction_id: ntx(),
          authorisation_id: authorisationId,
          amount,
          currency: 'GBP',
        });
      const refused = async (res: request.Response, status: number, code: string) => {
        expect({ status: res.status, code: res.body.code }).toEqual({ status, code });
      };

      // A payment cleared for 4000: refunds naming it come to 4000 at most.
      const paid = await approved(w.card, { amount: 4000 });
      const cleared = await network('clearings', clearing(paid, 4000)).expect(200);
      await refund(paid, 1500).expect(200);
      const tooMuch = await refund(paid, 3000);
      await refused(tooMuch, 422, 'refund_exceeds_payment');
      expect(tooMuch.body.details).toEqual([expect.objectContaining({ field: 'amount' })]);
      await refund(paid, 2500).expect(200);
      await refused(await refund(paid, 1), 422, 'refund_exceeds_payment');
      expect(await balance(w)).toEqual({ balance: 20000, held_amount: 0, available_balance: 20000 });
      // Refunded, the payment is not reversed as well; nor one refunded in part.
      await refused(await reverse(cleared.body.transaction_id as string), 409, 'already_refunded');
      const part = await approved(w.card, { amount: 1000 });
      const partCleared = await network('clearings', clearing(part, 1000)).expect(200);
      await refund(part, 400).expect(200);
      await refused(await reverse(partCleared.body.transaction_id as string), 409, 'already_refunded');
      expect(await balance(w)).toEqual({ balance: 19400, held_amount: 0, available_balance: 19400 });

      // Nothing cleared yet: nothing to refund.
      const pending = await approved(w.card, { amount: 700 });
      await refused(await refund(pending, 700), 422, 'refund_exceeds_payment');

      // Reversed by staff, the payment takes no refund.
      const disputed = await approved(w.card, { amount: 2000 });
      const disputedCleared = await network('clearings', clearing(disputed, 2000)).expect(200);
      await reverse(disputedCleared.body.transaction_id as string).expect(201);
      await refused(await refund(disputed, 2000), 409, 'already_reversed');
      expect(await balance(w)).toEqual({ balance: 19400, held_amount: 700, available_balance: 18700 });

      // Five refunds of 1000 at once against a payment of 3000: three land, in any order.
      const racing = await approved(w.card, { amount: 3000 });
      await network('clearings', clearing(racing, 3000)).expect(200);
      const answers = await Promise.all(Array.from({ length: 5 }, () => refund(racing, 1000)));
      expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 422, 422]);
      expect(await balance(w)).toEqual({ balance: 19400, held_amount: 700, available_balance: 18700 });

      // A refund and a reversal sent together, each forced to wait for the other's lock in both orders
      // (a connection of ours holds the account's ledger row): one pays, the other is refused.
      const lock = await get().t.db();
      try {
        for (const first of ['refund', 'reversal'] as const) {
          const raced = await approved(w.card, { amount: 1000 });
          const racedCleared = await network('clearings', clearing(raced, 1000)).expect(200);
          const before = await balance(w);
          await lock.query('BEGIN');
          await lock.query(`SELECT 1 FROM transactions.ledger_accounts WHERE id = $1 FOR UPDATE`, [
            w.account.id,
          ]);
          const send = {
            refund: () => refund(raced, 1000).then((res) => res),
            reversal: () => reverse(racedCleared.body.transaction_id as string).then((res) => res),
          };
          const second = first === 'refund' ? 'reversal' : 'refund';
          const answers = { [first]: send[first]() } as Record<string, Promise<request.Response>>;
          await lockWaiters(db, 1, '%transactions.%', `the ${first} waiting on the account`);
          answers[second] = send[second]();
          await lockWaiters(db, 2, '%transactions.%', `the ${second} waiting on the account`);
          await lock.query('ROLLBACK');
          const [a, b] = [await answers[first], await answers[second]];
          expect({ first, statuses: [a.status, b.status] }).toEqual({
            first,
            statuses: first === 'refund' ? [200, 409] : [201, 409],
          });
          expect(b.body.code).toBe(first === 'refund' ? 'already_refunded' : 'already_reversed');
          expect(await balance(w)).toEqual({
            ...before,
            balance: before.balance + 1000,
            available_balance: before.available_balance + 1000,
          });
        }
      } finally {
        await lock.query('ROLLBACK').catch(() => undefined);
        await lock.end();
      }

      // A refund staff reversed (the customer paid it back) counts no more: the payment may be refunded
      // again, or reversed.
      const undone = await approved(w.card, { amount: 600 });
      const undoneCleared = await network('clearings', clearing(undone, 600)).expect(200);
      const undoneRefund = await refund(undone, 600).expect(200);
      await reverse(undoneRefund.body.transaction_id as string).expect(201);
      await reverse(undoneCleared.body.transaction_id as string).expect(201);

      // A refund by card number alone names no payment and is checked against none.
      await network('refunds', {
        network_transaction_id: ntx(),
        pan: w.card.pan,
        merchant: AMAZON,
        amount: 500,
        currency: 'GBP',
      }).expect(200);
      expect(await balance(w)).toEqual({ balance: 19900, held_amount: 700, available_balance: 19200 });
      expect((await verify()).ok).toBe(true);
    });

    it('declines for every reason, holding nothing, and tells the reason', async () => {
      const w = await wallet('declines', 5000);
      const cards = {
        frozen: await issue(w.who, w.account),
        blocked: await issue(w.who, w.account),
        cancelled: await issue(w.who, w.account),
        expired: await issue(w.who, w.account),
        limited: await issue(w.who, w.account),
      };
      await http().post(`/cards/${cards.frozen.id}/freeze`).set(bearer(w.who.token)).expect(200);
      await http()
        .post(`/admin/cards/${cards.blocked.id}/block`)
        .set(bearer(admin.token))
        .send({ reason: 'Test: suspected fraud' })
        .expect(200);
      await http()
        .post(`/cards/${cards.cancelled.id}/cancel`)
        .set(bearer(w.who.token))
        .send({ reason: 'lost' })
        .expect(200);
      // A card past its expiry: its stored expiry moved back a year, and the network sends that expiry.
      const lastYear = new Date().getUTCFullYear() - 1;
      await db.query(`UPDATE cards.cards SET expiry_year = $2 WHERE id = $1`, [cards.expired.id, lastYear]);
      const expired = { ...cards.expired, expiry_year: lastYear };
      await setLimits(w, cards.limited, {
        per_transaction: 1000,
        daily: 1500,
        online: false,
        blocked_categories: ['gambling'],
      });

      const before = await balance(w);
      expect(before).toEqual({ balance: 5000, held_amount: 0, available_balance: 5000 });
      const cases: [Card, Record<string, unknown>, string][] = [
        [w.card, { amount: 5001 }, 'insufficient_funds'],
        [cards.frozen, {}, 'card_frozen'],
        [cards.blocked, {}, 'card_blocked'],
        [cards.cancelled, {}, 'card_cancelled'],
        [expired, { cvc: undefined }, 'expired'],
        [w.card, { expiry_month: (w.card.expiry_month % 12) + 1 }, 'invalid_card'],
        [w.card, { cvc: w.card.cvc === '000' ? '001' : '000' }, 'invalid_cvc'],
        [cards.limited, { amount: 1001 }, 'limit_exceeded'],
        [cards.limited, { merchant: CASINO, amount: 500 }, 'category_blocked'],
        [cards.limited, { channel: 'online', amount: 500 }, 'channel_disabled'],
        [w.card, { currency: 'EUR' }, 'currency_not_supported'],
        [w.card, { currency: 'XYZ' }, 'currency_not_supported'],
        [w.card, { amount: 100000001 }, 'limit_exceeded'], // above MAX_AMOUNT: no card pays that
      ];
      for (const [card, over, reason] of cases) {
        const body = authorisation(card, over);
        const answer = await authorise(card, body);
        expect({ reason, answer }).toEqual({ reason, answer: { approved: false, decline_reason: reason } });
        expect({ reason, balance: await balance(w) }).toEqual({ reason, balance: before });
        // Recorded, so the customer sees it and a retry replays it.
        const [row] = (
          await db.query(
            `SELECT status, decline_reason, card_id FROM cards.authorisations WHERE network_transaction_id = $1`,
            [body.network_transaction_id],
          )
        ).rows;
        expect({ reason, row }).toEqual({
          reason,
          row: { status: 'declined', decline_reason: reason, card_id: card.id },
        });
      }

      // The daily limit counts the day's spend in the ledger: 1000 approved, then 600 more is over 1500.
      const first = await approved(cards.limited, { amount: 1000 });
      const held = await balance(w);
      expect(held).toEqual({ balance: 5000, held_amount: 1000, available_balance: 4000 });
      expect(await authorise(cards.limited, { amount: 600 })).toEqual({
        approved: false,
        decline_reason: 'limit_exceeded',
      });
      expect(await balance(w)).toEqual(held);
      await network('reversals', { authorisation_id: first }).expect(200);

      // A declined authorisation has nothing to clear, reverse or refund.
      const [declinedRow] = (
        await db.query(
          `SELECT id FROM cards.authorisations WHERE card_id = $1 AND decline_reason = 'insufficient_funds'`,
          [w.card.id],
        )
      ).rows as { id: string }[];
      const notClearable = await network('clearings', clearing(declinedRow.id, 100)).expect(409);
      expect(notClearable.body.code).toBe('authorisation_declined');
      const notReversible = await network('reversals', { authorisation_id: declinedRow.id }).expect(409);
      expect(notReversible.body.code).toBe('authorisation_declined');
      const notRefundable = await network('refunds', {
        network_transaction_id: ntx(),
        authorisation_id: declinedRow.id,
        amount: 100,
        currency: 'GBP',
      }).expect(409);
      expect(notRefundable.body.code).toBe('authorisation_declined');
      expect(await balance(w)).toEqual(before);

      // A number that is not one of our cards: invalid_card, and nothing recorded.
      const stranger = authorisation(w.card, { pan: '4000000000000002' });
      expect((await network('authorisations', stranger).expect(200)).body).toEqual({
        approved: false,
        decline_reason: 'invalid_card',
      });
      const none = await db.query(`SELECT 1 FROM cards.authorisations WHERE network_transaction_id = $1`, [
        stranger.network_transaction_id,
      ]);
      expect(none.rows).toEqual([]);
      // A frozen account declines in the ledger, holding nothing. The network is told the card is blocked
      // (no third party is told of a freeze); the customer's card, its event and its notice say the
      // account is frozen (the card itself is not blocked), also to the network's retry.
      await http()
        .post(`/admin/accounts/${w.account.id}/freeze`)
        .set(bearer(admin.token))
        .send({ reason: 'Test: account frozen for cards' })
        .expect(200);
      const onFrozen = authorisation(w.card, { amount: 100 });
      for (let i = 0; i < 2; i++) {
        expect((await network('authorisations', onFrozen).expect(200)).body).toEqual({
          approved: false,
          decline_reason: 'card_blocked',
        });
      }
      const frozenId = holdIdOf(onFrozen.network_transaction_id);
      expect((await authorisations(w, 'declined')).find((a) => a.id === frozenId)).toMatchObject({
        decline_reason: 'account_frozen',
      });
      const frozenEvents = await db.query(
        `SELECT name, payload->>'decline_reason' AS reason FROM cards.outbox WHERE payload->>'authorisation_id' = $1`,
        [frozenId],
      );
      expect(frozenEvents.rows).toEqual([{ name: 'card.declined', reason: 'account_frozen' }]);
      await http()
        .post(`/admin/accounts/${w.account.id}/unfreeze`)
        .set(bearer(admin.token))
        .send({ reason: 'Test: account unfrozen for cards' })
        .expect(200);

      for (const card of [w.card, ...Object.values(cards)]) expect(await activeHolds(card.id)).toBe(0);
      expect(await balance(w)).toEqual({ balance: 5000, held_amount: 0, available_balance: 5000 });
      const declined = await authorisations({ ...w, card: cards.limited }, 'declined');
      expect(declined.map((a) => a.decline_reason).sort()).toEqual([
        'category_blocked',
        'channel_disabled',
        'limit_exceeded',
        'limit_exceeded',
      ]);
      expect((await verify()).ok).toBe(true);
    });

    it('declines an authorisation the ledger decides after its card was frozen, cancelled or blocked, and gives the hold back', async () => {
      // The ledger's account row is held in a connection of our own, so each authorisation waits inside
      // the ledger (its card checks passed) while the card is stopped through the API; then it goes on.
      const lock = await get().t.db();
      const stops: [string, (card: Card, who: Actor) => Promise<unknown>, string][] = [
        [
          'frozen by its owner',
          (card, who) => http().post(`/cards/${card.id}/freeze`).set(bearer(who.token)).expect(200),
          'card_frozen',
        ],
        [
          'cancelled as stolen',
          (card, who) =>
            http()
              .post(`/cards/${card.id}/cancel`)
              .set(bearer(who.token))
              .send({ reason: 'stolen' })
              .expect(200),
          'card_cancelled',
        ],
        [
          'blocked by staff',
          (card) =>
            http()
              .post(`/admin/cards/${card.id}/block`)
              .set(bearer(admin.token))
              .send({ reason: 'Test: fraud suspected mid-authorisation' })
              .expect(200),
          'card_blocked',
        ],
      ];
      for (const [how, stop, reason] of stops) {
        const w = await wallet(`stopped.${reason}`, 10000);
        const body = authorisation(w.card);
        const res = await authoriseWhileLedgerWaits(lock, w, body, () => stop(w.card, w.who), how);
        expect({ how, status: res.status, body: res.body }).toEqual({
          how,
          status: 200,
          body: { approved: false, decline_reason: reason },
        });
        expect({ how, holds: await activeHolds(w.card.id) }).toEqual({ how, holds: 0 });
        expect({ how, balance: await balance(w) }).toEqual({
          how,
          balance: { balance: 10000, held_amount: 0, available_balance: 10000 },
        });
        // The card's one authorisation, declined.
        const recorded = await authorisations(w);
        expect({ how, recorded }).toEqual({
          how,
          recorded: [expect.objectContaining({ status: 'declined', decline_reason: reason })],
        });
        // Its event is the decline's; no approval was told.
        const events = await db.query(
          `SELECT name, payload->>'decline_reason' AS reason FROM cards.outbox WHERE payload->>'authorisation_id' = $1`,
          [holdIdOf(body.network_transaction_id)],
        );
        expect({ how, events: events.rows }).toEqual({ how, events: [{ name: 'card.declined', reason }] });
        // The network's retry of the same message is answered as it was.
        expect(await authorise(w.card, body)).toEqual({ approved: false, decline_reason: reason });
      }
      await lock.end();
      expect((await verify()).ok).toBe(true);
    });

    it('applies limits changed while the ledger decides: declined under the new ones, hold given back; daily and monthly stand as the ledger decided', async () => {
      const lock = await get().t.db();
      const changes: [string, Record<string, unknown>, Record<string, unknown>][] = [
        [
          'a lower per-transaction limit',
          { per_transaction: 100 },
          { approved: false, decline_reason: 'limit_exceeded' },
        ],
        [
          'contactless turned off',
          { contactless: false },
          { approved: false, decline_reason: 'channel_disabled' },
        ],
        [
          'a higher per-transaction limit',
          { per_transaction: 900000 },
          { approved: true, authorisation_id: expect.any(String) },
        ],
        [
          'a lower daily limit (the ledger counted)',
          { daily: 100 },
          { approved: true, authorisation_id: expect.any(String) },
        ],
      ];
      try {
        for (const [how, limits, expected] of changes) {
          const w = await wallet(
            `limits.${Object.keys(limits)[0]}.${changes.findIndex((c) => c[0] === how)}`,
            10000,
          );
          const res = await authoriseWhileLedgerWaits(
            lock,
            w,
            authorisation(w.card),
            () => setLimits(w, w.card, limits),
            how,
          );
          expect({ how, body: res.body }).toEqual({ how, body: expected });
          const held = expected.approved ? 2550 : 0;
          expect({ how, held: (await balance(w)).held_amount }).toEqual({ how, held });
          expect({ how, recorded: await authorisations(w) }).toEqual({
            how,
            recorded: [expect.objectContaining({ status: expected.approved ? 'pending' : 'declined' })],
          });
        }
      } finally {
        await lock.end();
      }
      expect((await verify()).ok).toBe(true);
    });

    it('answers the decline when the ledger cannot give the hold back then, and the queue gives it back later', async () => {
      const w = await wallet('stopped.release-queued', 10000);
      const body = authorisation(w.card, { amount: 2500 });
      const holdId = holdIdOf(body.network_transaction_id);
      // Every release of this one hold fails in the ledger until `recover` drops the fault.
      const recover = await failUpdates(db, 'transactions.holds', `OLD.id = '${holdId}'`);
      const lock = await get().t.db();
      try {
        // Frozen while the ledger decides (as in the test before): declined, its hold to be given back.
        const res = await authoriseWhileLedgerWaits(
          lock,
          w,
          body,
          () => http().post(`/cards/${w.card.id}/freeze`).set(bearer(w.who.token)).expect(200),
          'frozen',
        );
        // The decline is recorded, so it is the answer, though its hold could not be released.
        expect({ status: res.status, body: res.body }).toEqual({
          status: 200,
          body: { approved: false, decline_reason: 'card_frozen' },
        });
        expect(await activeHolds(w.card.id)).toBe(1);
        // Its release waits in the hold-expiry queue, tried again and failing while the trigger stands.
        const redis = await get().t.redis();
        const job = `${get().t.env.REDIS_KEY_PREFIX}bull:card-hold-expiry:release-${holdId}`;
        await eventually(
          async () => (Number(await redis.hget(job, 'atm')) >= 2 ? true : undefined),
          20000,
          'the queued release to be tried again',
        );
        expect(await activeHolds(w.card.id)).toBe(1);
        expect(await balance(w)).toEqual({ balance: 10000, held_amount: 2500, available_balance: 7500 });
      } finally {
        await lock.end();
        await recover();
      }
      // Once the ledger takes it, the next try gives the hold back, and the job is gone.
      expect(await untilHeld(w, 0, 'the queued release to give the hold back', 30000)).toEqual({
        balance: 10000,
        held_amount: 0,
        available_balance: 10000,
      });
      expect(await activeHolds(w.card.id)).toBe(0);
      expect(await authorisations(w)).toEqual([
        expect.objectContaining({ status: 'declined', decline_reason: 'card_frozen' }),
      ]);
      const redis = await get().t.redis();
      await eventually(
        async () =>
          (await redis.exists(`${get().t.env.REDIS_KEY_PREFIX}bull:card-hold-expiry:release-${holdId}`)) === 0
            ? true
            : undefined,
        10000,
        'the completed job to be removed',
      );
      // The network's retry is answered as before, and holds nothing.
      expect(await authorise(w.card, body)).toEqual({ approved: false, decline_reason: 'card_frozen' });
      expect(await activeHolds(w.card.id)).toBe(0);
      expect((await verify()).ok).toBe(true);
    });

    it('answers each retried message once: the same id replays, another body is 422 (the first answer for authorisations)', async () => {
      const w = await wallet('retries', 10000);
      // Authorisations: retries, sequential and raced, get the first answer and hold once.
      const body = authorisation(w.card, { amount: 3000 });
      const first = await authorise(w.card, body);
      expect(first.approved).toBe(true);
      const raced = await Promise.all(
        Array.from({ length: 6 }, () => network('authorisations', body).expect(200)),
      );
      for (const r of raced) expect(r.body).toEqual(first);
      // Whatever a retry sends, the first answer: no second hold, no change.
      expect(await authorise(w.card, { ...body, amount: 9999, merchant: AMAZON })).toEqual(first);
      // Even one whose card number got garbled on the way (no card of ours).
      expect(await authorise(w.card, { ...body, pan: '4000000000000002' })).toEqual(first);
      expect(await balance(w)).toEqual({ balance: 10000, held_amount: 3000, available_balance: 7000 });
      expect(await authorisations(w)).toHaveLength(1);

      // A fresh authorisation raced with its own retries: one hold.
      const fresh = authorisation(w.card, { amount: 1000 });
      const burst = await Promise.all(
        Array.from({ length: 6 }, () => network('authorisations', fresh).expect(200)),
      );
      const ids = new Set(burst.map((r) => r.body.authorisation_id as string));
      expect(ids.size).toBe(1);
      expect(burst.every((r) => r.body.approved === true)).toBe(true);
      expect(await balance(w)).toEqual({ balance: 10000, held_amount: 4000, available_balance: 6000 });

      // A declined authorisation replays its decline, even when the retry would pass.
      const declined = authorisation(w.card, { amount: 20000 });
      expect(await authorise(w.card, declined)).toEqual({
        approved: false,
        decline_reason: 'insufficient_funds',
      });
      expect(await authorise(w.card, { ...declined, amount: 100 })).toEqual({
        approved: false,
        decline_reason: 'insufficient_funds',
      });
      expect(await balance(w)).toEqual({ balance: 10000, held_amount: 4000, available_balance: 6000 });

      // Clearings: one posting per id, raced or not; another clearing under the id is 422.
      const clear = clearing(first.authorisation_id!, 3200);
      const clears = await Promise.all(Array.from({ length: 5 }, () => network('clearings', clear)));
      expect(clears.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
      expect(new Set(clears.map((r) => r.body.transaction_id)).size).toBe(1);
      expect((await network('clearings', clear).expect(200)).body).toEqual(clears[0].body);
      const reusedClear = await network('clearings', { ...clear, amount: 3300 }).expect(422);
      expect(reusedClear.body.code).toBe('idempotency_key_reused');
      expect(await balance(w)).toEqual({ balance: 6800, held_amount: 1000, available_balance: 5800 });

      // Refunds: one credit per id; another refund under the id is 422.
      const refund = {
        network_transaction_id: ntx(),
        authorisation_id: first.authorisation_id,
        amount: 700,
        currency: 'GBP',
      };
      const refunds = await Promise.all(Array.from({ length: 4 }, () => network('refunds', refund)));
      expect(refunds.map((r) => r.status)).toEqual([200, 200, 200, 200]);
      expect(refunds[0].body).toEqual({
        refunded: true,
        transaction_id: expect.any(String),
        amount: 700,
        currency: 'GBP',
      });
      expect(new Set(refunds.map((r) => r.body.transaction_id)).size).toBe(1);
      const reusedRefund = await network('refunds', { ...refund, amount: 800 }).expect(422);
      expect(reusedRefund.body.code).toBe('idempotency_key_reused');
      expect(await balance(w)).toEqual({ balance: 7500, held_amount: 1000, available_balance: 6500 });
      const history = await http()
        .get(`/transactions?account_id=${w.account.id}`)
        .set(bearer(w.who.token))
        .expect(200);
      expect(history.body.data[0]).toMatchObject({
        id: refunds[0].body.transaction_id,
        kind: 'card',
        direction: 'credit',
        amount: 700,
        merchant: 'Starbucks',
      });
      // A refund by card number, with its merchant.
      const byPan = {
        network_transaction_id: ntx(),
        pan: w.card.pan,
        amount: 300,
        currency: 'GBP',
        merchant: TESCO,
      };
      await network('refunds', byPan).expect(200);
      await network('refunds', byPan).expect(200);
      expect(await balance(w)).toEqual({ balance: 7800, held_amount: 1000, available_balance: 6800 });
      expect((await verify()).ok).toBe(true);
    });

    it('gives a retry racing its first attempt the same answer, with other card data too, and the hold matches it', async () => {
      const w = await wallet('retry.race', 100000);
      const wrongCvc = w.card.cvc === '000' ? '001' : '000';
      const pairs = await Promise.all(
        Array.from({ length: 16 }, async (_, i) => {
          const body = authorisation(w.card, { amount: 100 + i });
          // The network's retry of the same id, sent while the first is being decided, with a wrong CVC.
          const [first, retry] = await Promise.all([
            network('authorisations', body),
            network('authorisations', { ...body, cvc: wrongCvc }),
          ]);
          return { ntx: body.network_transaction_id, first, retry };
        }),
      );
      for (const { first, retry } of pairs) {
        expect([first.status, retry.status]).toEqual([200, 200]);
        expect(retry.body).toEqual(first.body);
      }
      // An approved authorisation holds its amount; a declined one holds nothing.
      const rows = await db.query(
        `SELECT a.network_transaction_id, a.status, h.status AS hold, h.remaining::int AS remaining, a.amount::int AS amount
           FROM cards.authorisations a LEFT JOIN transactions.holds h ON h.id = a.id
          WHERE a.network_transaction_id = ANY($1)`,
        [pairs.map((p) => p.ntx)],
      );
      expect(rows.rows).toHaveLength(16);
      for (const r of rows.rows) {
        // pending: its hold active for the whole amount; declined: no hold holding anything.
        const ok =
          r.status === 'pending'
            ? r.hold === 'active' && r.remaining === r.amount
            : r.status === 'declined' && r.hold !== 'active';
        expect({ row: r, ok }).toEqual({ row: r, ok: true });
      }
      const pending = rows.rows.filter((r) => r.status === 'pending');
      const held = pending.reduce((sum, r) => sum + (r.amount as number), 0);
      expect(await balance(w)).toEqual({
        balance: 100000,
        held_amount: held,
        available_balance: 100000 - held,
      });

      // Retries with a wrong CVC that were decided first are declines for wrong card details, which may
      // have frozen the card (five of them, counted as each is decided, so not always under this race).
      // Its owner unfreezes it for what follows.
      const { status } = (await http().get(`/cards/${w.card.id}`).set(bearer(w.who.token)).expect(200)).body;
      if (status === 'frozen')
        await http().post(`/cards/${w.card.id}/unfreeze`).set(bearer(w.who.token)).expect(200);

      // An attempt the ledger decided and that died before recording it (and answering): the ledger
      // holds the money under the hold id derived from the network id, and no authorisation is recorded.
      const heldInLedger = () => heldByLedger(w);
      const crashed = async (amount: number) => {
        const body = authorisation(w.card, { amount });
        const id = holdIdOf(body.network_transaction_id);
        const [decided] = (
          await db.query(
            `SELECT outcome FROM transactions.authorise_card($1, $2, $3, $4, $5, $6, 'GBP', 'Starbucks',
                    'eating_out', NULL, NULL, now() + interval '7 days', 'Europe/London')`,
            [id, body.network_transaction_id, w.card.id, w.account.id, w.who.id, amount],
          )
        ).rows;
        expect(decided.outcome).toBe('approved');
        return { id, body };
      };
      const before = await heldInLedger();
      // The network's retry completes it: the same hold, recorded once, approved.
      const left = await crashed(3000);
      // A retry saying another amount is recorded as the ledger decided it: 3000 held, 3000 recorded.
      expect(await authorise(w.card, { ...left.body, amount: 9999 })).toEqual({
        approved: true,
        authorisation_id: left.id,
      });
      expect(await authorise(w.card, left.body)).toEqual({ approved: true, authorisation_id: left.id });
      const [recorded] = (
        await db.query(`SELECT status, amount::int FROM cards.authorisations WHERE id = $1`, [left.id])
      ).rows;
      expect(recorded).toEqual({ status: 'pending', amount: 3000 });
      expect(await heldInLedger()).toBe(before + 3000);
      // A retry the card's own checks decline (a wrong CVC) records the decline and releases the hold the
      // dead attempt placed; every retry after it, the right CVC included, gets the decline.
      const bad = await crashed(4000);
      expect(await heldInLedger()).toBe(before + 7000);
      expect(await authorise(w.card, { ...bad.body, cvc: wrongCvc })).toEqual({
        approved: false,
        decline_reason: 'invalid_cvc',
      });
      expect(await authorise(w.card, bad.body)).toEqual({ approved: false, decline_reason: 'invalid_cvc' });
      expect(await heldInLedger()).toBe(before + 3000);
      expect((await verify()).ok).toBe(true);
    });

    it('asks online payments for the CVC: one sent without it is declined invalid_cvc, holding nothing and counting no guess; card-present ones need none', async () => {
      const w = await wallet('no-cvc', 10000);
      // Online without the CVC, seven times: declined, and no guess counted (five wrong details would have
      // frozen the card).
      for (let i = 0; i < 7; i++) {
        const answer = await authorise(w.card, { channel: 'online', merchant: AMAZON, cvc: undefined });
        expect(answer).toEqual({ approved: false, decline_reason: 'invalid_cvc' });
      }
      const card = await http().get(`/cards/${w.card.id}`).set(bearer(w.who.token)).expect(200);
      expect(card.body.status).toBe('active');
      expect(await balance(w)).toEqual({ balance: 10000, held_amount: 0, available_balance: 10000 });
      expect((await authorisations(w, 'declined')).map((a) => a.decline_reason)).toEqual(
        Array(7).fill('invalid_cvc'),
      );
      // With it, online pays; card-present channels pay without one.
      await approved(w.card, { channel: 'online', merchant: AMAZON, amount: 100 });
      for (const channel of ['chip', 'contactless', 'atm']) {
        await approved(w.card, { channel, cvc: undefined, amount: 100 });
      }
      expect(await balance(w)).toEqual({ balance: 10000, held_amount: 400, available_balance: 9600 });
    });

    it('freezes a card after five authorisations with wrong card details within a day, and tells its owner', async () => {
      const w = await wallet('guessing', 10000);
      const wrongCvc = (n: number) => String((Number(w.card.cvc) + n) % 1000).padStart(3, '0');
      const status = async () =>
        (
          (await http().get(`/cards/${w.card.id}`).set(bearer(w.who.token)).expect(200)).body as {
            status: string;
          }
        ).status;
      // Four wrong CVCs and a wrong expiry, each under its own network id; the fourth retried (not counted twice).
      const attempts = [1, 2, 3, 4].map((n) => authorisation(w.card, { cvc: wrongCvc(n) }));
      for (const body of attempts) {
        expect(await authorise(w.card, body)).toEqual({ approved: false, decline_reason: 'invalid_cvc' });
      }
      expect(await authorise(w.card, attempts[3])).toEqual({
        approved: false,
        decline_reason: 'invalid_cvc',
      });
      expect(await status()).toBe('active');
      const fifth = { expiry_month: (w.card.expiry_month % 12) + 1 };
      expect(await authorise(w.card, fifth)).toEqual({ approved: false, decline_reason: 'invalid_card' });
      expect(await status()).toBe('frozen');
      // The right details now: declined, the card is frozen.
      expect(await authorise(w.card)).toEqual({ approved: false, decline_reason: 'card_frozen' });
      await eventually(
        async () => {
          const list = await http().get('/notifications').set(bearer(w.who.token)).expect(200);
          return (list.body.data as { type: string; category: string; body: string }[]).find(
            (n) =>
              n.type === 'card.frozen' &&
              n.category === 'security' &&
              n.body.includes(`frozen your card ending ${w.card.pan.slice(-4)} after 5 payments`),
          );
        },
        15000,
        'the notice that the card was frozen',
      );
      // Its owner unfreezes it: it pays again, and one more wrong CVC does not freeze it again.
      await http().post(`/cards/${w.card.id}/unfreeze`).set(bearer(w.who.token)).expect(200);
      await approved(w.card, { amount: 100 });
      expect(await authorise(w.card, { cvc: wrongCvc(5) })).toEqual({
        approved: false,
        decline_reason: 'invalid_cvc',
      });
      expect(await status()).toBe('active');
      expect(await balance(w)).toEqual({ balance: 10000, held_amount: 100, available_balance: 9900 });
    });

    it('checks no more than five wrong guesses of a card sent at once, the right one among them, and freezes it', async () => {
      const w = await wallet('parallel.guessing', 10000);
      const right = w.card.cvc;
      const wrong = Array.from({ length: 999 }, (_, n) =>
        String((Number(right) + 1 + n) % 1000).padStart(3, '0'),
      );
      // 80 guesses at once, the right CVC last: each under its own network id, as a card-testing run sends them.
      const guesses = [...wrong.slice(0, 79), right].map((cvc) => authorisation(w.card, { cvc }));
      const answers = await Promise.all(guesses.map((body) => authorise(w.card, body)));
      const tally = (reason: string) => answers.filter((a) => a.decline_reason === reason).length;
      // At most five were checked (wrong ones declined invalid_cvc); the rest were refused unchecked.
      expect(tally('invalid_cvc')).toBeLessThanOrEqual(5);
      expect(
        tally('invalid_cvc') + tally('card_frozen') + tally('invalid_card') + (answers[79].approved ? 1 : 0),
      ).toBe(80);
      expect(answers.slice(0, 79).every((a) => !a.approved)).toBe(true);
      // So the right one is found with a chance of about 5 in 1,000, as when guesses come one at a time (before,
      // all 79 wrong ones were checked and the right one approved 440 ms after the card was frozen).
      const { status } = (await http().get(`/cards/${w.card.id}`).set(bearer(w.who.token)).expect(200))
        .body as {
        status: string;
      };
      expect(status).toBe(tally('invalid_cvc') === 5 ? 'frozen' : 'active');
      // The same again once it is frozen: every answer card_frozen, none approved.
      if (status === 'frozen') {
        const again = await Promise.all(
          [...wrong.slice(100, 119), right].map((cvc) => authorise(w.card, authorisation(w.card, { cvc }))),
        );
        expect(again.map((a) => a.decline_reason)).toEqual(Array(20).fill('card_frozen'));
      }
    });

    it('refuses a bad signature with 401, and nothing changes', async () => {
      const w = await wallet('signature', 10000);
      const body = authorisation(w.card);
      const raw = JSON.stringify(body);
      const now = Math.floor(Date.now() / 1000);
      const good = signature(secret(), 'authorisations', raw);
      const wrongSecret = signature(`${secret()}-old`, 'authorisations', raw);
      const bad: [string, string | null, Record<string, string>?][] = [
        ['missing', null],
        ['wrong secret', wrongSecret],
        ['stale', signature(secret(), 'authorisations', raw, now - 301)],
        ['from the future', signature(secret(), 'authorisations', raw, now + 400)],
        ['body changed after signing', good],
        ['malformed', 'sha256=deadbeef'],
        ['no timestamp', good.replace(/^t=\d+,/, '')],
        ["a customer's bearer token instead", null, bearer(w.who.token)],
        ["the admin's bearer token instead", null, bearer(admin.token)],
      ];
      for (const [what, sig, headers] of bad) {
        const sent = what === 'body changed after signing' ? raw.replace('2550', '2551') : raw;
        const req = http().post('/card-network/authorisations').set('Content-Type', 'application/json');
        if (sig !== null) req.set('X-Card-Network-Signature', sig);
        if (headers) req.set(headers);
        const res = await req.send(sent);
        expect({ what, status: res.status, code: res.body.code }).toEqual({
          what,
          status: 401,
          code: 'invalid_signature',
        });
        expect(Object.keys(res.body).sort()).toEqual(ERROR_KEYS);
      }
      // A replay of a good request after five minutes is stale too.
      await network('authorisations', body, signature(secret(), 'authorisations', raw, now - 600)).expect(
        401,
      );
      // The other routes are signed as well.
      for (const path of ['clearings', 'reversals', 'refunds']) {
        const payload = { authorisation_id: randomUUID(), network_transaction_id: ntx(), amount: 1 };
        const res = await network(path, payload, null).set(bearer(w.who.token)).expect(401);
        expect(res.body.code).toBe('invalid_signature');
        await network(path, payload, signature(`${secret()}x`, path, JSON.stringify(payload))).expect(401);
      }
      // The signature is checked before anything else: an unsigned request with an undocumented query
      // parameter is 401 (not a 400 that describes the route to a stranger); a signed one is 400 naming it.
      const clearingBody = JSON.stringify({
        authorisation_id: randomUUID(),
        network_transaction_id: ntx(),
        amount: 1,
      });
      const withQuery = () =>
        http().post('/card-network/clearings?debug=1').set('Content-Type', 'application/json');
      const unsigned = await withQuery().send(clearingBody).expect(401);
      expect(unsigned.body.code).toBe('invalid_signature');
      const signedWithQuery = await withQuery()
        .set('X-Card-Network-Signature', signature(secret(), 'clearings', clearingBody))
        .send(clearingBody)
        .expect(400);
      expect(signedWithQuery.body.details).toEqual([
        { field: 'debug', message: 'property debug should not exist' },
      ]);
      // The route is signed: a clearing's exact bytes and signature, sent to /refunds (whose body it also
      // fits), are refused.
      const clearing = JSON.stringify({
        network_transaction_id: ntx(),
        authorisation_id: randomUUID(),
        amount: 2550,
        currency: 'GBP',
      });
      const replayed = await network('refunds', clearing, signature(secret(), 'clearings', clearing)).expect(
        401,
      );
      expect(replayed.body.code).toBe('invalid_signature');
      expect(await balance(w)).toEqual({ balance: 10000, held_amount: 0, available_balance: 10000 });
      expect(await authorisations(w)).toEqual([]);

      // During a rotation the header carries a v2 per secret: one that matches is enough.
      const rotated = `${good},v2=${wrongSecret.split('v2=')[1]}`;
      const ok = await network('authorisations', body, rotated).expect(200);
      expect(ok.body.approved).toBe(true);
      expect(await balance(w)).toMatchObject({ held_amount: 2550 });
    });

    it('refuses hostile bodies with 4xx in the one error shape, never a 500, and changes nothing', async () => {
      const w = await wallet('hostile', 10000);
      const base = authorisation(w.card);
      const without = (key: string) => {
        const copy: Record<string, unknown> = { ...base, network_transaction_id: ntx() };
        delete copy[key];
        return copy;
      };
      const authorisationCases: [unknown, string | null][] = [
        [{ ...base, amount: '2550' }, 'amount'],
        [{ ...base, amount: 25.5 }, 'amount'],
        [{ ...base, amount: -1 }, 'amount'],
        [{ ...base, amount: 0 }, 'amount'],
        [{ ...base, amount: 2 ** 60 }, 'amount'],
        [{ ...base, amount: null }, 'amount'],
        [without('merchant'), 'merchant'],
        [{ ...base, merchant: 'Starbucks' }, 'merchant'],
        [{ ...base, merchant: { ...STARBUCKS, category_code: '58a4' } }, 'merchant.category_code'],
        [{ ...base, merchant: { ...STARBUCKS, name: '' } }, 'merchant.name'],
        [{ ...base, merchant: { ...STARBUCKS, country: 'XX' } }, 'merchant.country'],
        [{ ...base, pan: '1234' }, 'pan'],
        [{ ...base, pan: `${w.card.pan}0000` }, 'pan'],
        [{ ...base, pan: 5355220000000004 }, 'pan'],
        [{ ...base, pan: 'x'.repeat(16) }, 'pan'],
        [without('pan'), 'pan'],
        [{ ...base, cvc: '12' }, 'cvc'],
        [{ ...base, cvc: 123 }, 'cvc'],
        [{ ...base, expiry_month: 13 }, 'expiry_month'],
        [{ ...base, expiry_year: '2029' }, 'expiry_year'],
        [{ ...base, currency: 'gbp' }, 'currency'],
        [{ ...base, currency: 'POUNDS' }, 'currency'],
        [{ ...base, channel: 'telepathy' }, 'channel'],
        [{ ...base, network_transaction_id: '' }, 'network_transaction_id'],
        [{ ...base, network_transaction_id: 'x'.repeat(65) }, 'network_transaction_id'],
        [{ ...base, network_transaction_id: 'has space' }, 'network_transaction_id'],
        [{ ...base, network_transaction_id: { $ne: null } }, 'network_transaction_id'],
        [{ ...base, approved: true }, 'approved'],
        [[base], null],
        ['{"network_transaction_id":', null],
        ['null', null],
        ['"text"', null],
        ['{"amount": 1e400}', null],
      ];
      for (const [body, field] of authorisationCases) {
        const res = await network('authorisations', body);
        expect({ body, status: res.status }).toEqual({ body, status: 400 });
        expect(Object.keys(res.body).sort()).toEqual(ERROR_KEYS);
        if (field) {
          expect({ body, fields: res.body.details.map((d: { field: string }) => d.field) }).toEqual({
            body,
            fields: expect.arrayContaining([field]),
          });
        }
        expect(res.text).not.toContain(w.card.pan);
      }
      // Only JSON is taken, signed or not.
      const raw = JSON.stringify({ ...base, network_transaction_id: ntx() });
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
        const res = await http()
          .post('/card-network/authorisations')
          .set('Content-Type', type)
          .set('X-Card-Network-Signature', signature(secret(), 'authorisations', raw))
          .send(raw);
        expect({ type, status: res.status >= 400 && res.status < 500 }).toEqual({ type, status: true });
        expect(Object.keys(res.body).sort()).toEqual(ERROR_KEYS);
      }
      // A card number of another length (Amex, 15 digits) is well formed: not ours, so declined.
      expect((await network('authorisations', { ...base, pan: '378282246310005' }).expect(200)).body).toEqual(
        { approved: false, decline_reason: 'invalid_card' },
      );

      const id = await approved(w.card, { amount: 1000 });
      const held = await balance(w);
      const clearingCases: [unknown, number][] = [
        [{ ...clearing(id, 1000), amount: '1000' }, 400],
        [{ ...clearing(id, 1000), amount: 2 ** 53 }, 400],
        [{ ...clearing(id, 1000), amount: 2 ** 53 - 1 }, 400],
        [{ ...clearing(id, 1000), authorisation_id: 'not-a-uuid' }, 400],
        [{ ...clearing(id, 1000), currency: 'EUR' }, 422],
        [{ ...clearing(id, 1000), currency: 'XYZ' }, 422],
        [clearing(randomUUID(), 1000), 404],
        [
          { network_transaction_id: ntx(), amount: 10, currency: 'XYZ', pan: w.card.pan, merchant: AMAZON },
          400,
        ],
        [
          { network_transaction_id: ntx(), amount: 10, currency: 'EUR', pan: w.card.pan, merchant: AMAZON },
          422,
        ],
        [{ network_transaction_id: ntx(), amount: 10, currency: 'GBP', pan: w.card.pan, merchant: {} }, 400],
        [{ network_transaction_id: ntx(), amount: 10, currency: 'GBP', merchant: AMAZON }, 400],
      ];
      // Above MAX_AMOUNT (100000000 by default) no movement is taken, a clearing or refund included.
      for (const [path, body] of [
        ['clearings', { ...clearing(id, 1000), amount: 100000001 }],
        [
          'clearings',
          {
            network_transaction_id: ntx(),
            amount: 10 ** 12,
            currency: 'GBP',
            pan: w.card.pan,
            merchant: AMAZON,
          },
        ],
        [
          'refunds',
          { network_transaction_id: ntx(), authorisation_id: id, amount: 10 ** 12, currency: 'GBP' },
        ],
      ] as const) {
        const res = await network(path, body);
        expect({ path, body, status: res.status }).toEqual({ path, body, status: 400 });
        expect(res.body.details).toEqual([
          { field: 'amount', message: expect.stringContaining('100000000') },
        ]);
      }
      const reversalCases: [unknown, number][] = [
        [{ authorisation_id: id, amount: 0 }, 400],
        [{ authorisation_id: id, amount: -5 }, 400],
        [{ authorisation_id: id, amount: '5' }, 400],
        [{ authorisation_id: 'nope' }, 400],
        [{}, 400],
        [{ authorisation_id: id, network_transaction_id: '' }, 400],
        // A partial reversal without its id would give back again on every retry or replay.
        [{ authorisation_id: id, amount: 100 }, 400],
        [{ original_network_transaction_id: '' }, 400],
        [{ original_network_transaction_id: 'x'.repeat(65) }, 400],
        [{ original_network_transaction_id: ntx(), authorisation_id: id }, 400],
      ];
      const refundCases: [unknown, number][] = [
        [{ network_transaction_id: ntx(), amount: 10, currency: 'GBP' }, 400],
        [{ network_transaction_id: ntx(), authorisation_id: id, amount: 0, currency: 'GBP' }, 400],
        [{ network_transaction_id: ntx(), authorisation_id: id, amount: 10, currency: 'XYZ' }, 400],
        [{ network_transaction_id: ntx(), authorisation_id: id, amount: 10, currency: 'EUR' }, 422],
        [{ network_transaction_id: ntx(), authorisation_id: randomUUID(), amount: 10, currency: 'GBP' }, 404],
        [
          {
            network_transaction_id: ntx(),
            pan: '4000000000000002',
            amount: 10,
            currency: 'GBP',
            merchant: AMAZON,
          },
          404,
        ],
        [{ network_transaction_id: ntx(), pan: w.card.pan, amount: 10, currency: 'GBP' }, 400],
      ];
      for (const [path, cases] of [
        ['clearings', clearingCases],
        ['reversals', reversalCases],
        ['refunds', refundCases],
      ] as const) {
        for (const [body, status] of cases) {
          const res = await network(path, body);
          expect({ path, body, status: res.status }).toEqual({ path, body, status });
          expect(Object.keys(res.body).sort()).toEqual(ERROR_KEYS);
        }
      }
      expect(await balance(w)).toEqual(held);
      expect(await authorisations(w, 'pending')).toEqual([
        expect.objectContaining({ id, status: 'pending' }),
      ]);
      expect((await verify()).ok).toBe(true);
    });

    it('takes a merchant name or city with hidden characters or misplaced marks as shown, never refusing money owed', async () => {
      const w = await wallet('odd-merchant', 5000);
      // As a network may relay them: a zero-width space, a right-to-left override, an accent over a space.
      const odd = { ...STARBUCKS, name: 'STARBUCKS\u200B 12\u202E3', city: 'Lon \u0301don' };
      const shown = { ...STARBUCKS, name: 'STARBUCKS\uFFFD 12\uFFFD3', city: 'Lon \u25CC\u0301don' };
      const held = await approved(w.card, { merchant: odd });
      await network('clearings', clearing(held, 2550)).expect(200);
      const forced = await network('clearings', {
        network_transaction_id: ntx(),
        amount: 400,
        currency: 'GBP',
        pan: w.card.pan,
        merchant: odd,
      }).expect(200);
      const refund = {
        network_transaction_id: ntx(),
        pan: w.card.pan,
        amount: 300,
        currency: 'GBP',
        merchant: odd,
      };
      await network('refunds', refund).expect(200);
      await network('refunds', refund).expect(200); // a retry of the same bytes replays
      expect(await balance(w)).toEqual({ balance: 2350, held_amount: 0, available_balance: 2350 });
      const cleared = await authorisations(w, 'cleared');
      expect(cleared.map((a) => a.merchant)).toEqual([shown, shown]);
      const history = await http()
        .get(`/transactions?account_id=${w.account.id}`)
        .set(bearer(w.who.token))
        .expect(200);
      const merchants = (history.body.data as { kind: string; merchant?: string }[])
        .filter((t) => t.kind === 'card')
        .map((t) => t.merchant);
      expect(merchants).toEqual([shown.name, shown.name, shown.name]);
      expect(cleared.some((a) => a.transaction_id === forced.body.transaction_id)).toBe(true);
      expect((await verify()).ok).toBe(true);
    });

    it('tells the customer on the stream: "£25.50 spent at Starbucks", and a decline with its reason', async () => {
      const w = await wallet('stream', 3000);
      const stream = await openStream(`${get().baseUrl}/notifications/stream`, bearer(w.who.token));
      try {
        expect(stream.status).toBe(200);
        const id = await approved(w.card);
        const spent = await stream.next(
          (e) => e.event === 'notification' && e.data.type === 'card.spent',
          15000,
        );
        expect(spent.data).toMatchObject({ body: '£25.50 spent at Starbucks', category: 'transactions' });
        expect(spent.data.data).toMatchObject({
          authorisation_id: id,
          card_id: w.card.id,
          last4: w.card.pan.slice(-4),
          amount: 2550,
          merchant: 'Starbucks',
        });
        expect(await authorise(w.card, { amount: 1200, merchant: AMAZON, channel: 'online' })).toEqual({
          approved: false,
          decline_reason: 'insufficient_funds',
        });
        const declined = await stream.next(
          (e) => e.event === 'notification' && e.data.type === 'card.declined',
          15000,
        );
        expect(declined.data).toMatchObject({
          body: 'Card payment of £12.00 at Amazon declined: not enough money',
        });
        expect(JSON.stringify(stream.events)).not.toContain(w.card.pan);
      } finally {
        stream.close();
      }
    });

    it("tells the customer on the stream when a card payment's money comes back: in part, cancelled, or not taken", async () => {
      const w = await wallet('stream.released', 10000);
      const stream = await openStream(`${get().baseUrl}/notifications/stream`, bearer(w.who.token));
      const told = async (type: string) =>
        (await stream.next((e) => e.event === 'notification' && e.data.type === type, 15000)).data;
      try {
        expect(stream.status).toBe(200);
        const id = await approved(w.card);
        await network('reversals', {
          authorisation_id: id,
          amount: 500,
          network_transaction_id: ntx(),
        }).expect(200);
        const part = await told('card.payment_reduced');
        expect(part).toMatchObject({
          category: 'transactions',
          title: 'Card payment reduced',
          body: 'Your £25.50 card payment at Starbucks was reduced by £5.00: that is available to spend again',
        });
        expect(part.data).toMatchObject({
          authorisation_id: id,
          card_id: w.card.id,
          last4: w.card.pan.slice(-4),
          amount: 2550,
          released: 500,
          remaining: 2050,
          reason: 'reversed',
        });
        const cancelled = await approved(w.card, { amount: 1200, merchant: AMAZON, channel: 'online' });
        await network('reversals', { authorisation_id: cancelled }).expect(200);
        expect((await told('card.payment_cancelled')).body).toBe(
          'Your £12.00 card payment at Amazon was cancelled: the money is available to spend again',
        );
        // Its hold expires (as if CARD_HOLD_EXPIRY_DAYS had passed): the rest of the first one comes back.
        await db.query(
          `UPDATE transactions.holds SET expires_at = now() - interval '1 minute' WHERE id = $1`,
          [id],
        );
        expect((await told('card.hold_released')).body).toBe(
          'The £20.50 held for your card payment at Starbucks is available to spend again. ' +
            'If Starbucks still takes the payment, it will show in your transactions',
        );
        expect(await balance(w)).toEqual({ balance: 10000, held_amount: 0, available_balance: 10000 });
        // The same three in the customer's list, each once.
        const listed = await eventually(
          async () => {
            const res = await http().get('/notifications?limit=100').set(bearer(w.who.token)).expect(200);
            const types = (res.body.data as { type: string }[])
              .map((n) => n.type)
              .filter((t) => t.startsWith('card.') && t !== 'card.spent');
            return types.length >= 3 ? types : undefined;
          },
          15000,
          'the notices in the list',
        );
        expect(listed.sort()).toEqual([
          'card.hold_released',
          'card.payment_cancelled',
          'card.payment_reduced',
        ]);
        expect(JSON.stringify(stream.events)).not.toContain(w.card.pan);
      } finally {
        stream.close();
      }
    });

    it('lets analytics group the cleared card spending by merchant and category', async () => {
      const w = await wallet('analytics', 20000);
      const coffee = await approved(w.card);
      await network('clearings', clearing(coffee, 2850)).expect(200);
      const shop = await approved(w.card, { amount: 4000, merchant: TESCO, channel: 'chip' });
      await network('clearings', clearing(shop, 4000)).expect(200);
      await network('clearings', {
        network_transaction_id: ntx(),
        amount: 1000,
        currency: 'GBP',
        pan: w.card.pan,
        merchant: AMAZON,
      }).expect(200);
      // Authorised but not cleared: not spending yet.
      await approved(w.card, { amount: 500, merchant: CASINO });
      const url = `/analytics/spending?period=day&from=${day(-1)}&to=${day(1)}`;
      const gbp = await eventually(
        async () => {
          const res = await http().get(url).set(bearer(w.who.token)).expect(200);
          const c = (res.body.currencies as { currency: string; count: number }[]).find(
            (x) => x.currency === 'GBP',
          );
          return c && c.count === 4 ? (c as unknown as Record<string, unknown>) : undefined;
        },
        20000,
        'analytics to count the card payments',
      );
      expect(gbp).toMatchObject({ money_in: 20000, money_out: 7850 });
      expect(gbp.by_merchant).toEqual(
        expect.arrayContaining([
          { merchant: 'Tesco', money_in: 0, money_out: 4000, count: 1 },
          { merchant: 'Starbucks', money_in: 0, money_out: 2850, count: 1 },
          { merchant: 'Amazon', money_in: 0, money_out: 1000, count: 1 },
        ]),
      );
      expect(gbp.by_merchant).not.toEqual(
        expect.arrayContaining([expect.objectContaining({ merchant: 'Lucky Star Casino' })]),
      );
      expect(gbp.by_category).toEqual(
        expect.arrayContaining([
          { category: 'groceries', money_in: 0, money_out: 4000, count: 1 },
          { category: 'eating_out', money_in: 0, money_out: 2850, count: 1 },
          { category: 'shopping', money_in: 0, money_out: 1000, count: 1 },
        ]),
      );
      // Staff reverse the Tesco payment: the money comes back under Tesco and groceries, as a refund from
      // the merchant would, not as an anonymous reversal.
      const [tesco] = (
        await db.query(`SELECT transaction_id FROM cards.authorisations WHERE id = $1`, [shop])
      ).rows as { transaction_id: string }[];
      const reversed = await http()
        .post(`/admin/transactions/${tesco.transaction_id}/reverse`)
        .set(bearer(admin.token))
        .set('Idempotency-Key', randomUUID())
        .send({ reason: 'Goods never delivered' })
        .expect(201);
      expect(reversed.body).toMatchObject({ kind: 'reversal', merchant: 'Tesco', category: 'groceries' });
      const after = await eventually(
        async () => {
          const res = await http().get(url).set(bearer(w.who.token)).expect(200);
          const c = (res.body.currencies as { currency: string; count: number }[]).find(
            (x) => x.currency === 'GBP',
          );
          return c && c.count === 5 ? (c as unknown as Record<string, unknown>) : undefined;
        },
        20000,
        'analytics to count the reversal',
      );
      expect(after.by_merchant).toEqual(
        expect.arrayContaining([{ merchant: 'Tesco', money_in: 4000, money_out: 4000, count: 2 }]),
      );
      expect(after.by_category).toEqual(
        expect.arrayContaining([{ category: 'groceries', money_in: 4000, money_out: 4000, count: 2 }]),
      );
    });

    it('never spends the same money twice when authorisations, transfers and clearings race on one account', async () => {
      const w = await wallet('race', 10000);
      await http()
        .patch(`/admin/accounts/${w.account.id}`)
        .set(bearer(admin.token))
        .send({ overdraft_limit: 2000, reason: 'Test: arranged overdraft' })
        .expect(200);
      const payee = await openAccount(get(), await verifiedCustomer(get(), admin, 'network.payee'));
      // Three holds to clear during the race, at their authorised amounts (so the funds rule is exact).
      const earlier: string[] = [];
      for (let i = 0; i < 3; i++) earlier.push(await approved(w.card, { amount: 1000 }));
      expect(await balance(w)).toEqual({ balance: 10000, held_amount: 3000, available_balance: 9000 });

      const AMOUNT = 700;
      const auths = Array.from({ length: 24 }, () =>
        network('authorisations', authorisation(w.card, { amount: AMOUNT })),
      );
      const transfers = Array.from({ length: 8 }, () =>
        transfer(get(), w.who, {
          from_account_id: w.account.id,
          to_account_id: payee.id,
          amount: AMOUNT,
          currency: 'GBP',
        }),
      );
      const clears = earlier.map((id) => network('clearings', clearing(id, 1000)));
      const [a, t, c] = await Promise.all([Promise.all(auths), Promise.all(transfers), Promise.all(clears)]);
      expect(a.map((r) => r.status).every((s) => s === 200)).toBe(true);
      const approvedCount = a.filter((r) => r.body.approved).length;
      expect(
        a.filter((r) => !r.body.approved).every((r) => r.body.decline_reason === 'insufficient_funds'),
      ).toBe(true);
      expect(t.map((r) => r.status).every((s) => s === 201 || s === 422)).toBe(true);
      expect(t.filter((r) => r.status === 422).every((r) => r.body.code === 'insufficient_funds')).toBe(true);
      const transferred = t.filter((r) => r.status === 201).length;
      expect(c.map((r) => r.status)).toEqual([200, 200, 200]);

      // 9000 was free (funds 10000 + overdraft 2000 - 3000 held): twelve payments of 700 fit, no more,
      // and the clearings of the held money took none of it.
      expect(approvedCount + transferred).toBe(12);
      const expected = {
        balance: 10000 - 3000 - transferred * AMOUNT,
        held_amount: approvedCount * AMOUNT,
        available_balance: 10000 - 3000 - (transferred + approvedCount) * AMOUNT + 2000,
      };
      expect(await balance(w)).toEqual(expected);
      const [row] = (
        await db.query(`SELECT balance::int, held::int FROM transactions.ledger_accounts WHERE id = $1`, [
          w.account.id,
        ])
      ).rows;
      expect(row).toEqual({ balance: expected.balance, held: expected.held_amount });
      expect(await authorisations(w, 'pending')).toHaveLength(approvedCount);
      expect(await authorisations(w, 'cleared')).toHaveLength(3);
      const report = await verify();
      expect(report).toMatchObject({ ok: true, mismatches: [] });
    });

    it('writes no card number or CVC to any log or event', async () => {
      // Its request id in a log says the lines before it are written too (any answer will do).
      const marker = `network-logs-${randomUUID()}`;
      await http().get('/cards').set(bearer(admin.token)).set('X-Request-Id', marker);
      const logs = await logsThrough(get().t, marker);
      expect(logs).toContain('/card-network/authorisations');
      expect(secrets.pans.size).toBeGreaterThan(5);
      for (const pan of secrets.pans) expect(logs.includes(pan)).toBe(false);
      // Nor any other number the network sent (the hostile ones included).
      for (const pan of ['4000000000000002', '378282246310005']) expect(logs.includes(pan)).toBe(false);
      for (const cvc of secrets.cvcs) expect(logs).not.toMatch(new RegExp(`"cvc"\\s*:\\s*"${cvc}"`));
      for (const schema of ['cards', 'transactions']) {
        const events = await db.query(`SELECT payload::text AS p FROM ${schema}.outbox`);
        for (const { p } of events.rows as { p: string }[]) {
          for (const pan of secrets.pans) expect(p.includes(pan)).toBe(false);
          expect(p).not.toContain('"cvc"');
          expect(p).not.toContain('"pan"');
        }
      }
    });
  });
}
