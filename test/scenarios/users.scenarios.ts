/**
 * Profiles and KYC, both topologies: the owner edits their profile; KYC submissions are validated,
 * stored encrypted, shown masked, reviewed by staff (approve, reject with a reason, resubmit), and their
 * status is what other modules get through the users contract.
 */
import request from 'supertest';
import type { Client } from 'pg';
import {
  asReviewed,
  bearer,
  UNREAD_SUBMISSION,
  firstAdmin,
  newCustomer,
  type Actor,
} from '../support/actors';
import { deposit, openAccount, verifiedCustomer } from '../support/banking';
import { eventually } from '../support/test-env';
import type { Running } from '../support/topologies';

const passport = (number = 'P502135326') => ({
  document_type: 'passport',
  document_number: number,
  country: 'GB',
  date_of_birth: '1990-04-12',
});

export function usersScenarios(get: () => Running) {
  const http = () => request(get().baseUrl);
  let admin: Actor;
  let db: Client;

  beforeAll(async () => {
    admin = await firstAdmin(get());
    db = await get().t.db();
  });

  describe('profile', () => {
    it('lets the owner change name, date of birth, phone and address', async () => {
      const c = await newCustomer(get(), 'profile');
      const address = { line1: '1 High Street', city: 'London', postcode: 'SW1A 1AA', country: 'gb' };
      const res = await http()
        .patch('/users/me')
        .set(bearer(c.token))
        .send({ full_name: 'Ada Lovelace', date_of_birth: '1990-12-10', phone: '+447700900123', address })
        .expect(200);
      expect(res.body).toMatchObject({
        id: c.id,
        full_name: 'Ada Lovelace',
        date_of_birth: '1990-12-10',
        phone: '+447700900123',
        address: { ...address, country: 'GB' },
      });
      const me = await http().get('/users/me').set(bearer(c.token)).expect(200);
      expect(me.body).toMatchObject({ full_name: 'Ada Lovelace', phone: '+447700900123' });
    });

    it('tells the owner, as a security notice without the values, when the phone number or address is added, changed or removed', async () => {
      const c = await newCustomer(get(), 'contact');
      const patch = (body: object) => http().patch('/users/me').set(bearer(c.token)).send(body).expect(200);
      const address = { line1: '1 High Street', city: 'London', postcode: 'SW1A 1AA', country: 'GB' };
      /** users' contact_changed events for c (its outbox): an exact count. */
      const events = async () =>
        (
          await db.query(
            `SELECT payload->'changes' AS changes FROM users.outbox
              WHERE name = 'user.contact_changed' AND payload->>'user_id' = $1 ORDER BY created_at, id`,
            [c.id],
          )
        ).rows.map((r: { changes: object }) => r.changes);
      const contactNotices = (count: number) =>
        eventually(async () => {
          const list = await http().get('/notifications').set(bearer(c.token)).expect(200);
          const found = (list.body.data as { type: string }[]).filter(
            (n) => n.type === 'user.contact_changed',
          );
          return found.length === count ? found : undefined;
        });
      await patch({ full_name: 'Ada Byron' });
      await patch({ phone: '+447700900155', address });
      // The feed lists notices in the order they were recorded; two events handled at once (split's
      // consumer takes several deliveries together) are recorded in either order, so the second change
      // waits for the first one's notice.
      await contactNotices(1);
      // The same values again (the country in either case) and the name alone change no contact detail.
      await patch({ phone: '+447700900155', address: { ...address, country: 'gb' } });
      await patch({ full_name: 'Ada Lovelace' });
      await patch({ address: null });
      expect(await events()).toEqual([{ phone: 'added', address: 'added' }, { address: 'removed' }]);
      const notices = await contactNotices(2);
      // Newest first.
      expect(notices).toEqual([
        expect.objectContaining({
          category: 'security',
          title: 'Contact details changed',
          body: "On your profile, the address was removed. If this wasn't you, contact us at once.",
          data: { phone: null, address: 'removed' },
        }),
        expect.objectContaining({
          body: "On your profile, the phone number was added and the address was added. If this wasn't you, contact us at once.",
        }),
      ]);
      expect(JSON.stringify(notices)).not.toMatch(/900155|High Street|SW1A/);
      // Five a day per detail: of six more phone changes four are told; address changes still are.
      for (let i = 0; i < 6; i++) await patch({ phone: `+44770090016${i}` });
      await patch({ address });
      expect(await events()).toEqual([
        { phone: 'added', address: 'added' },
        { address: 'removed' },
        ...Array(4).fill({ phone: 'changed' }),
        { address: 'added' },
      ]);
    });

    it('names each bad field and changes nothing', async () => {
      const c = await newCustomer(get(), 'badprofile');
      const res = await http()
        .patch('/users/me')
        .set(bearer(c.token))
        .send({
          phone: '0770',
          date_of_birth: '12/10/1990',
          address: { line1: 'x', city: 'y', postcode: 'z', country: 'XX' },
          email: 'new@example.com',
        })
        .expect(400);
      expect(res.body.details.map((d: { field: string }) => d.field)).toEqual(
        expect.arrayContaining(['phone', 'date_of_birth', 'address.country', 'email']),
      );
      await http().patch('/users/me').set(bearer(c.token)).send({ date_of_birth: '2001-02-30' }).expect(400);
      const future = await http()
        .patch('/users/me')
        .set(bearer(c.token))
        .send({ date_of_birth: '2090-01-01' })
        .expect(400);
      expect(future.body.details).toEqual([
        { field: 'date_of_birth', message: 'date_of_birth must not be in the future' },
      ]);
      const empty = await http().patch('/users/me').set(bearer(c.token)).send({}).expect(400);
      expect(empty.body).toMatchObject({
        code: 'validation_failed',
        details: [
          { field: 'body', message: 'give at least one of full_name, date_of_birth, phone, address' },
        ],
      });
      const me = await http().get('/users/me').set(bearer(c.token)).expect(200);
      expect(me.body).toMatchObject({ phone: null, date_of_birth: null, email: c.email });
    });
    it('checks a date of birth as KYC does: 400 more than 130 years ago, 422 underage under 18, changing nothing', async () => {
      const c = await newCustomer(get(), 'ageprofile');
      const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
      const ancient = await http()
        .patch('/users/me')
        .set(bearer(c.token))
        .send({ date_of_birth: '0001-01-01' })
        .expect(400);
      expect(ancient.body).toMatchObject({
        code: 'validation_failed',
        details: [{ field: 'date_of_birth', message: 'date_of_birth is too far in the past' }],
      });
      // Two days back: the bank's date, whatever its zone, is no earlier than that.
      for (const young of [daysAgo(2), daysAgo(17 * 365)]) {
        const res = await http().patch('/users/me').set(bearer(c.token)).send({ date_of_birth: young });
        expect({ young, status: res.status, code: res.body.code, details: res.body.details }).toEqual({
          young,
          status: 422,
          code: 'underage',
          details: [{ field: 'date_of_birth', message: 'applicant is younger than 18' }],
        });
      }
      const me = await http().get('/users/me').set(bearer(c.token)).expect(200);
      expect(me.body.date_of_birth).toBeNull();
      await http().patch('/users/me').set(bearer(c.token)).send({ date_of_birth: '1930-06-15' }).expect(200);
    });

    it('removes the phone number and the address when sent null; SMS is then skipped', async () => {
      const c = await verifiedCustomer(get(), admin, 'unlisted');
      const address = { line1: '1 High Street', city: 'London', postcode: 'SW1A 1AA', country: 'GB' };
      await http()
        .patch('/users/me')
        .set(bearer(c.token))
        .send({ phone: '+447700900123', address })
        .expect(200);
      const noPhone = await http().patch('/users/me').set(bearer(c.token)).send({ phone: null }).expect(200);
      expect(noPhone.body).toMatchObject({ phone: null, address });
      const none = await http().patch('/users/me').set(bearer(c.token)).send({ address: null }).expect(200);
      expect(none.body).toMatchObject({ phone: null, address: null });
      expect((await http().get('/users/me').set(bearer(c.token)).expect(200)).body).toMatchObject({
        phone: null,
        address: null,
      });
      // Null removes; any other value is still checked.
      const bad = await http()
        .patch('/users/me')
        .set(bearer(c.token))
        .send({ phone: '', address: 'none' })
        .expect(400);
      expect(bad.body.details.map((d: { field: string }) => d.field)).toEqual(
        expect.arrayContaining(['phone', 'address']),
      );

      // The SMS of a notification is skipped, as for a customer who never gave a number.
      await http()
        .put('/notifications/preferences')
        .set(bearer(c.token))
        .send({ transactions: { sms: true } })
        .expect(200);
      await deposit(get(), admin, await openAccount(get(), c), 1000);
      const sms = await eventually(
        async () => {
          const { rows } = await db.query(
            `SELECT d.status, d.last_error FROM notifications.notifications n
               JOIN notifications.deliveries d ON d.notification_id = n.id
              WHERE n.user_id = $1 AND d.channel = 'sms'`,
            [c.id],
          );
          return rows.length > 0 && rows.every((r) => r.status !== 'pending') ? rows : undefined;
        },
        15000,
        'the SMS delivery to be decided',
      );
      expect(sms).toEqual([{ status: 'skipped', last_error: 'no phone number on the profile' }]);
    });
  });

  describe('KYC', () => {
    it('stores a submission encrypted and shows only the last 3 characters of the document number', async () => {
      const c = await newCustomer(get(), 'kyc');
      await http().get('/users/me/kyc').set(bearer(c.token)).expect(200, { status: 'not_submitted' });
      const res = await http().post('/users/me/kyc').set(bearer(c.token)).send(passport()).expect(201);
      expect(res.body).toMatchObject({
        status: 'pending',
        document_type: 'passport',
        document_number_masked: '******326',
        country: 'GB',
        date_of_birth: '1990-04-12',
      });
      expect(JSON.stringify(res.body)).not.toContain('P502135326');
      const mine = await http().get('/users/me/kyc').set(bearer(c.token)).expect(200);
      expect(mine.body.document_number_masked).toBe('******326');
      const [row] = (await db.query('SELECT * FROM users.kyc WHERE user_id = $1', [c.id])).rows;
      expect(JSON.stringify(row)).not.toContain('P502135326');
      expect(row.document_number_encrypted).toMatch(/^v1\./);
      const event = await db.query(
        `SELECT 1 FROM users.outbox WHERE name = 'kyc.submitted' AND payload->>'user_id' = $1`,
        [c.id],
      );
      expect(event.rows).toHaveLength(1);
      await http().post('/users/me/kyc').set(bearer(c.token)).send(passport()).expect(409);
    });

    it('refuses applicants under 18 with 422, and bad fields with 400 naming them', async () => {
      const c = await newCustomer(get(), 'young');
      const year = new Date().getUTCFullYear() - 17;
      const young = await http()
        .post('/users/me/kyc')
        .set(bearer(c.token))
        .send({ ...passport(), date_of_birth: `${year}-01-01` })
        .expect(422);
      expect(young.body).toMatchObject({ code: 'underage', details: [{ field: 'date_of_birth' }] });
      const bad = await http()
        .post('/users/me/kyc')
        .set(bearer(c.token))
        .send({
          document_type: 'library_card',
          document_number: '!',
          country: 'UK',
          date_of_birth: 'yesterday',
        })
        .expect(400);
      expect(bad.body.details.map((d: { field: string }) => d.field)).toEqual(
        expect.arrayContaining(['document_type', 'document_number', 'country', 'date_of_birth']),
      );
      await http().get('/users/me/kyc').set(bearer(c.token)).expect(200, { status: 'not_submitted' });
    });

    it('lets staff approve a pending submission, and only staff', async () => {
      const c = await newCustomer(get(), 'approve');
      await http().post('/users/me/kyc').set(bearer(c.token)).send(passport('GB1234567')).expect(201);
      await http().get('/admin/kyc').set(bearer(c.token)).expect(403);
      await http()
        .post(`/admin/kyc/${c.id}/approve`)
        .set(bearer(c.token))
        .send(await asReviewed(http(), c.token, c.id))
        .expect(403);
      let found = false;
      let cursor: string | null = null;
      do {
        const pageRes: request.Response = await http()
          .get('/admin/kyc')
          .query({ status: 'pending', limit: 100, ...(cursor ? { cursor } : {}) })
          .set(bearer(admin.token))
          .expect(200);
        found ||= pageRes.body.data.some(
          (k: { user_id: string; document_number_masked: string }) =>
            k.user_id === c.id && k.document_number_masked === '******567',
        );
        cursor = pageRes.body.next_cursor;
      } while (cursor && !found);
      expect(found).toBe(true);
      const approved = await http()
        .post(`/admin/kyc/${c.id}/approve`)
        .set(bearer(admin.token))
        .send(await asReviewed(http(), admin.token, c.id))
        .expect(200);
      expect(approved.body).toMatchObject({ user_id: c.id, status: 'verified' });
      await http()
        .post(`/admin/kyc/${c.id}/approve`)
        .set(bearer(admin.token))
        .send(await asReviewed(http(), admin.token, c.id))
        .expect(409);
      await http().post('/users/me/kyc').set(bearer(c.token)).send(passport()).expect(409);
      const audit = await http()
        .get('/admin/audit')
        .query({ limit: 100 })
        .set(bearer(admin.token))
        .expect(200);
      expect(audit.body.data).toContainEqual(
        expect.objectContaining({ action: 'kyc_approved', target_user_id: c.id, actor_id: admin.id }),
      );
    });

    it('lets a staff member review KYC, but not their own', async () => {
      const staff = await newCustomer(get(), 'staffer');
      await http()
        .patch(`/admin/users/${staff.id}`)
        .set(bearer(admin.token))
        .send({ role: 'staff', reason: 'Test: staff change' })
        .expect(200);
      const staffToken = await eventually(
        async () => {
          if ((await http().get('/users/me').set(bearer(staff.token))).status !== 401) return undefined;
          return (
            await http()
              .post('/auth/login')
              .send({ email: staff.email, password: 'correct horse battery staple' })
              .expect(200)
          ).body.access_token as string;
        },
        15000,
        'the staff login',
      );
      await http().post('/users/me/kyc').set(bearer(staffToken)).send(passport('S11122233')).expect(201);
      const own = await http()
        .post(`/admin/kyc/${staff.id}/approve`)
        .set(bearer(staffToken))
        .send(await asReviewed(http(), staffToken, staff.id))
        .expect(403);
      expect(own.body.code).toBe('own_kyc');
      const c = await newCustomer(get(), 'bystaff');
      await http().post('/users/me/kyc').set(bearer(c.token)).send(passport('B44455566')).expect(201);
      await http()
        .post(`/admin/kyc/${c.id}/approve`)
        .set(bearer(staffToken))
        .send(await asReviewed(http(), staffToken, c.id))
        .expect(200);
    });

    it('lets staff reject with a reason, after which the user may submit again', async () => {
      const c = await newCustomer(get(), 'reject');
      await http().post('/users/me/kyc').set(bearer(c.token)).send(passport()).expect(201);
      const noReason = await http()
        .post(`/admin/kyc/${c.id}/reject`)
        .set(bearer(admin.token))
        .send(await asReviewed(http(), admin.token, c.id))
        .send({})
        .expect(400);
      expect(noReason.body.details.map((d: { field: string }) => d.field).sort()).toEqual([
        'reason',
        'reason_code',
      ]);
      const freeText = await http()
        .post(`/admin/kyc/${c.id}/reject`)
        .set(bearer(admin.token))
        .send(await asReviewed(http(), admin.token, c.id))
        .send({ reason_code: 'call us on 0800 000 000', reason: 'Document image unreadable' })
        .expect(400);
      expect(freeText.body.details.map((d: { field: string }) => d.field)).toEqual(['reason_code']);
      const rejected = await http()
        .post(`/admin/kyc/${c.id}/reject`)
        .set(bearer(admin.token))
        .send(await asReviewed(http(), admin.token, c.id))
        .send({ reason_code: 'document_unreadable', reason: 'Corner of the photo page cut off' })
        .expect(200);
      // Customer and staff read what the customer was told; the reviewer's note is in the audit trail.
      const told = {
        status: 'rejected',
        rejection_code: 'document_unreadable',
        rejection_reason: 'the photo of your document could not be read',
      };
      expect(rejected.body).toMatchObject(told);
      const mine = await http().get('/users/me/kyc').set(bearer(c.token)).expect(200);
      expect(mine.body).toMatchObject(told);
      const trail = await http()
        .get(`/admin/audit?resource_id=${c.id}&action=kyc_rejected`)
        .set(bearer(admin.token))
        .expect(200);
      expect(trail.body.data).toEqual([
        expect.objectContaining({
          reason: 'Corner of the photo page cut off',
          details: expect.objectContaining({
            reason_code: 'document_unreadable',
            told: 'the photo of your document could not be read',
          }),
        }),
      ]);
      await http().post('/users/me/kyc').set(bearer(c.token)).send(passport('P999888777')).expect(201);
      await http()
        .post(`/admin/kyc/6f1c1c1e-3a55-4e0b-9a1e-2b8f4d0c9a10/approve`)
        .set(bearer(admin.token))
        .send({ submitted_at: UNREAD_SUBMISSION })
        .expect(404);
      const badId = await http()
        .post(`/admin/kyc/not-a-uuid/approve`)
        .set(bearer(admin.token))
        .send({ submitted_at: UNREAD_SUBMISSION })
        .expect(400);
      expect(badId.body.details[0].field).toBe('user_id');
    });

    it('decides only on the submission the reviewer read: one the customer replaced since is 409 kyc_changed', async () => {
      const c = await newCustomer(get(), 'kyc.changed');
      await http().post('/users/me/kyc').set(bearer(c.token)).send(passport()).expect(201);
      const first = await asReviewed(http(), admin.token, c.id);
      // Another member of staff rejects it; the customer submits again, with other details.
      await http()
        .post(`/admin/kyc/${c.id}/reject`)
        .set(bearer(admin.token))
        .send({ ...first, reason_code: 'document_unreadable', reason: 'Document image unreadable' })
        .expect(200);
      await http()
        .post('/users/me/kyc')
        .set(bearer(c.token))
        .send({ ...passport('P555444333'), full_name: 'Somebody Else' })
        .expect(201);
      // The first reviewer, still on the first submission, approves it: refused, nothing changes.
      for (const [decision, body] of [
        ['approve', first],
        ['reject', { ...first, reason_code: 'not_verified', reason: 'Looked wrong' }],
      ] as const) {
        const stale = await http()
          .post(`/admin/kyc/${c.id}/${decision}`)
          .set(bearer(admin.token))
          .send(body)
          .expect(409);
        expect(stale.body.code).toBe('kyc_changed');
        expect(stale.body.details[0].field).toBe('submitted_at');
      }
      const mine = await http().get('/users/me/kyc').set(bearer(c.token)).expect(200);
      expect(mine.body).toMatchObject({ status: 'pending', full_name: 'Somebody Else' });
      const profile = await http().get('/users/me').set(bearer(c.token)).expect(200);
      expect(profile.body.full_name).not.toBe('Somebody Else');

      // Missing or not an instant: 400 naming the field.
      for (const body of [{}, { submitted_at: 'yesterday' }, { submitted_at: '2026-13-45T10:00:00Z' }]) {
        const bad = await http()
          .post(`/admin/kyc/${c.id}/approve`)
          .set(bearer(admin.token))
          .send(body)
          .expect(400);
        expect(bad.body.details.map((d: { field: string }) => d.field)).toContain('submitted_at');
      }
      // Read again, decided: the audit entry says which submission it was (masked number only).
      const current = await asReviewed(http(), admin.token, c.id);
      expect(current.submitted_at).not.toBe(first.submitted_at);
      await http().post(`/admin/kyc/${c.id}/approve`).set(bearer(admin.token)).send(current).expect(200);
      const audit = await http()
        .get('/admin/audit')
        .query({ target_user_id: c.id, action: 'kyc_approved' })
        .set(bearer(admin.token))
        .expect(200);
      expect(audit.body.data[0].details.submission).toEqual({
        submitted_at: current.submitted_at,
        document_type: 'passport',
        country: 'GB',
        document_number_masked: '******333',
      });
      expect(JSON.stringify(audit.body)).not.toContain('P555444333');
    });
  });
}
