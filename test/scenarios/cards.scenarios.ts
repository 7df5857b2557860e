/**
 * Cards, both topologies: issuing, the customer's controls (reveal, freeze, cancel and replace, limits),
 * staff blocks and their audit, ownership, and that no card number or CVC leaks into a log, an event or
 * an error. The card network's side (authorisations, holds) is not here: the authorisation list is read
 * from rows written directly, as the network routes will write them.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import request from 'supertest';
import { bearer, firstAdmin, newCustomer, PASSWORD, type Actor } from '../support/actors';
import { openAccount, promote, verifiedCustomer, type Account } from '../support/banking';
import { lockWaiters } from '../support/lock-waits';
import { eventually, logsThrough } from '../support/test-env';
import type { Running } from '../support/topologies';

/** Luhn, written here again: the scenarios check the numbers independently of the module's code. */
const isLuhnValid = (n: string) =>
  [...n].reverse().reduce((sum, c, i) => {
    const d = Number(c) * (i % 2 ? 2 : 1);
    return sum + (d > 9 ? d - 9 : d);
  }, 0) %
    10 ===
  0;

interface Card {
  id: string;
  account_id: string;
  last4: string;
  status: string;
  blocked: boolean;
  expiry_month: number;
  expiry_year: number;
  replaced_by: string | null;
  replaces: string | null;
  cardholder_name: string;
  limits: Record<string, unknown>;
  pan?: string;
  cvc?: string;
}

