/**
 * Staff administration, both topologies: roles enforced on staff routes, user search with keyset pages,
 * role changes taking effect at the next token, disabling (sessions end, login refused), and the audit
 * trail recording who did what.
 */
import request from 'supertest';
import type { Client } from 'pg';
import {
  bearer,
  firstAdmin,
  newCustomer,
  PASSWORD,
  signInFirstAdminAgain,
  type Actor,
} from '../support/actors';
import { promote } from '../support/banking';
import { lockWaiters } from '../support/lock-waits';
import { securityEventsCounted } from '../support/security-events';
import { eventually } from '../support/test-env';
import type { Running } from '../support/topologies';

export function adminScenarios(get: () => Running) {
  const http = () => request(get().baseUrl);
  let admin: Actor;
  const customer = (tag: string) => newCustomer(get(), tag);

  beforeAll(async () => {
    admin = await firstAdmin(get());
  });

  describe('staff routes', () => {
    it('answers a customer with 403 and no token with 401', async () => {
      const c = await customer('nosy');
      expect((await http().get('/admin/users').set(bearer(c.token)).expect(403)).body.code).toBe('forbidden');
      await http().get(`/admin/users/${c.id}`).set(bearer(c.token)).expect(403);
      await http()
        .patch(`/admin/users/${c.id}`)
        .set(bearer(c.token))
        .send({ role: 'admin', reason: 'Test: staff change' })
        .expect(403);
      await http().get('/admin/audit').set(bearer(c.token)).expect(403);
      await http().get('/admin/users').expect(401);
    });

    it('finds users by e-mail or name and pages through them with a cursor', async () => {
      const tag = `page${Date.now()}`;
      const a = await customer(tag);
      const b = await customer(tag);
      const first = await http()
        .get('/admin/users')
        .query({ query: tag, limit: 1 })
        .set(bearer(admin.token))
        .expect(200);
      expect(first.body.data.map((u: { id: string }) => u.id)).toEqual([b.id]);
      expect(first.body.next_cursor).toEqual(expect.any(String));
      const second = await http()
        .get('/admin/users')
        .query({ query: tag, limit: 1, cursor: first.body.next_cursor })
        .set(bearer(admin.token))
        .expect(200);
      expect(second.body.data.map((u: { id: string }) => u.id)).toEqual([a.id]);
      expect(second.body.next_cursor).toBeNull();
      expect(second.body.data[0]).toMatchObject({ email: a.email, role: 'customer', disabled: false });
    });

    it('names the bad query field, and answers an unknown or malformed id with 404 or 400', async () => {
      const badCursor = await http()
        .get('/admin/users')
        .query({ cursor: 'garbage' })
        .set(bearer(admin.token))
        .expect(400);
      expect(badCursor.body.details[0].field).toBe('cursor');
      const badLimit = await http()
        .get('/admin/users')
        .query({ limit: 1000 })
        .set(bearer(admin.token))
        .expect(400);
      expect(badLimit.body.details.map((d: { field: string }) => d.field)).toContain('limit');
      // Only plain digits: Number() would read these as 16, 10, 1, 5, 5 and 1; each is one message.
      for (const limit of ['0x10', '1e1', '0b1', '+5', ' 5', '1.0', '1_0']) {
        const loose = await http().get('/admin/users').query({ limit }).set(bearer(admin.token));
        expect({ limit, status: loose.status, details: loose.body.details }).toEqual({
          limit,
          status: 400,
          details: [{ field: 'limit', message: 'limit must be a whole number from 1 to 100' }],
        });
      }
      await http().get('/admin/users').query({ limit: '100' }).set(bearer(admin.token)).expect(200);
      await http()
        .get('/admin/users/6f1c1c1e-3a55-4e0b-9a1e-2b8f4d0c9a10')
        .set(bearer(admin.token))
        .expect(404);
      const badId = await http().get('/admin/users/not-a-uuid').set(bearer(admin.token)).expect(400);
      expect(badId.body.details[0].field).toBe('id');
      const badRole = await http()
        .patch('/admin/users/6f1c1c1e-3a55-4e0b-9a1e-2b8f4d0c9a10')
        .set(bearer(admin.token))
        .send({ role: 'god', reason: 'Test: staff change' })
        .expect(400);
      expect(badRole.body.details[0].field).toBe('role');
    });
  });

  describe('roles and disabling', () => {
    it('promotes a customer to staff: their sessions end, the next login carries the role; staff may read but not change users', async () => {
      const c = await customer('promoted');
      // A change of nothing is named as every route names it.
      const nothing = await http()
        .patch(`/admin/users/${c.id}`)
        .set(bearer(admin.token))
        .send({ reason: 'Test: staff change' })
        .expect(400);
      expect(nothing.body.details).toEqual([{ field: 'body', message: 'give role or disabled' }]);
      const res = await http()
        .patch(`/admin/users/${c.id}`)
        .set(bearer(admin.token))
        .send({ role: 'staff', reason: 'Test: staff change' })
        .expect(200);
      expect(res.body).toMatchObject({ id: c.id, role: 'staff' });
      // The token minted as a customer died with its session before the 200.
      const old = await http().get('/users/me').set(bearer(c.token)).expect(401);
      expect(old.body.code).toBe('session_ended');
      const login = await http().post('/auth/login').send({ email: c.email, password: PASSWORD }).expect(200);
      const staffToken = login.body.access_token as string;
      await http().get(`/admin/users/${c.id}`).set(bearer(staffToken)).expect(200);
      // A customer's profile, and their own; a colleague's (here an admin's) takes an admin, and staff's
      // list leaves colleagues out.
      const other = await customer('promoted.sees');
      await http().get(`/admin/users/${other.id}`).set(bearer(staffToken)).expect(200);
      const colleague = await http().get(`/admin/users/${admin.id}`).set(bearer(staffToken)).expect(403);
      expect(colleague.body.code).toBe('colleague_account');
      const listed = async (token: string, query: string) =>
        (
          await http().get('/admin/users').query({ query, limit: 100 }).set(bearer(token)).expect(200)
        ).body.data.map((u: { id: string }) => u.id) as string[];
      expect(await listed(staffToken, admin.email)).toEqual([]);
      expect(await listed(admin.token, admin.email)).toEqual([admin.id]);
      expect(await listed(staffToken, c.email)).toEqual([c.id]);
      expect(await listed(staffToken, other.email)).toEqual([other.id]);
      await http()
        .patch(`/admin/users/${c.id}`)
        .set(bearer(staffToken))
        .send({ role: 'admin', reason: 'Test: staff change' })
        .expect(403);
      await http().get('/admin/audit').set(bearer(staffToken)).expect(403);
    });

    it('disables a user: their sessions end and logins are refused', async () => {
      const c = await customer('disabled');
      await http()
        .patch(`/admin/users/${c.id}`)
        .set(bearer(admin.token))
        .send({ disabled: true, reason: 'Test: staff change' })
        .expect(200);
      // Users asked auth to end every session of the user before answering: their access token stops
      // working at once in every app (the guard checks the session), and so does the refresh token.
      const ended = await http().get('/users/me').set(bearer(c.token)).expect(401);
      expect(ended.body.code).toBe('session_ended');
      const refresh = await http().post('/auth/refresh').send({ refresh_token: c.refresh }).expect(401);
      expect(refresh.body.code).toBe('invalid_refresh_token');
      const login = await http().post('/auth/login').send({ email: c.email, password: PASSWORD }).expect(403);
      expect(login.body.code).toBe('account_disabled');
      await http()
        .patch(`/admin/users/${c.id}`)
        .set(bearer(admin.token))
        .send({ disabled: false, reason: 'Test: staff change' })
        .expect(200);
      await http().post('/auth/login').send({ email: c.email, password: PASSWORD }).expect(200);
    });

    // What a client sees right after the admin's 200: every token of the user, on every app, at once.
    const SIGNED_IN_ROUTES = [
      '/users/me',
      '/auth/sessions',
      '/accounts',
      '/notifications/unread-count',
      '/analytics/insights',
    ];

    it('ends every session before the 200 of a disable or a role change: the next requests, all at once, are 401 session_ended', async () => {
      const signIn = async (email: string) =>
        (await http().post('/auth/login').send({ email, password: PASSWORD }).expect(200)).body as {
          access_token: string;
          refresh_token: string;
        };
      // Several rounds: the revocation used to follow the 200 by a few milliseconds (through the event),
      // so any request sent at once went through; each round would have shown it.
      for (let round = 0; round < 4; round++) {
        for (const change of [{ disabled: true }, { role: 'staff' }]) {
          const c = await customer(`cut${round}`);
          const sessions = [
            { access_token: c.token, refresh_token: c.refresh },
            ...(await Promise.all([signIn(c.email), signIn(c.email)])),
          ];
          await http().get('/users/me').set(bearer(sessions[2].access_token)).expect(200);
          // Every other round names the user in upper case: Postgres matches it, and their sessions (kept
          // under the lower-case id) must end all the same.
          await http()
            .patch(`/admin/users/${round % 2 ? c.id.toUpperCase() : c.id}`)
            .set(bearer(admin.token))
            .send({ ...change, reason: 'Test: staff change' })
            .expect(200);
          const [reads, refreshes] = await Promise.all([
            Promise.all(
              sessions.flatMap((s) =>
                SIGNED_IN_ROUTES.map((path) => http().get(path).set(bearer(s.access_token))),
              ),
            ),
            Promise.all(
              sessions.map((s) => http().post('/auth/refresh').send({ refresh_token: s.refresh_token })),
            ),
          ]);
          expect({ change, seen: reads.map((r) => `${r.status} ${r.body.code}`) }).toEqual({
            change,
            seen: reads.map(() => '401 session_ended'),
          });
          expect(refreshes.map((r) => r.status)).toEqual(sessions.map(() => 401));
        }
      }
    });

    it("keeps a session opened right after the change: the change's event, delivered later, ends nothing", async () => {
      const db = await get().t.db();
      const c = await customer('afterwards');
      await http()
        .patch(`/admin/users/${c.id}`)
        .set(bearer(admin.token))
        .send({ role: 'staff', reason: 'Test: staff change' })
        .expect(200);
      const login = await http().post('/auth/login').send({ email: c.email, password: PASSWORD }).expect(200);
      // The event is still the safety net: wait until the relay has delivered it (in the monolith that means
      // auth's handler ran; in split it is in auth's queue, and test/contracts/auth.contract.e2e-spec.ts
      // checks the same over RabbitMQ deterministically). The new session must still work.
      await eventually(
        async () => {
          const { rows } = await db.query(
            `SELECT count(*)::int AS pending FROM users.outbox
              WHERE payload->>'user_id' = $1 AND published_at IS NULL`,
            [c.id],
          );
          return rows[0].pending === 0 ? true : undefined;
        },
        15000,
        'the role_changed event to be delivered',
      );
      const me = await http().get('/users/me').set(bearer(login.body.access_token)).expect(200);
      expect(me.body.role).toBe('staff');
      await http().post('/auth/refresh').send({ refresh_token: login.body.refresh_token }).expect(200);
    });

    it('ends the sessions again when a role change is repeated (the retry after a 503)', async () => {
      const c = await customer('again');
      const change = () =>
        http()
          .patch(`/admin/users/${c.id}`)
          .set(bearer(admin.token))
          .send({ role: 'staff', reason: 'Test: staff change' })
          .expect(200);
      await change();
      const login = await http().post('/auth/login').send({ email: c.email, password: PASSWORD }).expect(200);
      const token = login.body.access_token as string;
      await http().get('/users/me').set(bearer(token)).expect(200);
      // Nothing to write and no event: the request itself ends the sessions before it answers.
      await change();
      const me = await http().get('/users/me').set(bearer(token));
      expect([me.status, me.body.code]).toEqual([401, 'session_ended']);
      await http().post('/auth/refresh').send({ refresh_token: login.body.refresh_token }).expect(401);

      // The repeat changed nothing but ended the user's sessions: audited as that. (Each answer showed the
      // user's profile: those reads are filed as well, left out here.)
      const audit = await http()
        .get('/admin/audit')
        .query({ target_user_id: c.id, limit: 100 })
        .set(bearer(admin.token))
        .expect(200);
      expect(
        (audit.body.data as { action: string; actor_id: string; details: object }[])
          .filter((e) => e.action !== 'customer_data_viewed')
          .map((e) => [e.action, e.actor_id, e.details]),
      ).toEqual([
        ['sessions_ended', admin.id, { role: 'staff' }],
        ['role_changed', admin.id, { from: 'customer', to: 'staff' }],
      ]);
    });

    it('answers an admin changing their own user with 422 self_lockout, changing and auditing nothing', async () => {
      const entries = async () =>
        (
          await http()
            .get('/admin/audit')
            .query({ target_user_id: admin.id })
            .set(bearer(admin.token))
            .expect(200)
        ).body.data.length;
      const before = await entries();
      const counted = () => securityEventsCounted(get(), 'users', 'own_user_refused');
      const countedBefore = await counted();
      // Also with their id in upper case, which Postgres matches and a string comparison would not; and
      // naming the role they have, which would change nothing but is a staff action on their own user.
      for (const id of [admin.id, admin.id.toUpperCase()])
        for (const change of [
          { disabled: true },
          { disabled: false },
          { role: 'staff' },
          { role: 'customer' },
          { role: 'admin' },
        ]) {
          const res = await http()
            .patch(`/admin/users/${id}`)
            .set(bearer(admin.token))
            .send({ ...change, reason: 'Test: staff change' });
          expect({ id, change, status: res.status, code: res.body.code }).toEqual({
            id,
            change,
            status: 422,
            code: 'self_lockout',
          });
        }
      const me = await http().get(`/admin/users/${admin.id}`).set(bearer(admin.token)).expect(200);
      expect(me.body).toMatchObject({ role: 'admin', disabled: false });
      expect(await entries()).toBe(before);
      // Not audited (nothing changed), but each is a security event the insider alert counts.
      expect((await counted()) - countedBefore).toBe(10);
      // Their session was not ended by any of it.
      await http().get('/users/me').set(bearer(admin.token)).expect(200);
    });

    describe('the last admin', () => {
      let db: Client;
      beforeAll(async () => {
        db = await get().t.db();
      });
      const activeAdmins = async () =>
        (
          await db.query(
            `SELECT id FROM users.users WHERE role = 'admin' AND disabled_at IS NULL ORDER BY id`,
          )
        ).rows.map((r: { id: string }) => r.id);
      const change = (by: Actor, who: { id: string }, body: object) =>
        http()
          .patch(`/admin/users/${who.id}`)
          .set(bearer(by.token))
          .send({ ...body, reason: 'Test: staff change' });

      /** New admins, left as the only active ones: the first of them demotes the first admin. */
      async function onlyAdmins(...tags: string[]): Promise<Actor[]> {
        const made: Actor[] = [];
        for (const tag of tags) made.push(await promote(get(), admin, await customer(tag), 'admin'));
        await change(made[0], admin, { role: 'customer' }).expect(200);
        expect(await activeAdmins()).toEqual(made.map((a) => a.id).sort());
        return made;
      }
      /**
       * Gives the first admin its role back (through the API while one of `made` is still admin, in SQL if
       * a failed run left none), signs it in again wherever a scenario holds it, and demotes `made`.
       */
      async function restore(made: Actor[]): Promise<void> {
        const left = await activeAdmins();
        if (!left.includes(admin.id)) {
          const by = made.find((a) => left.includes(a.id));
          if (by) await change(by, admin, { role: 'admin' }).expect(200);
          else
            await db.query(`UPDATE users.users SET role = 'admin', disabled_at = NULL WHERE id = $1`, [
              admin.id,
            ]);
        }
        await signInFirstAdminAgain(get());
        for (const a of made.filter((m) => left.includes(m.id)))
          await change(admin, a, { role: 'customer' }).expect(200);
      }

      it('refuses the only active admin disabling or demoting themselves (422 self_lockout): they stay the admin', async () => {
        const [x] = await onlyAdmins('lastadmin');
        try {
          for (const body of [{ disabled: true }, { role: 'staff' }, { role: 'customer' }]) {
            const res = await change(x, x, body);
            expect({ body, status: res.status, code: res.body.code }).toEqual({
              body,
              status: 422,
              code: 'self_lockout',
            });
          }
          expect(await activeAdmins()).toEqual([x.id]);
          const me = await http().get(`/admin/users/${x.id}`).set(bearer(x.token)).expect(200);
          expect(me.body).toMatchObject({ role: 'admin', disabled: false });
        } finally {
          await restore([x]);
        }
      });

      it('leaves exactly one admin when the only two demote each other at once (forced to overlap): the second is refused with 403', async () => {
        const [x, y] = await onlyAdmins('adminx', 'adminy');
        // Hold both admins' rows, send both demotions, and let go only once both are blocked on them: each
        // has then started before the other could finish.
        const holder = await get().t.db();
        const blocked = (n: number) =>
          lockWaiters(db, n, '%users%', `${n} demotion(s) blocked on the held rows`);
        try {
          await holder.query('BEGIN');
          await holder.query('SELECT 1 FROM users.users WHERE id = ANY($1) FOR UPDATE', [[x.id, y.id]]);
          const first = change(x, y, { role: 'customer' }).then((r) => r);
          await blocked(1);
          const second = change(y, x, { role: 'customer' }).then((r) => r);
          await blocked(2);
          await holder.query('COMMIT');
          const [a, b] = await Promise.all([first, second]);
          const outcomes = [
            { by: 'x', status: a.status, code: a.body.code },
            { by: 'y', status: b.status, code: b.body.code },
          ].sort((p, q) => p.status - q.status);
          expect(outcomes.map((o) => [o.status, o.code ?? null])).toEqual([
            [200, null],
            [403, 'forbidden'],
          ]);
          const winner = outcomes[0].by === 'x' ? x : y;
          expect(await activeAdmins()).toEqual([winner.id]);
        } finally {
          await holder.query('ROLLBACK');
          await restore([x, y]);
        }
      });
    });

    it('refuses a role change or a disabling without a plain-text reason, changing nothing', async () => {
      const c = await customer('unexplained');
      for (const body of [
        { role: 'staff' },
        { disabled: true, reason: 'ok' },
        { role: 'staff', reason: 'Why\u202E' },
      ]) {
        const res = await http()
          .patch(`/admin/users/${c.id}`)
          .set(bearer(admin.token))
          .send(body)
          .expect(400);
        expect([...new Set(res.body.details.map((d: { field: string }) => d.field))]).toEqual(['reason']);
      }
      const after = await http().get(`/admin/users/${c.id}`).set(bearer(admin.token)).expect(200);
      expect(after.body).toMatchObject({ role: 'customer', disabled: false });
    });

    it('records who changed what in the audit trail, readable by admins', async () => {
      const c = await customer('audited');
      await http()
        .patch(`/admin/users/${c.id}`)
        .set(bearer(admin.token))
        .send({ role: 'staff', disabled: true, reason: 'Left the bank; kept as staff for the record' })
        .expect(200);
      // One PATCH writes its entries (both changes, and the read of the profile it answers with) in the same
      // millisecond: paging one entry at a time must see all three.
      const mine: { target_user_id: string }[] = [];
      let cursor: string | null = null;
      for (let pageNo = 0; pageNo < 500 && mine.length < 3; pageNo++) {
        const res: request.Response = await http()
          .get('/admin/audit')
          .query({ limit: 1, ...(cursor ? { cursor } : {}) })
          .set(bearer(admin.token))
          .expect(200);
        mine.push(...res.body.data.filter((e: { target_user_id: string }) => e.target_user_id === c.id));
        cursor = res.body.next_cursor;
        if (!cursor) break;
      }
      expect(mine).toHaveLength(3);
      expect(mine).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            actor_id: admin.id,
            action: 'role_changed',
            before: { role: 'customer' },
            after: { role: 'staff' },
            reason: 'Left the bank; kept as staff for the record',
          }),
          expect.objectContaining({
            actor_id: admin.id,
            action: 'user_disabled',
            before: { disabled: false },
            after: { disabled: true },
            reason: 'Left the bank; kept as staff for the record',
          }),
          expect.objectContaining({
            actor_id: admin.id,
            action: 'customer_data_viewed',
            resource_id: c.id,
            before: null,
            after: { viewed: 'profile' },
            reason: null,
          }),
        ]),
      );
    });
  });
}
