/**
 * Identity, both topologies: one e-mail is one account whatever its Unicode spelling; the name a payee
 * sees is the name KYC verified (locked on the profile, changed only by a re-verification that staff
 * approve); names, references and address lines refuse control, bidirectional and invisible
 * characters; account numbers are unpredictable and a customer probing for them is stopped.
 */
import { CONFIG_SCHEMA } from '@protobank/platform';
import { accountNumberFor, isValidAccountNumber } from '@protobank/contracts';
import { randomInt, randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import request from 'supertest';
import { asReviewed, bearer, firstAdmin, newCustomer, PASSWORD, type Actor } from '../support/actors';
import {
  balanceOf,
  deposit,
  openAccount,
  transfer,
  verifiedCustomer,
  type Account,
} from '../support/banking';
import { eventually } from '../support/test-env';
import type { Running } from '../support/topologies';

const RLO = '\u202E'; // RIGHT-TO-LEFT OVERRIDE
let seq = 0;

/** Every printable ASCII character as its full-width form (U+FF01..U+FF5E), which NFKC maps back. */
const fullWidth = (s: string) =>
  [...s].map((c) => (c >= '!' && c <= '~' ? String.fromCharCode(c.charCodeAt(0) + 0xfee0) : c)).join('');

/** A passport number no other scenario uses (duplicate documents are a finding of their own). */
const passport = (date_of_birth = '1990-04-12', extra: Record<string, string> = {}) => ({
  document_type: 'passport',
  document_number: `ID${Date.now() % 1e9}${randomInt(1000, 9999)}`,
  country: 'GB',
  date_of_birth,
  ...extra,
});

/** Letters only (a name takes no digits), different for each run: the time in base 36, its digits as letters. */
const letterTag = () =>
  Date.now()
    .toString(36)
    .replace(/\d/g, (d) => 'abcdefghij'[Number(d)]);

const fields = (res: request.Response) => (res.body.details as { field: string }[]).map((d) => d.field);

export function identityScenarios(get: () => Running) {
  const http = () => request(get().baseUrl);
  let admin: Actor;
  let db: Client;

  beforeAll(async () => {
    admin = await firstAdmin(get());
    db = await get().t.db();
  });

  const me = async (c: Actor) => (await http().get('/users/me').set(bearer(c.token)).expect(200)).body;
  /** The ids staff search (GET /admin/users?query=) finds for `query`, as the admin. */
  const search = async (query: string) =>
    (
      await http()
        .get(`/admin/users?query=${encodeURIComponent(query)}`)
        .set(bearer(admin.token))
        .expect(200)
    ).body.data.map((u: { id: string }) => u.id);
  /**
   * Two verified customers `<tag>.payer` and `<tag>.payee`, a GBP account each, `funds` on the payer's,
   * and `pay(extra)`: a 1p transfer between them by account number.
   */
  const payerAndPayee = async (tag: string, funds = 100) => {
    const payer = await verifiedCustomer(get(), admin, `${tag}.payer`);
    const payee = await verifiedCustomer(get(), admin, `${tag}.payee`);
    const from = await openAccount(get(), payer);
    const to = await openAccount(get(), payee);
    await deposit(get(), admin, from, funds);
    const pay = (extra: Record<string, unknown> = {}) =>
      transfer(get(), payer, {
        from_account_id: from.id,
        to_account_number: to.account_number,
        amount: 1,
        currency: 'GBP',
        ...extra,
      });
    return { payer, payee, from, to, pay };
  };
  const approve = async (c: Actor) =>
    http()
      .post(`/admin/kyc/${c.id}/approve`)
      .set(bearer(admin.token))
      .send(await asReviewed(http(), admin.token, c.id))
      .expect(200);
  const received = (payee: Actor, transactionId: string) =>
    eventually(
      async () => {
        const list = await http().get('/notifications').set(bearer(payee.token)).expect(200);
        return (list.body.data as { body: string; data: { transaction_id?: string } }[]).find(
          (n) => n.data.transaction_id === transactionId,
        );
      },
      15000,
      "the payee's notification",
    );

  describe('e-mail addresses', () => {
    const unique = () => `alice.${Date.now()}.${seq++}`;

    it('treats the full-width spelling of a registered e-mail as the same address (409 email_taken)', async () => {
      const email = `${unique()}@example.com`;
      const body = { password: PASSWORD, full_name: 'Alice Jones' };
      const first = await http()
        .post('/auth/register')
        .send({ ...body, email })
        .expect(201);
      const again = await http()
        .post('/auth/register')
        .send({ ...body, email: fullWidth(email) });
      expect([again.status, again.body.code]).toEqual([409, 'email_taken']);
      const upper = await http()
        .post('/auth/register')
        .send({ ...body, email: `  ${email.toUpperCase()} ` });
      expect([upper.status, upper.body.code]).toEqual([409, 'email_taken']);
      const rows = await db.query(`SELECT email FROM users.users WHERE id = $1`, [first.body.id]);
      expect(rows.rows).toEqual([{ email }]);
    });

    it('refuses an e-mail holding an invisible character with 400 naming email, and creates nothing', async () => {
      const local = unique();
      for (const invisible of ['\u200B', '\u2060', '\u00AD', '\uFEFF']) {
        const email = `${local.slice(0, 3)}${invisible}${local.slice(3)}@example.com`;
        const res = await http()
          .post('/auth/register')
          .send({ email, password: PASSWORD, full_name: 'Alice Jones' })
          .expect(400);
        expect(fields(res)).toContain('email');
        const login = await http().post('/auth/login').send({ email, password: PASSWORD }).expect(400);
        expect(fields(login)).toContain('email');
      }
      const stored = await db.query(`SELECT 1 FROM users.users WHERE email LIKE $1`, [`%${local.slice(3)}%`]);
      expect(stored.rows).toEqual([]);
    });

    it('refuses to register a look-alike mixing scripts in one part (400 naming email), and creates nothing', async () => {
      const local = unique();
      const email = `${local}@example.com`;
      await http()
        .post('/auth/register')
        .send({ email, password: PASSWORD, full_name: 'Alice Jones' })
        .expect(201);
      // The Latin "a" of "alice" and of "example" as a Cyrillic "а": each passes for the address above.
      for (const lookAlike of [`\u0430${local.slice(1)}@example.com`, `${local}@ex\u0430mple.com`]) {
        const res = await http()
          .post('/auth/register')
          .send({ email: lookAlike, password: PASSWORD, full_name: 'Alice Jones' })
          .expect(400);
        expect(fields(res)).toEqual(['email']);
      }
      const stored = await db.query(`SELECT email FROM users.users WHERE email LIKE $1`, [
        `%${local.slice(1)}%`,
      ]);
      expect(stored.rows).toEqual([{ email }]);
      // One script throughout is an address like any other.
      await http()
        .post('/auth/register')
        .send({
          email: `иван.${seq++}.${Date.now()}@пример.рф`,
          password: PASSWORD,
          full_name: 'Ivan Petrov',
        })
        .expect(201);
    });

    it('refuses a name mixing scripts in one word at registration, on the profile and in KYC (400 naming full_name), and stores styled letters as plain ones', async () => {
      const local = unique();
      // "Ivan Petrov" with a Cyrillic "а", "е" and "о": another customer's notice would read "Ivan Petrov".
      const spoof = 'Iv\u0430n P\u0435tr\u043ev';
      const refused = await http()
        .post('/auth/register')
        .send({ email: `${local}@example.com`, password: PASSWORD, full_name: spoof })
        .expect(400);
      expect(fields(refused)).toEqual(['full_name']);
      await http()
        .post('/auth/login')
        .send({ email: `${local}@example.com`, password: PASSWORD })
        .expect(401);
      // Mathematical bold and full-width letters are the same name drawn otherwise: stored as the letters.
      const surname = `Doe${letterTag()}`;
      const styled = await http()
        .post('/auth/register')
        .send({
          email: `${local}@example.com`,
          password: PASSWORD,
          full_name: `\u{1D409}ane ${fullWidth(surname)}`,
        })
        .expect(201);
      expect(styled.body.full_name).toBe(`Jane ${surname}`);
      const found = await http()
        .get(`/admin/users?query=${encodeURIComponent(`jane ${surname.toLowerCase()}`)}`)
        .set(bearer(admin.token))
        .expect(200);
      expect(found.body.data.map((u: { id: string }) => u.id)).toContain(styled.body.id);

      const c = await newCustomer(get(), 'mixed.name');
      const renamed = await http().patch('/users/me').set(bearer(c.token)).send({ full_name: spoof });
      expect([renamed.status, fields(renamed)]).toEqual([400, ['full_name']]);
      const kyc = await http()
        .post('/users/me/kyc')
        .set(bearer(c.token))
        .send(passport('1990-04-12', { full_name: spoof }));
      expect([kyc.status, fields(kyc)]).toEqual([400, ['full_name']]);
      expect((await me(c)).full_name).toBe('Cus mixed.name');
      // Symbols drawn as letters are no more a name than letters of two scripts.
      const symbols = await http().patch('/users/me').set(bearer(c.token)).send({ full_name: 'Iv∧n P℮tr○v' });
      expect([symbols.status, fields(symbols)]).toEqual([400, ['full_name']]);
      // A name stored before these rules is not verified as it is when KYC leaves full_name out.
      await db.query(`UPDATE users.users SET full_name = $2 WHERE id = $1`, [c.id, spoof]);
      const fromProfile = await http().post('/users/me/kyc').set(bearer(c.token)).send(passport());
      expect([fromProfile.status, fields(fromProfile)]).toEqual([400, ['full_name']]);
      await http().patch('/users/me').set(bearer(c.token)).send({ full_name: 'Cus mixed.name' }).expect(200);
      // One script a word, whichever: names written in Cyrillic, or in two scripts word by word, are names.
      for (const full_name of ['Иван Петров', 'Anna Иванова']) {
        const res = await http().patch('/users/me').set(bearer(c.token)).send({ full_name }).expect(200);
        expect(res.body.full_name).toBe(full_name);
      }
    });

    it('finds a name in staff search as typed, accents and typographic apostrophes aside', async () => {
      const tag = letterTag();
      const zoe = await http()
        .post('/auth/register')
        .send({ email: `zoe.${unique()}@example.com`, password: PASSWORD, full_name: `Zoë O’Néil-${tag}` })
        .expect(201);
      for (const query of [`zoe o'neil-${tag}`, `ZOË O’NÉIL-${tag}`, `o'neil-${tag}`, `O‘Neil-${tag}`]) {
        expect({ query, found: await search(query) }).toEqual({ query, found: [zoe.body.id] });
      }
      expect(await search(`zoe o'neal-${tag}`)).toEqual([]);
      // Full-width ％ ＿ ＼ fold to % _ \, and are then searched for as themselves, not as wildcards.
      for (const query of ['％', '＿', `zoe＿o'neil-${tag}`, `zoe％${tag}`]) {
        expect({ query, found: await search(query) }).toEqual({ query, found: [] });
      }
    });

    it('takes an IDNA domain in either spelling (xn--… or as it reads) as one address: stored as it reads, 409 for the other', async () => {
      const local = unique();
      const body = { password: PASSWORD, full_name: 'Ann Becker' };
      const reg = await http()
        .post('/auth/register')
        .send({ ...body, email: `${local}@XN--BCHER-KVA.test` })
        .expect(201);
      expect(reg.body.email).toBe(`${local}@bücher.test`);
      const again = await http()
        .post('/auth/register')
        .send({ ...body, email: `${local}@bücher.test` });
      expect([again.status, again.body.code]).toEqual([409, 'email_taken']);
      for (const form of [`${local}@bücher.test`, `${local}@xn--bcher-kva.test`]) {
        const login = await http().post('/auth/login').send({ email: form, password: PASSWORD }).expect(200);
        const profile = await me({ token: login.body.access_token } as Actor);
        expect({ form, id: profile.id }).toEqual({ form, id: reg.body.id });
      }
    });

    it('logs in with the NFKC-equivalent form of the e-mail, into the same account', async () => {
      const email = `${unique()}@example.com`;
      const reg = await http()
        .post('/auth/register')
        .send({ email: fullWidth(email), password: PASSWORD, full_name: 'Alice Jones' })
        .expect(201);
      expect(reg.body.email).toBe(email); // stored in its one form
      for (const form of [email, fullWidth(email), ` ${email.toUpperCase()}`]) {
        const login = await http().post('/auth/login').send({ email: form, password: PASSWORD }).expect(200);
        const profile = await me({ token: login.body.access_token } as Actor);
        expect({ form, id: profile.id }).toEqual({ form, id: reg.body.id });
      }
    });
  });

  describe('the verified name', () => {
    it('refuses to rename a verified customer (409 naming the field, nothing changed); payees see the verified name', async () => {
      const { payer, payee, pay } = await payerAndPayee('named');

      const rename = await http()
        .patch('/users/me')
        .set(bearer(payer.token))
        .send({ full_name: 'Protobank Fraud Team', phone: '+447700900123' });
      expect([rename.status, rename.body.code, fields(rename)]).toEqual([
        409,
        'identity_locked',
        ['full_name'],
      ]);
      const born = await http()
        .patch('/users/me')
        .set(bearer(payer.token))
        .send({ date_of_birth: '1985-01-01' });
      expect([born.status, fields(born)]).toEqual([409, ['date_of_birth']]);
      expect(await me(payer)).toMatchObject({
        full_name: 'Cus named.payer',
        phone: null,
        date_of_birth: '1990-04-12', // the verified one, from KYC
      });
      // The same name again is no change; the rest of the profile stays the customer's to edit.
      await http()
        .patch('/users/me')
        .set(bearer(payer.token))
        .send({ full_name: 'Cus named.payer', phone: '+447700900123' })
        .expect(200);

      const sent = await pay().expect(201);
      const notice = await received(payee, sent.body.id);
      expect(notice.body).toBe('You received £0.01 from Cus named.payer');
    });

    it('locks the name while a first KYC submission is reviewed, and approval applies the name it carries', async () => {
      const c = await newCustomer(get(), 'first.kyc');
      await http()
        .post('/users/me/kyc')
        .set(bearer(c.token))
        .send(passport('1991-02-03', { full_name: 'Alice Marie Jones' }))
        .expect(201);
      const locked = await http().patch('/users/me').set(bearer(c.token)).send({ full_name: 'Someone Else' });
      expect([locked.status, fields(locked)]).toEqual([409, ['full_name']]);
      expect((await me(c)).full_name).toBe('Cus first.kyc');
      await approve(c);
      expect(await me(c)).toMatchObject({ full_name: 'Alice Marie Jones', date_of_birth: '1991-02-03' });
    });

    it('changes a verified name only when staff approve a re-verification; until then payees see the old one', async () => {
      const pair = await payerAndPayee('reverify');
      const { payer, payee } = pair;
      const pay = () => pair.pay().expect(201);

      const submitted = await http()
        .post('/users/me/kyc')
        .set(bearer(payer.token))
        .send(passport('1990-04-12', { full_name: 'Alice Newname' }))
        .expect(201);
      expect(submitted.body).toMatchObject({
        status: 'pending',
        full_name: 'Alice Newname',
        verified_at: expect.any(String),
      });
      // Still verified, under the old name: accounts open, payees see it, the profile keeps it locked.
      await openAccount(get(), payer, 'EUR');
      expect((await me(payer)).full_name).toBe('Cus reverify.payer');
      await http()
        .patch('/users/me')
        .set(bearer(payer.token))
        .send({ full_name: 'Alice Newname' })
        .expect(409);
      const before = await pay();
      expect((await received(payee, before.body.id)).body).toBe('You received £0.01 from Cus reverify.payer');

      const listed = await http()
        .get('/admin/kyc')
        .query({ status: 'pending', limit: 100 })
        .set(bearer(admin.token))
        .expect(200);
      expect(listed.body.data).toContainEqual(
        expect.objectContaining({ user_id: payer.id, full_name: 'Alice Newname' }),
      );
      await approve(payer);
      expect((await me(payer)).full_name).toBe('Alice Newname');
      const after = await pay();
      expect((await received(payee, after.body.id)).body).toBe('You received £0.01 from Alice Newname');
      const audit = await http()
        .get('/admin/audit')
        .query({ limit: 100 })
        .set(bearer(admin.token))
        .expect(200);
      expect(audit.body.data).toContainEqual(
        expect.objectContaining({
          action: 'kyc_approved',
          target_user_id: payer.id,
          before: {
            status: 'pending',
            full_name: 'Cus reverify.payer',
            latin_name: null,
            date_of_birth: '1990-04-12',
          },
          after: {
            status: 'verified',
            full_name: 'Alice Newname',
            latin_name: null,
            date_of_birth: '1990-04-12',
          },
        }),
      );
    });

    it('verifies a Latin spelling of the name with it: in Latin letters only (400 naming latin_name), shown to staff, kept while the name stays', async () => {
      const c = await newCustomer(get(), 'latin.name');
      const tag = letterTag().toUpperCase();
      const submit = (details: Record<string, unknown>) =>
        http()
          .post('/users/me/kyc')
          .set(bearer(c.token))
          .send({ ...passport(), ...details });
      for (const latin_name of [
        'Ли Сяолун',
        "'LI",
        'LI--',
        'LI XIAOLONG\u202e',
        'Ł',
        'X'.repeat(201),
        42,
        '',
        'lı',
        'ſmith',
        'ﬀ',
      ]) {
        const res = await submit({ full_name: '李小龍', latin_name });
        expect({ latin_name, status: res.status, fields: fields(res) }).toEqual({
          latin_name,
          status: 400,
          fields: ['latin_name'],
        });
      }
      expect((await http().get('/users/me/kyc').set(bearer(c.token)).expect(200)).body).toEqual({
        status: 'not_submitted',
      });
      const submitted = await submit({
        full_name: '李小龍',
        latin_name: ` li   xiaolong-${tag.toLowerCase()} `,
      });
      expect(submitted.status).toBe(201);
      const latin = `LI XIAOLONG-${tag}`;
      expect(submitted.body).toMatchObject({ full_name: '李小龍', latin_name: latin });
      const shown = await http().get(`/admin/kyc/${c.id}`).set(bearer(admin.token)).expect(200);
      expect(shown.body).toMatchObject({ full_name: '李小龍', latin_name: latin });
      expect(await search(`xiaolong-${tag}`)).toEqual([]); // not the profile's until approved
      await approve(c);
      expect(await me(c)).toMatchObject({ full_name: '李小龍', latin_name: latin });
      // Staff find the customer by it, as they would hear it spelt.
      expect(await search(`li xiaolong-${tag.toLowerCase()}`)).toEqual([c.id]);

      // The same details again (the spelling left out is the one verified): nothing to verify.
      const same = await submit({ full_name: '李小龍' });
      expect([same.status, same.body.code]).toEqual([409, 'kyc_already_verified']);
      // Another spelling of the same name is a change staff verify; a new name leaves the old spelling.
      expect(
        (await submit({ full_name: '李小龍', latin_name: 'LEE SIU-LOONG' }).expect(201)).body,
      ).toMatchObject({ latin_name: 'LEE SIU-LOONG' });
      expect((await me(c)).latin_name).toBe(latin);
      await approve(c);
      expect((await me(c)).latin_name).toBe('LEE SIU-LOONG');
      // null removes it, a change staff verify too (helper-165 L2); then there is none to keep.
      expect((await submit({ full_name: '李小龍', latin_name: null }).expect(201)).body).toMatchObject({
        latin_name: null,
      });
      await approve(c);
      expect((await me(c)).latin_name).toBe(null);
      const unchanged = await submit({ full_name: '李小龍' });
      expect([unchanged.status, unchanged.body.code]).toEqual([409, 'kyc_already_verified']);
      expect((await submit({ full_name: 'Bruce Lee' }).expect(201)).body).toMatchObject({ latin_name: null });
      await approve(c);
      expect(await me(c)).toMatchObject({ full_name: 'Bruce Lee', latin_name: null });
      expect(await search(`xiaolong-${tag}`)).toEqual([]);
      const audit = await http()
        .get('/admin/audit')
        .query({ limit: 100, action: 'kyc_approved', target_user_id: c.id })
        .set(bearer(admin.token))
        .expect(200);
      const mine = (audit.body.data as { target_user_id: string; before: unknown; after: unknown }[]).filter(
        (e) => e.target_user_id === c.id,
      );
      expect(mine.map((e) => [e.before, e.after])).toEqual(
        expect.arrayContaining([
          [
            {
              status: 'pending',
              full_name: '李小龍',
              latin_name: latin,
              date_of_birth: '1990-04-12',
            },
            {
              status: 'verified',
              full_name: '李小龍',
              latin_name: 'LEE SIU-LOONG',
              date_of_birth: '1990-04-12',
            },
          ],
        ]),
      );
    });

    it('leaves a customer verified, under the old name, when staff reject their change', async () => {
      const c = await verifiedCustomer(get(), admin, 'rejected.change');
      const same = await http().post('/users/me/kyc').set(bearer(c.token)).send(passport());
      expect([same.status, same.body.code]).toEqual([409, 'kyc_already_verified']);
      await http()
        .post('/users/me/kyc')
        .set(bearer(c.token))
        .send(passport('1990-04-12', { full_name: 'Protobank Fraud Team' }))
        .expect(201);
      await http()
        .post(`/admin/kyc/${c.id}/reject`)
        .set(bearer(admin.token))
        .send(await asReviewed(http(), admin.token, c.id))
        .send({ reason_code: 'details_mismatch', reason: 'Name does not match the document' })
        .expect(200);
      expect((await me(c)).full_name).toBe('Cus rejected.change');
      const kyc = await http().get('/users/me/kyc').set(bearer(c.token)).expect(200);
      expect(kyc.body).toMatchObject({
        status: 'rejected',
        full_name: 'Protobank Fraud Team',
        verified_at: expect.any(String),
      });
      await openAccount(get(), c); // still verified
      await http()
        .patch('/users/me')
        .set(bearer(c.token))
        .send({ full_name: 'Protobank Fraud Team' })
        .expect(409);
      const notice = await eventually(async () => {
        const list = await http().get('/notifications').set(bearer(c.token)).expect(200);
        return (list.body.data as { type: string; body: string }[]).find((n) => n.type === 'kyc.rejected');
      });
      expect(notice.body).toContain('Your verified details stay as they were');
    });
  });

  describe('text other people read', () => {
    it(`refuses ${'U+202E'} in every name, reference and address line with 400 naming the field`, async () => {
      const evil = `Bob${RLO}kcab`;
      const reg = await http()
        .post('/auth/register')
        .send({ email: `rlo.${Date.now()}.${seq++}@example.com`, password: PASSWORD, full_name: evil })
        .expect(400);
      expect(fields(reg)).toEqual(['full_name']);

      const c = await newCustomer(get(), 'rlo');
      const profile = await http()
        .patch('/users/me')
        .set(bearer(c.token))
        .send({ full_name: evil })
        .expect(400);
      expect(fields(profile)).toEqual(['full_name']);
      const address = {
        line1: '1 High Street',
        line2: 'Flat 2',
        city: 'London',
        postcode: 'SW1A 1AA',
        country: 'GB',
      };
      for (const line of ['line1', 'line2', 'city', 'postcode'] as const) {
        const res = await http()
          .patch('/users/me')
          .set(bearer(c.token))
          .send({ address: { ...address, [line]: `${address[line]}${RLO}` } })
          .expect(400);
        expect(fields(res)).toEqual([`address.${line}`]);
      }
      expect(await me(c)).toMatchObject({ full_name: 'Cus rlo', address: null });
      const kyc = await http()
        .post('/users/me/kyc')
        .set(bearer(c.token))
        .send(passport('1990-04-12', { full_name: evil }))
        .expect(400);
      expect(fields(kyc)).toEqual(['full_name']);
      await http().get('/users/me/kyc').set(bearer(c.token)).expect(200, { status: 'not_submitted' });

      const v = await verifiedCustomer(get(), admin, 'rlo.v');
      const named = await http()
        .post('/accounts')
        .set(bearer(v.token))
        .send({ type: 'current', currency: 'GBP', name: `Bills${RLO}` })
        .expect(400);
      expect(fields(named)).toEqual(['name']);
      await http().get('/accounts').set(bearer(v.token)).expect(200, { data: [], next_cursor: null });
      const a = await openAccount(get(), v);
      const b = await openAccount(get(), v, 'GBP', 'savings');
      await deposit(get(), admin, a, 100);
      for (const reference of [`Rent${RLO}tnuocca`, 'Rent\u200Bal', 'Line\nbreak']) {
        const res = await transfer(get(), v, {
          from_account_id: a.id,
          to_account_id: b.id,
          amount: 1,
          currency: 'GBP',
          reference,
        }).expect(400);
        expect(fields(res)).toEqual(['reference']);
      }
      expect(await balanceOf(get(), v, a)).toBe(100);
    });

    it('refuses line separators, tag characters, Hangul fillers and misplaced marks; references in any script or emoji reach the payee as sent', async () => {
      const email = `tags.${Date.now()}.${seq++}@example.com`;
      const reg = await http()
        .post('/auth/register')
        .send({ email, password: PASSWORD, full_name: 'Pro\u{E0020}tobank\u3164Fraud Team' })
        .expect(400);
      expect(fields(reg)).toEqual(['full_name']);
      await http().post('/auth/login').send({ email, password: PASSWORD }).expect(401);

      const { payer, payee, from, pay } = await payerAndPayee('tags');
      const send = (reference: string) => pay({ reference });
      for (const reference of [
        'Rent\u2028\u2028URGENT: Protobank Security: call 0800 123 4567\u{E0041}\u3164',
        'Rent\u2029URGENT',
        'Rent\uFFA0',
        'Rent\u034F',
        'Re\uFE0Fnt',
        'Pro\u200Dtobank',
        // Marks drawing on what the payee's screen shows before the reference, or over the lines around it.
        '\u0336Rent',
        `Rent${'\u0300\u0301\u0302\u0303\u0304\u0305'.repeat(4)}`,
        'Rent\u00E9\u0301',
      ]) {
        const res = await send(reference);
        expect([reference, res.status, res.body.details]).toEqual([
          reference,
          400,
          [expect.objectContaining({ field: 'reference' })],
        ]);
      }
      expect(await balanceOf(get(), payer, from)).toBe(100);

      const reference =
        'Pizza 🍕 \u2764\uFE0F 👨\u200D👩\u200D👧 क्\u200Dष نمی\u200Cدانم 김민준 Ζωή ที่นี่ דָּוִד Nguyễn';
      const sent = await send(reference).expect(201);
      const notice = await received(payee, sent.body.id);
      expect(notice).toMatchObject({ data: { reference } });
    });
  });

  describe('account numbers', () => {
    it('gives consecutively opened accounts unrelated numbers, each passing its check digit', async () => {
      const c = await verifiedCustomer(get(), admin, 'numbers');
      const numbers: string[] = [];
      for (let i = 0; i < 6; i++)
        numbers.push((await openAccount(get(), c, 'GBP', 'savings')).account_number);
      expect(numbers.every((n) => isValidAccountNumber('990001', n))).toBe(true);
      const serials = numbers.map((n) => Number(n.slice(0, 7)));
      const steps = serials.slice(1).map((s, i) => Math.abs(s - serials[i]));
      // A sequence steps by 1 or 2 (a serial without a check digit is skipped); random draws from 9.1M do not.
      expect(steps.filter((d) => d > 1000).length).toBeGreaterThanOrEqual(4);
    });

    describe('probing for numbers', () => {
      // The suites run with the default.
      const limit = Number(CONFIG_SCHEMA.TRANSFER_MISS_LIMIT.default);
      /** Numbers with a valid check digit that no account has. */
      const missing = async (count: number) => {
        const out: string[] = [];
        while (out.length < count) {
          const n = accountNumberFor('990001', randomInt(1, 10_000_000));
          if (!n || out.includes(n)) continue;
          const taken = await db.query(`SELECT 1 FROM accounts.accounts WHERE account_number = $1`, [n]);
          if (taken.rows.length === 0) out.push(n);
        }
        return out;
      };

      it('refuses the probe after TRANSFER_MISS_LIMIT missing numbers with 429, while other customers pay', async () => {
        const prober = await verifiedCustomer(get(), admin, 'prober');
        const honest = await verifiedCustomer(get(), admin, 'honest');
        const payee = await verifiedCustomer(get(), admin, 'probed');
        const from = await openAccount(get(), prober);
        const mine = await openAccount(get(), honest);
        const target = await openAccount(get(), payee);
        await deposit(get(), admin, from, 100);
        await deposit(get(), admin, mine, 100);
        const probe = (number: string) =>
          transfer(get(), prober, {
            from_account_id: from.id,
            to_account_number: number,
            amount: 1,
            currency: 'GBP',
          });

        const numbers = await missing(limit + 1);
        for (const n of numbers.slice(0, limit)) {
          const res = await probe(n);
          expect([res.status, fields(res)]).toEqual([404, ['to_account_number']]);
        }
        const stopped = await probe(numbers[limit]);
        expect([stopped.status, stopped.body.code]).toEqual([429, 'rate_limited']);
        expect(Number(stopped.headers['retry-after'])).toBeGreaterThan(0);
        // No oracle left: an existing number is refused the same way, and nothing moves.
        const real = await probe(target.account_number);
        expect([real.status, real.body.code]).toEqual([429, 'rate_limited']);
        expect(await balanceOf(get(), prober, from)).toBe(100);

        await transfer(get(), honest, {
          from_account_id: mine.id,
          to_account_number: target.account_number,
          amount: 1,
          currency: 'GBP',
        }).expect(201);
      });

      it('counts a refusal once, however often it is retried, and replays a transfer by number past the block', async () => {
        const retrier = await verifiedCustomer(get(), admin, 'retrier');
        const payee = await verifiedCustomer(get(), admin, 'retried');
        const from = await openAccount(get(), retrier);
        const euros = await openAccount(get(), payee, 'EUR');
        const target = await openAccount(get(), payee);
        await deposit(get(), admin, from, 100);
        // A transfer by number that went through, whose answer the client will ask for again.
        const paid = {
          from_account_id: from.id,
          to_account_number: target.account_number,
          amount: 1,
          currency: 'GBP',
        };
        const paidKey = randomUUID();
        const first = await transfer(get(), retrier, paid, paidKey).expect(201);
        // One refusal for the destination (another currency), retried under its key more times than the limit:
        // counted once, so transfers by number still go.
        const refusedKey = randomUUID();
        const refused = { from_account_id: from.id, to_account_id: euros.id, amount: 1, currency: 'GBP' };
        for (let i = 0; i <= limit + 1; i++) {
          const res = await transfer(get(), retrier, refused, refusedKey);
          expect([res.status, res.body.code]).toEqual([422, 'currency_mismatch']);
        }
        await transfer(get(), retrier, { ...paid }, randomUUID()).expect(201);
        // Now past the limit with distinct misses: a new transfer by number is blocked...
        for (const n of await missing(limit)) {
          await transfer(get(), retrier, { ...paid, to_account_number: n });
        }
        const blocked = await transfer(get(), retrier, { ...paid }, randomUUID());
        expect([blocked.status, blocked.body.code]).toEqual([429, 'rate_limited']);
        // ...but the retry of the one that went through replays it (not 429: the client would pay again).
        const again = await transfer(get(), retrier, paid, paidKey).expect(201);
        expect(again.headers['idempotent-replayed']).toBe('true');
        expect(again.body).toEqual(first.body);
        // Another body under that key is still refused, and probes nothing.
        const other = await transfer(
          get(),
          retrier,
          { ...paid, to_account_number: (await missing(1))[0] },
          paidKey,
        );
        expect(other.status).toBe(429);
        expect(await balanceOf(get(), retrier, from)).toBe(98);
      });

      it('counts internal payees for missing numbers with transfers, and needs a verified identity to save one', async () => {
        const prober = await verifiedCustomer(get(), admin, 'prober.payees');
        const payee = await verifiedCustomer(get(), admin, 'probed.payees');
        const from = await openAccount(get(), prober);
        const target = await openAccount(get(), payee);
        const save = (who: Actor, number: string) =>
          request(get().baseUrl)
            .post('/payees')
            .set(bearer(who.token))
            .send({ name: 'Probe', sort_code: '990001', account_number: number });
        // Without a verified identity, no answer about any number (it could open no account to pay from).
        const unverified = await newCustomer(get(), 'prober.unverified');
        for (const n of [target.account_number, (await missing(1))[0]]) {
          const res = await save(unverified, n);
          expect([res.status, res.body.code]).toEqual([403, 'kyc_required']);
        }
        // Half the limit by payee, half by transfer: one count.
        const numbers = await missing(limit + 1);
        const half = Math.floor(limit / 2);
        for (const n of numbers.slice(0, half)) {
          const res = await save(prober, n);
          expect([res.status, res.body.code]).toEqual([422, 'payee_account_not_found']);
        }
        for (const n of numbers.slice(half, limit)) {
          const res = await transfer(get(), prober, {
            from_account_id: from.id,
            to_account_number: n,
            amount: 1,
            currency: 'GBP',
          });
          expect(res.status).toBe(404);
        }
        // Then neither answers, for a number that exists either.
        for (const n of [numbers[limit], target.account_number]) {
          const res = await save(prober, n);
          expect([res.status, res.body.code]).toEqual([429, 'rate_limited']);
        }
        const real = await transfer(get(), prober, {
          from_account_id: from.id,
          to_account_number: target.account_number,
          amount: 1,
          currency: 'GBP',
        });
        expect([real.status, real.body.code]).toEqual([429, 'rate_limited']);
        const saved = await db.query(`SELECT count(*)::int AS n FROM payments.payees WHERE owner_id = $1`, [
          prober.id,
        ]);
        expect(saved.rows[0].n).toBe(0);
      });

      it('counts probes sent in parallel before answering them', async () => {
        const prober = await verifiedCustomer(get(), admin, 'prober.parallel');
        const from = await openAccount(get(), prober);
        const numbers = await missing(limit * 2);
        const results = await Promise.all(
          numbers.map((n) =>
            transfer(get(), prober, {
              from_account_id: from.id,
              to_account_number: n,
              amount: 1,
              currency: 'GBP',
            }),
          ),
        );
        const statuses = results.map((r) => r.status);
        expect(statuses.filter((s) => s === 404)).toHaveLength(limit);
        expect(statuses.filter((s) => s === 429)).toHaveLength(limit);
        // Those misses now block every transfer by number for the window.
        const after = await transfer(get(), prober, {
          from_account_id: from.id,
          to_account_number: (await missing(1))[0],
          amount: 1,
          currency: 'GBP',
        });
        expect([after.status, after.body.code]).toEqual([429, 'rate_limited']);
        expect(Number(after.headers['retry-after'])).toBeGreaterThan(60);
      });

      it('leaves no block behind a burst of valid transfers by number (a refused reservation is given back), and tells the excess to retry in a second', async () => {
        // More lookups in flight than the limit: the excess may be refused while they run, but none of
        // them was a miss, so the customer's next transfer goes through. The excess is told so: not
        // rate_limited with the window's hour, which would stop an obedient client for that long.
        const { payer, from, pay } = await payerAndPayee('burst', 1000);
        const burst = await Promise.all(Array.from({ length: limit * 4 }, () => pay()));
        // How many overlap past the limit depends on the machine (27–30 of 40 in six runs; on an idle one
        // sometimes none): any refused is refused as busy, and none leaves anything behind.
        const statuses = burst.map((r) => r.status);
        expect(statuses.filter((s) => s !== 201 && s !== 429)).toEqual([]);
        for (const refused of burst.filter((r) => r.status === 429)) {
          expect([refused.body.code, refused.headers['retry-after']]).toEqual(['lookups_busy', '1']);
        }
        let paid = statuses.filter((s) => s === 201).length;
        // The refusal itself, deterministically: `limit` lookups in flight (each holds its place among the
        // lookups running and, until it finds its account, a miss), as Redis counts them.
        const redis = await get().t.redis();
        const keys = ['transfer-misses', 'transfer-lookups'].map(
          (bucket) => `${get().t.env.REDIS_KEY_PREFIX}ratelimit:${bucket}:${payer.id}`,
        );
        for (const key of keys) await redis.set(key, limit, 'EX', 60);
        const excess = await pay();
        expect([excess.status, excess.body.code, excess.headers['retry-after']]).toEqual([
          429,
          'lookups_busy',
          '1',
        ]);
        // Given back: the counts are what the lookups in flight hold, not one more.
        expect(await Promise.all(keys.map((k) => redis.get(k)))).toEqual([String(limit), String(limit)]);
        // They end (each gives back what it held): nothing is left behind.
        for (const key of keys) await redis.decrby(key, limit);
        const after = await pay();
        expect([after.status, after.body.code]).toEqual([201, undefined]);
        paid += 1;
        expect(await Promise.all(keys.map((k) => redis.get(k)))).toEqual(['0', '0']);
        expect(await balanceOf(get(), payer, from)).toBe(1000 - paid);
      });

      it("counts closed and other-currency destinations (payees saved for closed accounts too), not the caller's own mistakes", async () => {
        const prober = await verifiedCustomer(get(), admin, 'prober.kinds');
        const payee = await verifiedCustomer(get(), admin, 'probed.kinds');
        const from = await openAccount(get(), prober);
        const euros = await openAccount(get(), payee, 'EUR');
        const closed = await openAccount(get(), payee, 'GBP', 'savings');
        await http().post(`/accounts/${closed.id}/close`).set(bearer(payee.token)).expect(200);
        const gbp = await openAccount(get(), payee);
        await deposit(get(), admin, from, 100);
        const send = (to: string, currency = 'GBP') =>
          transfer(get(), prober, { from_account_id: from.id, to_account_number: to, amount: 1, currency });

        // The caller's own account does not hold EUR: their mistake, told every time, never counted.
        for (let i = 0; i <= limit; i++) {
          const own = await send(gbp.account_number, 'EUR');
          expect([own.status, own.body.code]).toEqual([422, 'currency_mismatch']);
        }
        const savePayee = (number: string) =>
          http()
            .post('/payees')
            .set(bearer(prober.token))
            .send({ name: 'Probe', sort_code: '990001', account_number: number });
        // A transfer to the closed account, one to the other currency, a payee saved for the closed one.
        const tries = [
          [() => send(closed.account_number), [409, 'account_closed']],
          [() => send(euros.account_number), [422, 'currency_mismatch']],
          [() => savePayee(closed.account_number), [422, 'payee_account_closed']],
        ] as const;
        for (let i = 0; i < limit; i++) {
          const [attempt, refused] = tries[i % tries.length];
          const res = await attempt();
          expect([res.status, res.body.code]).toEqual(refused);
        }
        const stopped = await send(gbp.account_number);
        expect([stopped.status, stopped.body.code]).toEqual([429, 'rate_limited']);
        const payee429 = await savePayee(gbp.account_number);
        expect([payee429.status, payee429.body.code]).toEqual([429, 'rate_limited']);
      });

      it("counts orders refused for a saved payee's account (closed, another currency) with them, once per key, and refuses them past the limit", async () => {
        const prober = await verifiedCustomer(get(), admin, 'prober.orders');
        const payee = await verifiedCustomer(get(), admin, 'probed.orders');
        const from = await openAccount(get(), prober);
        const euros = await openAccount(get(), payee, 'EUR');
        const closing = await openAccount(get(), payee, 'GBP', 'savings');
        const gbp = await openAccount(get(), payee);
        const save = async (account: Account) =>
          (
            await http()
              .post('/payees')
              .set(bearer(prober.token))
              .send({ name: 'Probe', sort_code: '990001', account_number: account.account_number })
              .expect(201)
          ).body.id as string;
        const [toEuros, toClosed] = [await save(euros), await save(closing)];
        await http().post(`/accounts/${closing.id}/close`).set(bearer(payee.token)).expect(200);
        const order = (payeeId: string, key = randomUUID()) =>
          http()
            .post('/scheduled-payments')
            .set(bearer(prober.token))
            .set('Idempotency-Key', key)
            .send({
              from_account_id: from.id,
              payee_id: payeeId,
              amount: 100,
              currency: 'GBP',
              reference: 'PROBE',
              pay_on: new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10),
            });
        // A client's retry under its key is not counted again.
        const retried = randomUUID();
        for (let i = 0; i < 3; i++) {
          const res = await order(toClosed, retried);
          expect([res.status, res.body.code]).toEqual([422, 'payee_account_closed']);
        }
        for (let i = 1; i < limit; i++) {
          const res = await order(i % 2 ? toEuros : toClosed);
          expect([res.status, res.body.code]).toEqual(
            i % 2 ? [422, 'currency_mismatch'] : [422, 'payee_account_closed'],
          );
        }
        // Past the limit no new order tells the payee's account (nor does a transfer by number).
        for (const payeeId of [toClosed, toEuros]) {
          const res = await order(payeeId);
          expect([res.status, res.body.code]).toEqual([429, 'rate_limited']);
        }
        const stopped = await transfer(get(), prober, {
          from_account_id: from.id,
          to_account_number: gbp.account_number,
          amount: 1,
          currency: 'GBP',
        });
        expect([stopped.status, stopped.body.code]).toEqual([429, 'rate_limited']);
      });
    });
  });
}