export function cardsScenarios(get: () => Running) {
  describe('cards', () => {
    const http = () => request(get().baseUrl);
    let admin: Actor;
    let db: Client;
    let alice: Actor;
    let bob: Actor;
    let a: Account;
    let b: Account;
    /** Every number and CVC this suite saw: none may appear in a log, an event or an error. */
    const secrets = { pans: new Set<string>(), cvcs: new Set<string>() };

    const issue = async (who: Actor, account: Account, body: Record<string, unknown> = {}) => {
      const res = await http()
        .post('/cards')
        .set(bearer(who.token))
        .send({ account_id: account.id, type: 'virtual', ...body })
        .expect(201);
      const card = res.body as Card;
      expect(res.headers['cache-control']).toBe('no-store');
      secrets.pans.add(card.pan!);
      secrets.cvcs.add(card.cvc!);
      return card;
    };
    const reveal = (who: Actor, id: string, password = PASSWORD) =>
      http().post(`/cards/${id}/reveal`).set(bearer(who.token)).send({ password });
    const cardOf = async (who: Actor, id: string) =>
      (await http().get(`/cards/${id}`).set(bearer(who.token)).expect(200)).body as Card;
    const action = (who: Actor, id: string, what: string, body: Record<string, unknown> = {}) =>
      http().post(`/cards/${id}/${what}`).set(bearer(who.token)).send(body);
    const limits = (who: Actor, id: string, body: unknown) =>
      http()
        .patch(`/cards/${id}/limits`)
        .set(bearer(who.token))
        .send(body as object);
    const staff = (who: Actor, id: string, what: 'block' | 'unblock', reason = 'Test: suspected fraud') =>
      http().post(`/admin/cards/${id}/${what}`).set(bearer(who.token)).send({ reason });

    beforeAll(async () => {
      admin = await firstAdmin(get());
      db = await get().t.db();
      alice = await verifiedCustomer(get(), admin, 'cards.alice');
      bob = await verifiedCustomer(get(), admin, 'cards.bob');
      a = await openAccount(get(), alice);
      b = await openAccount(get(), bob);
    });

    it('issues a card whose number and CVC appear once, reveals them after the password, and lists it masked', async () => {
      // A form of her verified name ("Cus cards.alice"), upper-cased and its spaces collapsed.
      const card = await issue(alice, a, { cardholder_name: 'c  cards.alice' });
      expect(card).toMatchObject({
        account_id: a.id,
        type: 'virtual',
        brand: 'mastercard',
        status: 'active',
        blocked: false,
        cardholder_name: 'C CARDS.ALICE',
        currency: 'GBP',
        limits: {
          per_transaction: null,
          daily: null,
          monthly: null,
          online: true,
          contactless: true,
          atm: true,
          blocked_categories: [],
        },
      });
      expect(card.pan).toMatch(/^535522\d{10}$/);
      expect(isLuhnValid(card.pan!)).toBe(true);
      expect(card.cvc).toMatch(/^\d{3}$/);
      expect(card.last4).toBe(card.pan!.slice(-4));
      const now = new Date();
      expect([card.expiry_month, card.expiry_year]).toEqual([
        now.getUTCMonth() + 1,
        now.getUTCFullYear() + 3,
      ]);

      const shown = await reveal(alice, card.id).expect(200);
      expect(shown.headers['cache-control']).toBe('no-store');
      expect(shown.body).toEqual({
        id: card.id,
        pan: card.pan,
        cvc: card.cvc,
        expiry_month: card.expiry_month,
        expiry_year: card.expiry_year,
        cardholder_name: 'C CARDS.ALICE',
      });
      // Its owner is told, as a security notice naming the last four digits only.
      const notices = await eventually(
        async () => {
          const all = await http().get('/notifications?limit=100').set(bearer(alice.token)).expect(200);
          const found = (all.body.data as { type: string; data: { card_id?: string } }[]).filter(
            (n) => n.type === 'card.revealed' && n.data.card_id === card.id,
          );
          return found.length ? found : undefined;
        },
        15_000,
        'the reveal notice',
      );
      expect(notices).toEqual([
        expect.objectContaining({
          category: 'security',
          title: 'Card details shown',
          body: `The full number and security code of your card ending ${card.last4} were shown in the app. If this wasn't you, freeze the card and change your password.`,
          data: { card_id: card.id, last4: card.last4 },
        }),
      ]);
      expect(JSON.stringify(notices)).not.toContain(card.pan!);

      const list = await http().get('/cards').set(bearer(alice.token)).expect(200);
      expect(list.body.data.map((c: Card) => c.id)).toContain(card.id);
      const one = await http().get(`/cards/${card.id}`).set(bearer(alice.token)).expect(200);
      for (const body of [list.text, one.text]) {
        expect(body).not.toContain(card.pan);
        expect(body).not.toContain('"pan"');
        expect(body).not.toContain('"cvc"');
        expect(body).not.toContain('pan_encrypted');
      }
      // Stored encrypted and hashed, never in clear; the reveal is in the audit trail.
      const stored = await db.query(
        `SELECT encode(pan_encrypted, 'escape') AS e, encode(pan_hash, 'hex') AS h FROM cards.cards WHERE id = $1`,
        [card.id],
      );
      expect(stored.rows[0].e).not.toContain(card.pan);
      expect(stored.rows[0].h).not.toContain(card.pan);
      const audit = await db.query(`SELECT outcome, owner_id FROM cards.reveals WHERE card_id = $1`, [
        card.id,
      ]);
      expect(audit.rows).toEqual([{ outcome: 'revealed', owner_id: alice.id }]);
      // A wrong password shows nothing and tells nothing: still the one event.
      await reveal(alice, card.id, 'not the password').expect(401);
      const events = await db.query(
        `SELECT count(*)::int AS n FROM cards.outbox WHERE name = 'card.revealed' AND payload->>'card_id' = $1`,
        [card.id],
      );
      expect(events.rows[0].n).toBe(1);
    });

    it('takes the name on the card from the profile when none is given', async () => {
      const card = await issue(alice, a, { type: 'physical' });
      expect(card).toMatchObject({ type: 'physical', cardholder_name: 'CUS CARDS.ALICE' });
    });

    it("embosses only the holder's own verified name, in Latin letters, whole or with initials", async () => {
      const verifiedAs = (tag: string, fullName: string) => verifiedCustomer(get(), admin, tag, fullName);
      const zoe = await verifiedAs('cards.zoe', 'Zoë O’Neil-Smith');
      const zoes = await openAccount(get(), zoe);
      const cardsOf = async (who: Actor) =>
        (
          await db.query(`SELECT cardholder_name FROM cards.cards WHERE owner_id = $1 ORDER BY created_at`, [
            who.id,
          ])
        ).rows.map((r: { cardholder_name: string }) => r.cardholder_name);

      for (const name of ['ELON MUSK', 'ALICE SMITH', 'ZOE', 'SMITH ZOE', "ZOE O'NEIL-SMITH JONES", 'Z O']) {
        const res = await http()
          .post('/cards')
          .set(bearer(zoe.token))
          .send({ account_id: zoes.id, type: 'physical', cardholder_name: name })
          .expect(422);
        expect(res.body.code).toBe('cardholder_name_not_yours');
        expect(res.body.details).toEqual([{ field: 'cardholder_name', message: expect.any(String) }]);
        expect(res.body.details[0].message).toContain(`"ZOE O'NEIL-SMITH"`);
      }
      expect(await cardsOf(zoe)).toEqual([]);

      expect((await issue(zoe, zoes)).cardholder_name).toBe("ZOE O'NEIL-SMITH");
      expect((await issue(zoe, zoes, { cardholder_name: 'z. oneil-smith' })).cardholder_name).toBe(
        'Z. ONEIL-SMITH',
      );
      expect(await cardsOf(zoe)).toEqual(["ZOE O'NEIL-SMITH", 'Z. ONEIL-SMITH']);

      // A Cyrillic name, spelt as passports spell it: ICAO's spelling by default, an older one on request.
      const yulia = await verifiedAs('cards.yulia', 'Юлия Щербакова');
      const yulias = await openAccount(get(), yulia);
      expect((await issue(yulia, yulias)).cardholder_name).toBe('IULIIA SHCHERBAKOVA');
      expect((await issue(yulia, yulias, { cardholder_name: 'YULIYA SHCHERBAKOVA' })).cardholder_name).toBe(
        'YULIYA SHCHERBAKOVA',
      );
      await http()
        .post('/cards')
        .set(bearer(yulia.token))
        .send({ account_id: yulias.id, type: 'virtual', cardholder_name: 'IVAN PETROV' })
        .expect(422);
      expect(await cardsOf(yulia)).toEqual(['IULIIA SHCHERBAKOVA', 'YULIYA SHCHERBAKOVA']);

      // A name in a script cards cannot carry: its Latin spelling, verified with it, by default.
      const li = await verifiedCustomer(get(), admin, 'cards.li', '李小龍', 'Li Xiaolong');
      const lis = await openAccount(get(), li);
      expect((await issue(li, lis)).cardholder_name).toBe('LI XIAOLONG');
      expect((await issue(li, lis, { cardholder_name: 'L XIAOLONG' })).cardholder_name).toBe('L XIAOLONG');
      for (const name of ['BRUCE LEE', 'XIAOLONG LI']) {
        const res = await http()
          .post('/cards')
          .set(bearer(li.token))
          .send({ account_id: lis.id, type: 'virtual', cardholder_name: name })
          .expect(422);
        expect(res.body.details[0].message).toContain('"LI XIAOLONG"');
      }
      expect(await cardsOf(li)).toEqual(['LI XIAOLONG', 'L XIAOLONG']);

      // A name spelt whole in Latin letters is what cards carry, whatever else was approved as its Latin
      // spelling (helper-165: staff approved BARACK OBAMA for a Latin name, and cards carried it).
      const ann = await verifiedCustomer(get(), admin, 'cards.ann', 'Ann Smith', 'Barack Obama');
      const anns = await openAccount(get(), ann);
      expect((await issue(ann, anns)).cardholder_name).toBe('ANN SMITH');
      await http()
        .post('/cards')
        .set(bearer(ann.token))
        .send({ account_id: anns.id, type: 'virtual', cardholder_name: 'BARACK OBAMA' })
        .expect(422);
      expect(await cardsOf(ann)).toEqual(['ANN SMITH']);
    });

    it('issues only on your own active account, refusing hostile bodies with 4xx naming the field', async () => {
      const notMine = await http()
        .post('/cards')
        .set(bearer(alice.token))
        .send({ account_id: b.id, type: 'virtual' })
        .expect(404);
      expect(notMine.body.details).toEqual([{ field: 'account_id', message: 'no such account of yours' }]);
      await http()
        .post('/cards')
        .set(bearer(alice.token))
        .send({ account_id: randomUUID(), type: 'virtual' })
        .expect(404);
      for (const [body, field] of [
        [{ account_id: a.id, type: 'gold' }, 'type'],
        [{ account_id: 'nope', type: 'virtual' }, 'account_id'],
        [{ account_id: a.id, type: 'virtual', cardholder_name: 'Ann\u202eSmith' }, 'cardholder_name'],
        [{ account_id: a.id, type: 'virtual', cardholder_name: 'X'.repeat(27) }, 'cardholder_name'],
        [{ account_id: a.id, type: 'virtual', cardholder_name: 42 }, 'cardholder_name'],
        [{ account_id: a.id, type: 'virtual', pan: '5355220000000004' }, 'pan'],
        [{ account_id: a.id, type: 'virtual', owner_id: bob.id }, 'owner_id'],
        [{ account_id: [a.id], type: 'virtual' }, 'account_id'],
      ] as [Record<string, unknown>, string][]) {
        const res = await http().post('/cards').set(bearer(alice.token)).send(body).expect(400);
        expect(res.body.code).toBe('validation_failed');
        expect(res.body.details.map((d: { field: string }) => d.field)).toContain(field);
        expect(res.text).not.toContain('5355220000000004');
      }
      await http()
        .post('/cards')
        .set(bearer(alice.token))
        .set('Content-Type', 'application/json')
        .send('{"account_id":')
        .expect(400);
      // A frozen account takes no new card.
      await http()
        .post(`/admin/accounts/${b.id}/freeze`)
        .set(bearer(admin.token))
        .send({ reason: 'Test: frozen for cards' })
        .expect(200);
      const frozen = await http()
        .post('/cards')
        .set(bearer(bob.token))
        .send({ account_id: b.id, type: 'virtual' })
        .expect(409);
      expect(frozen.body).toMatchObject({ code: 'account_frozen', details: [{ field: 'account_id' }] });
      await http()
        .post(`/admin/accounts/${b.id}/unfreeze`)
        .set(bearer(admin.token))
        .send({ reason: 'Test: unfrozen for cards' })
        .expect(200);
    });

    it("answers 404 for another customer's card on every route, and 403 on the staff routes", async () => {
      const card = await issue(alice, a);
      await http().get(`/cards/${card.id}`).set(bearer(bob.token)).expect(404);
      await reveal(bob, card.id).expect(404);
      for (const what of ['freeze', 'unfreeze']) await action(bob, card.id, what).expect(404);
      await action(bob, card.id, 'cancel', { reason: 'stolen' }).expect(404);
      await limits(bob, card.id, { daily: 1 }).expect(404);
      await http().get(`/cards/${card.id}/authorisations`).set(bearer(bob.token)).expect(404);
      const list = await http().get('/cards').set(bearer(bob.token)).expect(200);
      expect(list.body.data.map((c: Card) => c.id)).not.toContain(card.id);
      await http().get(`/admin/cards?owner_id=${alice.id}`).set(bearer(bob.token)).expect(403);
      await staff(bob, card.id, 'block').expect(403);
      await http().get('/cards/not-a-uuid').set(bearer(alice.token)).expect(400);
      await http().get(`/cards/${card.id}`).expect(401);
      // Nothing changed on the card.
      expect(await cardOf(alice, card.id)).toMatchObject({ status: 'active', blocked: false });
    });

    it('answers 401 invalid_password on a wrong password, and audits the attempt', async () => {
      const card = await issue(bob, b);
      const res = await reveal(bob, card.id, 'not my password at all').expect(401);
      expect(res.body.code).toBe('invalid_password');
      expect(res.text).not.toContain(card.pan);
      for (const body of [
        {},
        { password: { $ne: '' } },
        { password: 'x'.repeat(1025) },
        { password: '', extra: 1 },
      ]) {
        const bad = await http()
          .post(`/cards/${card.id}/reveal`)
          .set(bearer(bob.token))
          .send(body)
          .expect(400);
        expect(bad.body.code).toBe('validation_failed');
      }
      const audit = await db.query(`SELECT outcome FROM cards.reveals WHERE card_id = $1`, [card.id]);
      expect(audit.rows).toEqual([{ outcome: 'wrong_password' }]);
      // The session is still good: a wrong password here logs nobody out.
      await http().get('/users/me').set(bearer(bob.token)).expect(200);
    });

    it('limits reveals per customer per hour, wrong passwords included, with Retry-After', async () => {
      const carol = await verifiedCustomer(get(), admin, 'cards.carol');
      const account = await openAccount(get(), carol);
      const card = await issue(carol, account);
      await reveal(carol, card.id, 'wrong guess one').expect(401);
      await reveal(carol, card.id, 'wrong guess two').expect(401);
      for (let i = 0; i < 3; i++) await reveal(carol, card.id).expect(200); // the default limit: 5
      const limited = await reveal(carol, card.id).expect(429);
      expect(limited.body.code).toBe('rate_limited');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(limited.text).not.toContain(card.pan);
      // Another customer is not affected.
      await reveal(alice, (await issue(alice, a)).id).expect(200);
    });

    it("counts a reveal's wrong passwords with the password change's: five in all lock both, and the owner is told", async () => {
      const dan = await verifiedCustomer(get(), admin, 'cards.dan');
      const card = await issue(dan, await openAccount(get(), dan));
      const change = (current: string) =>
        http()
          .post('/auth/password')
          .set(bearer(dan.token))
          .send({ current_password: current, new_password: 'a brand new passphrase 1' });
      for (let i = 0; i < 2; i++) await change(`not it at all ${i}`).expect(401);
      for (let i = 0; i < 3; i++) await reveal(dan, card.id, `wrong guess ${i}`).expect(401);
      // Locked: the right password neither changes it nor shows the card.
      expect((await change(PASSWORD).expect(429)).body.code).toBe('rate_limited');
      const shown = await reveal(dan, card.id).expect(429);
      expect(shown.body.code).toBe('rate_limited');
      expect(Number(shown.headers['retry-after'])).toBeGreaterThan(0);
      expect(shown.text).not.toMatch(/"(pan|cvc)"/);
      const notice = await eventually(async () => {
        const list = await http().get('/notifications').set(bearer(dan.token)).expect(200);
        return (list.body.data as { type: string; body: string }[]).find((n) => n.type === 'user.locked_out');
      });
      expect(notice.body).toContain("to see a card's details");
    });

    it('freezes and unfreezes, idempotently, each answering the card as it left it, also when sent together', async () => {
      const card = await issue(alice, a);
      expect((await action(alice, card.id, 'freeze').expect(200)).body.status).toBe('frozen');
      expect((await action(alice, card.id, 'freeze').expect(200)).body.status).toBe('frozen');
      expect((await action(alice, card.id, 'unfreeze').expect(200)).body.status).toBe('active');
      expect((await action(alice, card.id, 'unfreeze').expect(200)).body.status).toBe('active');
      // Sent together, each answers the card as it left it: a freeze never says active, an unfreeze
      // never says frozen (read apart from its change, 2–4 of 20 did; helper-131).
      const mixed = await Promise.all(
        Array.from({ length: 40 }, (_, i) => (i % 2 ? 'unfreeze' : 'freeze')).map(async (what) => ({
          what,
          status: (await action(alice, card.id, what).expect(200)).body.status as string,
        })),
      );
      expect(mixed.filter((r) => r.status !== (r.what === 'freeze' ? 'frozen' : 'active'))).toEqual([]);
    });

    it("lets a staff block outrank the customer's unfreeze, audits block and unblock, and never acts on staff's own cards", async () => {
      const card = await issue(bob, b);
      await action(bob, card.id, 'freeze').expect(200);
      const blocked = await staff(admin, card.id, 'block', 'Test: card reported compromised').expect(200);
      expect(blocked.body).toMatchObject({
        status: 'frozen',
        blocked: true,
        blocked_by: admin.id,
        blocked_reason: 'Test: card reported compromised',
        owner_id: bob.id,
      });
      expect(JSON.stringify(blocked.body)).not.toContain(card.pan);
      expect((await staff(admin, card.id, 'block').expect(409)).body.code).toBe('already_blocked');
      const refused = await action(bob, card.id, 'unfreeze').expect(409);
      expect(refused.body.code).toBe('card_blocked');
      expect(await cardOf(bob, card.id)).toMatchObject({ status: 'frozen', blocked: true });
      // The customer can still freeze, and cannot escape the block by replacing the card.
      await action(bob, card.id, 'freeze').expect(200);
      const replace = await action(bob, card.id, 'cancel', { reason: 'lost', replace: true }).expect(409);
      expect(replace.body.code).toBe('card_blocked');
      expect(await cardOf(bob, card.id)).toMatchObject({ status: 'frozen', replaced_by: null });

      // The staff list shows the block.
      const list = await http().get(`/admin/cards?owner_id=${bob.id}`).set(bearer(admin.token)).expect(200);
      expect(list.body.data.find((c: Card) => c.id === card.id)).toMatchObject({
        blocked: true,
        owner_id: bob.id,
      });
      expect(list.text).not.toContain(card.pan);
      await http().get('/admin/cards').set(bearer(admin.token)).expect(400);

      await staff(admin, card.id, 'unblock', 'Test: cleared after review').expect(200);
      expect((await staff(admin, card.id, 'unblock').expect(409)).body.code).toBe('not_blocked');
      expect(await cardOf(bob, card.id)).toMatchObject({ status: 'frozen', blocked: false });
      expect((await action(bob, card.id, 'unfreeze').expect(200)).body.status).toBe('active');

      // Both actions are in the audit trail, with their reasons (beside the reads of the card each answer
      // showed the admin, filed as customer_data_viewed).
      const entries = await eventually(
        async () => {
          const res = await http()
            .get(`/admin/audit?resource_id=${card.id}`)
            .set(bearer(admin.token))
            .expect(200);
          const actions = (res.body.data as { action: string }[]).filter(
            (e) => e.action !== 'customer_data_viewed',
          );
          return actions.length === 2 ? actions : undefined;
        },
        15000,
        'the card block and unblock in the audit trail',
      );
      expect(entries).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            action: 'card_blocked',
            actor_id: admin.id,
            target_user_id: bob.id,
            resource_type: 'card',
            resource_id: card.id,
            reason: 'Test: card reported compromised',
            before: { blocked: false, status: 'frozen' },
            after: { blocked: true, status: 'frozen' },
          }),
          expect.objectContaining({ action: 'card_unblocked', reason: 'Test: cleared after review' }),
        ]),
      );

      // A staff member with a card of their own cannot block it.
      const dana = await verifiedCustomer(get(), admin, 'cards.dana');
      const own = await issue(dana, await openAccount(get(), dana));
      const danaStaff = await promote(get(), admin, dana);
      const ownRefused = await staff(danaStaff, own.id, 'block').expect(403);
      expect(ownRefused.body.code).toBe('own_card');
      // Nor read it through the staff routes: the staff view tells who blocked a card and why, which its
      // owner must not read when they are the one investigated. Their own cards are at GET /cards.
      await staff(admin, own.id, 'block', 'Test: internal investigation').expect(200);
      for (const path of [`/admin/cards/${own.id}`, `/admin/cards?owner_id=${dana.id}`]) {
        const read = await http().get(path).set(bearer(danaStaff.token)).expect(403);
        expect([path, read.body.code, JSON.stringify(read.body)]).toEqual([
          path,
          'own_card',
          expect.not.stringContaining('investigation'),
        ]);
      }
      const mine = await http().get(`/cards/${own.id}`).set(bearer(danaStaff.token)).expect(200);
      expect(mine.body).toMatchObject({ blocked: true });
      expect(mine.body).not.toHaveProperty('blocked_reason');
      await staff(admin, own.id, 'unblock', 'Test: cleared').expect(200);
      // A staff member lifts only their own blocks; an admin any.
      await staff(danaStaff, card.id, 'block').expect(200);
      await staff(danaStaff, card.id, 'unblock').expect(200);
      await staff(admin, card.id, 'block').expect(200);
      expect((await staff(danaStaff, card.id, 'unblock').expect(403)).body.code).toBe('blocked_by_other');
      await staff(admin, card.id, 'unblock').expect(200);
      await http().post(`/admin/cards/${card.id}/block`).set(bearer(admin.token)).send({}).expect(400);
      await staff(admin, randomUUID(), 'block').expect(404);
    });

    it("shows no card's details while staff have frozen its account, and does once the freeze is lifted", async () => {
      const fay = await verifiedCustomer(get(), admin, 'cards.fay');
      const account = await openAccount(get(), fay);
      const card = await issue(fay, account);
      const why = { reason: 'Suspected account takeover' };
      await http()
        .post(`/admin/accounts/${account.id}/freeze`)
        .set(bearer(admin.token))
        .send(why)
        .expect(200);
      const hidden = await reveal(fay, card.id).expect(409);
      expect(hidden.body.code).toBe('account_frozen');
      expect(JSON.stringify(hidden.body)).not.toMatch(/"(pan|cvc)"/);
      await http()
        .post(`/admin/accounts/${account.id}/unfreeze`)
        .set(bearer(admin.token))
        .send({ reason: 'Cleared after review' })
        .expect(200);
      expect((await reveal(fay, card.id).expect(200)).body.pan).toMatch(/^\d{16}$/);
    });

    it("shows no new card's details when staff freeze its account while it is issued (forced to overlap)", async () => {
      const hal = await verifiedCustomer(get(), admin, 'cards.hal');
      const account = await openAccount(get(), hal);
      const holder = await get().t.db();
      let issuing: Promise<request.Response>;
      try {
        // The issue reads the account active, then waits on the owner's issue lock (held here) while staff
        // freeze the account; it makes the card once let go.
        await holder.query('BEGIN');
        await holder.query(`SELECT pg_advisory_xact_lock($1, hashtext($2))`, [0x63_61_72_64, hal.id]);
        issuing = http()
          .post('/cards')
          .set(bearer(hal.token))
          .send({ account_id: account.id, type: 'virtual' })
          .then((res) => res);
        await lockWaiters(db, 1, '%pg_advisory_xact_lock%', 'the card issue to wait');
        await http()
          .post(`/admin/accounts/${account.id}/freeze`)
          .set(bearer(admin.token))
          .send({ reason: 'Suspected account takeover' })
          .expect(200);
      } finally {
        await holder.query('ROLLBACK');
        await holder.end();
      }
      const refused = await issuing!;
      expect([refused.status, refused.body.code]).toEqual([409, 'issued_while_frozen']);
      expect(JSON.stringify(refused.body)).not.toMatch(/"(pan|cvc)"|\d{16}/);
      // The card stands, masked; its details wait for the freeze to be lifted.
      const [card] = (await http().get('/cards').set(bearer(hal.token)).expect(200)).body.data as Card[];
      expect(card).toMatchObject({ account_id: account.id, status: 'active' });
      expect(refused.body.details).toEqual([
        { field: 'account_id', message: expect.stringContaining(card.id) },
      ]);
      expect((await reveal(hal, card.id).expect(409)).body.code).toBe('account_frozen');
      await http()
        .post(`/admin/accounts/${account.id}/unfreeze`)
        .set(bearer(admin.token))
        .send({ reason: 'Cleared after review' })
        .expect(200);
      const shown = (await reveal(hal, card.id).expect(200)).body as Card;
      secrets.pans.add(shown.pan!);
      secrets.cvcs.add(shown.cvc!);
      expect(shown.pan!.slice(-4)).toBe(card.last4);
    });

    it('shows no details when a block or a logout-all lands while the password is checked; a block queued behind a reveal applies after it (forced to overlap)', async () => {
      const gil = await verifiedCustomer(get(), admin, 'cards.gil');
      const card = await issue(gil, await openAccount(get(), gil));
      const holder = await get().t.db();
      const waiting = (n: number, what: string) => lockWaiters(db, n, '%cards.cards%', what);
      try {
        // The reveal passes its first look at the card, checks the password, then reads the card again
        // and waits on the held row: a block committed meanwhile (as a staff block writes it) refuses it.
        await holder.query('BEGIN');
        await holder.query('SELECT 1 FROM cards.cards WHERE id = $1 FOR UPDATE', [card.id]);
        const late = reveal(gil, card.id).then((r) => r);
        await waiting(1, 'the reveal to read the card again after the password check');
        await holder.query(
          `UPDATE cards.cards SET blocked_by_staff = true, blocked_by = $2, blocked_reason = 'Test: race',
                  blocked_at = now(), status = 'frozen' WHERE id = $1`,
          [card.id, admin.id],
        );
        await holder.query('COMMIT');
        const refused = await late;
        expect([refused.status, refused.body.code]).toEqual([409, 'card_blocked']);
        expect(JSON.stringify(refused.body)).not.toMatch(/"(pan|cvc)"/);
        const shown = await db.query(`SELECT count(*)::int AS n FROM cards.reveals WHERE card_id = $1`, [
          card.id,
        ]);
        expect(shown.rows[0].n).toBe(0);
      } finally {
        await holder.query('ROLLBACK').catch(() => undefined);
      }
      // Lifted; then a block sent while a reveal waits on the row queues behind it.
      await staff(admin, card.id, 'unblock').expect(200);
      try {
        await holder.query('BEGIN');
        await holder.query('SELECT 1 FROM cards.cards WHERE id = $1 FOR UPDATE', [card.id]);
        const first = reveal(gil, card.id).then((r) => r);
        await waiting(1, 'the reveal to wait on the held card');
        const block = staff(admin, card.id, 'block').then((r) => r);
        await waiting(2, 'the block to queue behind the reveal');
        await holder.query('COMMIT');
        // The reveal, first in the queue, is decided (and recorded) on the unblocked card; the block then
        // applies, and from it on the details are refused.
        expect((await first).status).toBe(200);
        expect((await block).status).toBe(200);
        const recorded = await db.query(`SELECT outcome FROM cards.reveals WHERE card_id = $1`, [card.id]);
        expect(recorded.rows).toEqual([{ outcome: 'revealed' }]);
        expect((await reveal(gil, card.id).expect(409)).body.code).toBe('card_blocked');
      } finally {
        await holder.query('ROLLBACK').catch(() => undefined);
        await staff(admin, card.id, 'unblock');
      }
      // A logout-all answered while a reveal waits: its session has ended, so no details either.
      const other = await http()
        .post('/auth/login')
        .send({ email: gil.email, password: PASSWORD })
        .expect(200);
      const revealed = async () =>
        (await db.query(`SELECT count(*)::int AS n FROM cards.reveals WHERE card_id = $1`, [card.id])).rows[0]
          .n as number;
      const before = await revealed();
      try {
        await holder.query('BEGIN');
        await holder.query('SELECT 1 FROM cards.cards WHERE id = $1 FOR UPDATE', [card.id]);
        const waited = reveal(gil, card.id).then((r) => r);
        await waiting(1, 'the reveal to wait on the held card');
        await http().post('/auth/logout-all').set(bearer(other.body.access_token)).expect(204);
        await holder.query('COMMIT');
        const ended = await waited;
        expect([ended.status, ended.body.code]).toEqual([401, 'session_ended']);
        expect(JSON.stringify(ended.body)).not.toMatch(/"(pan|cvc)"/);
        expect(await revealed()).toBe(before);
      } finally {
        await holder.query('ROLLBACK').catch(() => undefined);
      }
    });

    it("issues no new card while one of the customer's cards is blocked by staff, also once they cancel it", async () => {
      const erin = await verifiedCustomer(get(), admin, 'cards.erin');
      const [first, second] = [await openAccount(get(), erin), await openAccount(get(), erin)];
      const card = await issue(erin, first);
      const other = await issue(erin, second);
      await staff(admin, card.id, 'block').expect(200);
      // Its details are not shown while it is blocked: not to whoever holds the session and the password
      // either (an account taken over), which is what the block is for.
      const hidden = await reveal(erin, card.id).expect(409);
      expect(hidden.body.code).toBe('card_blocked');
      expect(JSON.stringify(hidden.body)).not.toMatch(/"(pan|cvc)"/);
      const newCard = (account: Account) =>
        http().post('/cards').set(bearer(erin.token)).send({ account_id: account.id, type: 'virtual' });
      for (const account of [first, second]) {
        expect((await newCard(account).expect(409)).body.code).toBe('card_blocked');
      }
      // Nor as the replacement of another card of theirs: that card stays as it was.
      const replaced = await action(erin, other.id, 'cancel', { reason: 'lost', replace: true }).expect(409);
      expect(replaced.body.code).toBe('card_blocked');
      expect(await cardOf(erin, other.id)).toMatchObject({ status: 'active' });
      // Cancelling the blocked card does not lift its block.
      await action(erin, card.id, 'cancel', { reason: 'lost' }).expect(200);
      expect((await newCard(second).expect(409)).body.code).toBe('card_blocked');
      const mine = (await http().get('/cards').set(bearer(erin.token)).expect(200)).body.data as Card[];
      expect(mine.map((c) => c.id).sort()).toEqual([card.id, other.id].sort());
      // Staff lift the cancelled card's block (audited like any other): new cards again.
      await staff(admin, card.id, 'unblock', 'Test: cleared after review').expect(200);
      expect(await cardOf(erin, card.id)).toMatchObject({ status: 'cancelled', blocked: false });
      await issue(erin, second);
      // A cancelled card still cannot be blocked.
      expect((await staff(admin, card.id, 'block').expect(409)).body.code).toBe('card_cancelled');
    });

    it('cancels for good, and replaces with a new number on the same account, keeping the limits', async () => {
      const card = await issue(alice, a);
      await limits(alice, card.id, { daily: 20000, blocked_categories: ['gambling'] }).expect(200);
      const res = await action(alice, card.id, 'cancel', { reason: 'stolen', replace: true }).expect(200);
      const { card: old, replacement } = res.body as { card: Card; replacement: Card };
      expect(old).toMatchObject({ id: card.id, status: 'cancelled', cancel_reason: 'stolen' });
      expect(old.replaced_by).toBe(replacement.id);
      expect(replacement).toMatchObject({
        account_id: a.id,
        status: 'active',
        replaces: card.id,
        limits: { daily: 20000, blocked_categories: ['gambling'] },
      });
      expect(replacement).not.toHaveProperty('pan');
      expect(replacement).not.toHaveProperty('cvc');
      const fresh = await reveal(alice, replacement.id).expect(200);
      secrets.pans.add(fresh.body.pan);
      secrets.cvcs.add(fresh.body.cvc);
      expect(fresh.body.pan).not.toBe(card.pan);
      expect(isLuhnValid(fresh.body.pan)).toBe(true);

      for (const what of ['cancel', 'freeze', 'unfreeze']) {
        const again = await action(alice, card.id, what, what === 'cancel' ? { reason: 'lost' } : {}).expect(
          409,
        );
        expect(again.body.code).toBe('card_cancelled');
      }
      expect((await reveal(alice, card.id).expect(409)).body.code).toBe('card_cancelled');
      expect((await limits(alice, card.id, { daily: 1 }).expect(409)).body.code).toBe('card_cancelled');
      expect((await staff(admin, card.id, 'block').expect(409)).body.code).toBe('card_cancelled');

      const plain = await issue(alice, a);
      const cancelled = await action(alice, plain.id, 'cancel', { reason: 'closed' }).expect(200);
      expect(cancelled.body).toMatchObject({ card: { status: 'cancelled' }, replacement: null });
      await action(alice, plain.id, 'cancel', { reason: 'misplaced' }).expect(400);
    });

    it('changes limits, refusing bad values and any other field with 400 naming it', async () => {
      const card = await issue(bob, b);
      const set = await limits(bob, card.id, {
        per_transaction: 5000,
        daily: 20000,
        monthly: 100000,
        online: false,
        contactless: true,
        atm: false,
        blocked_categories: ['gambling', 'cash'],
      }).expect(200);
      expect(set.body.limits).toEqual({
        per_transaction: 5000,
        daily: 20000,
        monthly: 100000,
        online: false,
        contactless: true,
        atm: false,
        blocked_categories: ['gambling', 'cash'],
      });
      // Only what is given changes; null removes an amount limit.
      const partial = await limits(bob, card.id, { monthly: null, online: true }).expect(200);
      expect(partial.body.limits).toMatchObject({
        per_transaction: 5000,
        daily: 20000,
        monthly: null,
        online: true,
        atm: false,
      });

      for (const [body, field] of [
        [{ daily: -5 }, 'daily'],
        [{ daily: 0 }, 'daily'],
        [{ per_transaction: 1.5 }, 'per_transaction'],
        [{ monthly: '100' }, 'monthly'],
        [{ monthly: 2 ** 60 }, 'monthly'],
        [{ monthly: 10 ** 15 + 1 }, 'monthly'],
        [{ online: 'yes' }, 'online'],
        [{ atm: null }, 'atm'],
        [{ blocked_categories: ['casino'] }, 'blocked_categories'],
        [{ blocked_categories: 'gambling' }, 'blocked_categories'],
        [{ blocked_categories: ['gambling', 'gambling'] }, 'blocked_categories'],
        [{ status: 'active' }, 'status'],
        [{ blocked_by_staff: false }, 'blocked_by_staff'],
        [{ owner_id: alice.id }, 'owner_id'],
        [{ per_transaction: 30000 }, 'per_transaction'],
        [{ daily: 1000 }, 'daily'],
        [{ __proto__: { daily: 1 }, constructor: { x: 1 } }, 'constructor'],
      ] as [Record<string, unknown>, string][]) {
        const res = await limits(bob, card.id, body).expect(400);
        expect({ body, code: res.body.code }).toEqual({ body, code: 'validation_failed' });
        expect({ body, fields: res.body.details.map((d: { field?: string }) => d.field) }).toEqual({
          body,
          fields: expect.arrayContaining([field]),
        });
      }
      const empty = await limits(bob, card.id, {}).expect(400);
      expect(empty.body.details).toEqual([
        { field: 'body', message: expect.stringContaining('give per_transaction') },
      ]);
      await limits(bob, card.id, [1, 2]).expect(400);
      await http()
        .patch(`/cards/${card.id}/limits`)
        .set(bearer(bob.token))
        .set('Content-Type', 'application/json')
        .send('{"daily": 1e400}')
        .expect(400);
      // None of the refusals changed anything.
      expect((await cardOf(bob, card.id)).limits).toEqual(partial.body.limits);
    });

    it("pages a card's authorisations newest first, filtered by status", async () => {
      const card = await issue(alice, a);
      const at = Date.now();
      const rows = [
        ['pending', null, 0],
        ['declined', 'insufficient_funds', 1],
        ['pending', null, 2],
        ['cleared', null, 3],
      ] as const;
      const ids: string[] = [];
      for (const [status, reason, i] of rows) {
        const id = randomUUID();
        ids.push(id);
        await db.query(
          `INSERT INTO cards.authorisations (id, card_id, owner_id, account_id, network_transaction_id, amount,
                                             currency, merchant, category, channel, status, decline_reason,
                                             cleared_amount, transaction_id, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, 'GBP', $7, 'eating_out', 'contactless', $8, $9, $10, $11, $12)`,
          [
            id,
            card.id,
            alice.id,
            a.id,
            `ntx-${id}`,
            2550 + i,
            JSON.stringify({ name: 'Starbucks', category_code: '5814', city: 'London', country: 'GB' }),
            status,
            reason,
            status === 'cleared' ? 2600 : null,
            status === 'cleared' ? randomUUID() : null,
            new Date(at + i * 1000),
          ],
        );
      }
      const all = await http().get(`/cards/${card.id}/authorisations`).set(bearer(alice.token)).expect(200);
      expect(all.body.data.map((x: { id: string }) => x.id)).toEqual([...ids].reverse());
      expect(all.body.data[0]).toMatchObject({
        status: 'cleared',
        amount: 2553,
        cleared_amount: 2600,
        merchant: { name: 'Starbucks', category_code: '5814', city: 'London', country: 'GB' },
        category: 'eating_out',
        channel: 'contactless',
        forced: false,
      });
      const first = await http()
        .get(`/cards/${card.id}/authorisations?status=pending&limit=1`)
        .set(bearer(alice.token))
        .expect(200);
      expect(first.body.data.map((x: { id: string }) => x.id)).toEqual([ids[2]]);
      const second = await http()
        .get(`/cards/${card.id}/authorisations?status=pending&limit=1&cursor=${first.body.next_cursor}`)
        .set(bearer(alice.token))
        .expect(200);
      expect(second.body).toEqual({ data: [expect.objectContaining({ id: ids[0] })], next_cursor: null });
      const declined = await http()
        .get(`/cards/${card.id}/authorisations?status=declined`)
        .set(bearer(alice.token))
        .expect(200);
      expect(declined.body.data).toEqual([
        expect.objectContaining({ id: ids[1], decline_reason: 'insufficient_funds' }),
      ]);
      for (const q of ['status=approved', 'limit=0', 'limit=1000', 'cursor=garbage']) {
        await http().get(`/cards/${card.id}/authorisations?${q}`).set(bearer(alice.token)).expect(400);
      }
    });

    it('caps the cards one customer holds', async () => {
      const erin = await verifiedCustomer(get(), admin, 'cards.erin');
      const account = await openAccount(get(), erin);
      const issued = await Promise.all(
        Array.from({ length: 12 }, () =>
          http().post('/cards').set(bearer(erin.token)).send({ account_id: account.id, type: 'virtual' }),
        ),
      );
      for (const r of issued) if (r.status === 201) secrets.pans.add(r.body.pan);
      expect(issued.map((r) => r.status).sort()).toEqual([...Array(10).fill(201), 422, 422]);
      expect(issued.find((r) => r.status === 422)!.body.code).toBe('too_many_cards');

      // Issuing and cancelling in a loop: CARD_ISSUES_PER_DAY (20) in 24 hours, cancelled ones included.
      const cancelAll = (ids: string[]) =>
        Promise.all(
          ids.map((id) =>
            http().post(`/cards/${id}/cancel`).set(bearer(erin.token)).send({ reason: 'lost' }).expect(200),
          ),
        );
      const issueMany = async (n: number) => {
        const res = await Promise.all(
          Array.from({ length: n }, () =>
            http().post('/cards').set(bearer(erin.token)).send({ account_id: account.id, type: 'physical' }),
          ),
        );
        for (const r of res) if (r.status === 201) secrets.pans.add(r.body.pan);
        return res;
      };
      const first = issued.filter((r) => r.status === 201).map((r) => r.body.id as string);
      await cancelAll(first);
      // The first of them issued an hour ago: refused, one more may be issued when it is a day old.
      await db.query(`UPDATE cards.cards SET created_at = created_at - interval '1 hour' WHERE id = $1`, [
        first[0],
      ]);
      const second = await issueMany(5);
      expect(second.map((r) => r.status)).toEqual(Array(5).fill(201));
      await cancelAll(second.slice(1).map((r) => r.body.id as string));
      const third = await issueMany(8);
      expect(third.map((r) => r.status).sort()).toEqual([...Array(5).fill(201), 429, 429, 429]);
      for (const r of third.filter((x) => x.status === 429)) {
        expect(r.body.code).toBe('rate_limited');
        expect(Number(r.headers['retry-after'])).toBeGreaterThan(23 * 3600 - 600);
        expect(Number(r.headers['retry-after'])).toBeLessThanOrEqual(23 * 3600);
      }
      // A replacement is an issue too: refused, and the card it would replace stays as it was.
      const kept = second[0].body.id as string;
      const replace = await http()
        .post(`/cards/${kept}/cancel`)
        .set(bearer(erin.token))
        .send({ reason: 'lost', replace: true })
        .expect(429);
      expect(replace.body.code).toBe('rate_limited');
      expect((await http().get(`/cards/${kept}`).set(bearer(erin.token)).expect(200)).body.status).toBe(
        'active',
      );
    });

    it('writes no card number or CVC to any log or event', async () => {
      // A customer without cards lists none.
      const stranger = await newCustomer(get(), 'cards.stranger');
      // Its request id in a log says the lines before it are written too.
      const marker = `cards-logs-${randomUUID()}`;
      await http().get('/cards').set(bearer(stranger.token)).set('X-Request-Id', marker).expect(200);
      const logs = await logsThrough(get().t, marker);
      expect(logs.length).toBeGreaterThan(0);
      expect(secrets.pans.size).toBeGreaterThan(10);
      for (const pan of secrets.pans) expect(logs.includes(pan)).toBe(false);
      // Any Luhn-valid 16-digit run under our BIN would be a number, ours or not.
      const runs = (logs.match(/535522\d{10}/g) ?? []).filter(isLuhnValid);
      expect(runs).toEqual([]);
      for (const cvc of secrets.cvcs) {
        expect(logs).not.toMatch(new RegExp(`"cvc"\\s*:\\s*"${cvc}"`));
      }
      const events = await db.query(`SELECT payload::text AS p FROM cards.outbox`);
      for (const { p } of events.rows as { p: string }[]) {
        for (const pan of secrets.pans) expect(p.includes(pan)).toBe(false);
        expect(p).not.toContain('"cvc"');
      }
    });
  });
}
