/**
 * The foundation scenario, run unchanged against the monolith and against the split apps behind the
 * edge: health, docs, the one error shape, request ids, and the identity slice (a contract call from auth
 * to users, and user.registered going through the users outbox to the notifications consumer, which calls
 * back into users for the name).
 */
import request from 'supertest';
import type { Client } from 'pg';
import { eventually } from '../support/test-env';
import type { Running } from '../support/topologies';
import { inboxDuplicates } from '../support/inbox-metrics';

const ERROR_KEYS = ['code', 'details', 'message', 'request_id', 'status'];

function expectErrorShape(body: Record<string, unknown>, status: number, code: string) {
  expect(Object.keys(body).sort()).toEqual(ERROR_KEYS);
  expect(body).toMatchObject({ status, code });
  expect(typeof body.message).toBe('string');
  expect(typeof body.request_id).toBe('string');
}

let seq = 0;
const uniqueEmail = (name: string) => `${name}.${Date.now()}.${seq++}@example.com`;

export function foundationScenarios(get: () => Running) {
  let db: Client;
  const http = () => request(get().baseUrl);

  beforeAll(async () => {
    db = await get().t.db();
  });

  describe('health', () => {
    it('is live and ready', async () => {
      const live = await http().get('/health/live').expect(200);
      expect(live.body.status).toBe('ok');
      const ready = await http().get('/health/ready').expect(200);
      expect(ready.body.status).toBe('ok');
      await http().get('/health').expect(200);
    });
  });

  describe('docs', () => {
    it('serves Swagger UI at /docs', async () => {
      const res = await http().get('/docs').redirects(1).expect(200);
      expect(res.text).toContain('swagger-ui');
    });

    it('serves the OpenAPI document at /docs-json with the routes and the bearer scheme', async () => {
      const res = await http().get('/docs-json').expect(200);
      expect(res.body.openapi).toMatch(/^3\./);
      expect(res.body.paths['/auth/register'].post).toBeDefined();
      expect(res.body.paths['/health/ready'].get).toBeDefined();
      expect(res.body.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
      expect(res.body.components.schemas.ErrorResponseDto).toBeDefined();
    });

    it('documents every operation with a summary, a success response, the error shape, the refusals any route can give, a description for each answer and the headers every answer carries', async () => {
      const res = await http().get('/docs-json').expect(200);
      const problems: string[] = [];
      for (const [path, item] of Object.entries(
        res.body.paths as Record<string, Record<string, Record<string, unknown>>>,
      )) {
        for (const [method, op] of Object.entries(item)) {
          const documented = (op.responses ?? {}) as Record<
            string,
            {
              description?: string;
              content?: Record<string, { schema?: { $ref?: string } }>;
              headers?: Record<string, unknown>;
            }
          >;
          const responses = Object.keys(documented);
          for (const [code, response] of Object.entries(documented)) {
            const ref = response.content?.['application/json']?.schema?.$ref;
            if (/^[45]/.test(code) && ref !== '#/components/schemas/ErrorResponseDto')
              problems.push(`${method} ${path}: ${code} not in the error shape`);
            if (!response.description) problems.push(`${method} ${path}: ${code} without a description`);
            const headers = Object.keys(response.headers ?? {});
            for (const [status, name] of [
              ['', 'X-Request-Id'],
              ['429', 'Retry-After'],
              ['401', 'WWW-Authenticate'],
            ])
              if ((status === '' || status === code) && !headers.includes(name))
                problems.push(`${method} ${path}: ${code} without the ${name} header`);
          }
          // What the platform refuses on any route (validation, undocumented input, body caps).
          const needed = [
            '400',
            '408',
            '417',
            '431',
            '500',
            ...(path.includes('{') ? ['404', '414'] : []),
            ...(op.requestBody ? ['413', '415'] : []),
            ...(op['x-no-dependencies'] ? [] : ['503']),
          ];
          for (const code of needed)
            if (!responses.includes(code)) problems.push(`${method} ${path}: no ${code}`);
          if (!op.summary) problems.push(`${method} ${path}: no summary`);
          if (!responses.some((code) => code.startsWith('2')))
            problems.push(`${method} ${path}: no 2xx response`);
          const secured = Array.isArray(op.security) && op.security.length > 0;
          if (secured && !responses.includes('401')) problems.push(`${method} ${path}: protected but no 401`);
          // HTTP headers are case-insensitive: one parameter per header (a second spelling, required,
          // once made generated clients demand Last-Event-ID on the stream).
          const headers = ((op.parameters ?? []) as { in: string; name: string }[])
            .filter((p) => p.in === 'header')
            .map((p) => p.name.toLowerCase());
          if (new Set(headers).size !== headers.length)
            problems.push(`${method} ${path}: a header listed twice (${headers.join(', ')})`);
        }
      }
      expect(problems).toEqual([]);
    });
  });

  describe('errors', () => {
    it('answers an unknown route with 404 in the error shape', async () => {
      const res = await http().get('/no/such/route').expect(404);
      expectErrorShape(res.body, 404, 'not_found');
    });

    it('answers malformed JSON with 400', async () => {
      const res = await http()
        .post('/auth/register')
        .set('Content-Type', 'application/json')
        .send('{"email": ')
        .expect(400);
      expectErrorShape(res.body, 400, 'malformed_body');
    });

    it('answers a 2 MB body with 413', async () => {
      const big = JSON.stringify({ email: 'a@example.com', padding: 'x'.repeat(2 * 1024 * 1024) });
      const res = await http()
        .post('/auth/register')
        .set('Content-Type', 'application/json')
        .send(big)
        .expect(413);
      expectErrorShape(res.body, 413, 'payload_too_large');
    });

    it('answers a non-JSON body with 415', async () => {
      const res = await http()
        .post('/auth/register')
        .set('Content-Type', 'text/plain')
        .send('hello')
        .expect(415);
      expectErrorShape(res.body, 415, 'unsupported_media_type');
    });

    it('refuses NUL characters with 400 naming the field (PostgreSQL cannot store them)', async () => {
      const res = await http()
        .post('/auth/register')
        .send({
          email: uniqueEmail('nul'),
          password: 'correct horse battery staple',
          full_name: 'Nul\u0000Byte',
        })
        .expect(400);
      expectErrorShape(res.body, 400, 'validation_failed');
      expect(res.body.details).toEqual([
        { field: 'full_name', message: 'full_name must not contain NUL characters' },
      ]);
    });

    it('answers a JSON body in another charset than UTF-8 with 415 (never stored garbled)', async () => {
      const res = await http()
        .post('/auth/register')
        .set('Content-Type', 'application/json; charset=iso-8859-1')
        .serialize((bytes: Buffer) => bytes as unknown as string)
        .send(Buffer.from('{"email":"j\xe9@example.com"}', 'latin1'))
        .expect(415);
      expectErrorShape(res.body, 415, 'unsupported_media_type');
    });

    it('answers a JSON body that is not valid UTF-8 with 400 malformed_body (never stored with U+FFFD)', async () => {
      const before = await db.query('SELECT count(*)::int AS n FROM auth.credentials');
      const res = await http()
        .post('/auth/register')
        .set('Content-Type', 'application/json')
        // As the bytes are: superagent would otherwise send a Buffer as the JSON of its bytes.
        .serialize((bytes: Buffer) => bytes as unknown as string)
        .send(
          Buffer.concat([
            Buffer.from(
              '{"email":"utf8.bad@example.com","password":"correct horse battery staple","full_name":"Bad',
            ),
            Buffer.from([0xff, 0xfe]),
            Buffer.from('Name"}'),
          ]),
        )
        .expect(400);
      expectErrorShape(res.body, 400, 'malformed_body');
      expect(res.body.message).toContain('UTF-8');
      const after = await db.query('SELECT count(*)::int AS n FROM auth.credentials');
      expect(after.rows[0].n).toBe(before.rows[0].n);
    });

    it('answers a path segment longer than any id with 414 uri_too_long in the error shape', async () => {
      const res = await http()
        .get(`/accounts/${'a'.repeat(501)}`)
        .expect(414);
      expectErrorShape(res.body, 414, 'uri_too_long');
      expect(res.body.message).toContain('500 characters');
    });

    it('reads an empty body sent as JSON as an empty object', async () => {
      const res = await http()
        .post('/auth/register')
        .set('Content-Type', 'application/json')
        .send('')
        .expect(400);
      expectErrorShape(res.body, 400, 'validation_failed');
    });

    it('answers a malformed URL with 400 in the error shape, with its request id and headers', async () => {
      const res = await http().get('/auth/nope%E0%A4%A').set('X-Request-Id', 'bad-url-1').expect(400);
      expectErrorShape(res.body, 400, 'bad_request');
      // The path is what is wrong: named, as every refusal names what it refuses.
      expect(res.body.details).toEqual([{ field: 'path', message: expect.any(String) }]);
      const ff = await http().get('/accounts/%FF').expect(400);
      expect(ff.body.details).toEqual([{ field: 'path', message: expect.any(String) }]);
      expect([res.body.request_id, res.headers['x-request-id']]).toEqual(['bad-url-1', 'bad-url-1']);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
    });

    it('answers a body whose Content-Encoding does not match with 400', async () => {
      const res = await http()
        .post('/auth/register')
        .set('Content-Type', 'application/json')
        .set('Content-Encoding', 'gzip')
        .send('{"email":"not gzip"}')
        .expect(400);
      expectErrorShape(res.body, 400, 'bad_request');
    });

    it('rejects invalid and unknown fields with 400 naming each, and changes nothing', async () => {
      const before = await db.query('SELECT count(*)::int AS n FROM auth.credentials');
      const res = await http()
        .post('/auth/register')
        .send({ email: 'not-an-email', password: 'short', full_name: 'X', is_admin: true })
        .expect(400);
      expectErrorShape(res.body, 400, 'validation_failed');
      const fields = (res.body.details as { field: string }[]).map((d) => d.field);
      expect(fields).toEqual(expect.arrayContaining(['email', 'password', 'is_admin']));
      expect(fields).not.toContain('full_name');
      const after = await db.query('SELECT count(*)::int AS n FROM auth.credentials');
      expect(after.rows[0].n).toBe(before.rows[0].n);
    });
  });

  describe('request ids and headers', () => {
    it('returns the X-Request-Id it was given, in the header and in errors', async () => {
      const res = await http().get('/no/such/route').set('X-Request-Id', 'e2e-req-42').expect(404);
      expect(res.headers['x-request-id']).toBe('e2e-req-42');
      expect(res.body.request_id).toBe('e2e-req-42');
    });

    it('generates one when none (or an unsafe one) is given', async () => {
      const res = await http().get('/health/live').set('X-Request-Id', 'bad id with spaces').expect(200);
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('sets security headers', async () => {
      const res = await http().post('/auth/register').send({}).expect(400);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    });
  });

  describe('first admin', () => {
    it('is created at startup from ADMIN_EMAIL and ADMIN_PASSWORD, once', async () => {
      const email = get().t.env.ADMIN_EMAIL;
      const rows = await eventually(
        async () => {
          const r = await db.query('SELECT role, full_name FROM users.users WHERE email = $1', [email]);
          return r.rows.length ? r.rows : undefined;
        },
        15000,
        'the admin profile',
      );
      expect(rows).toEqual([{ role: 'admin', full_name: 'Administrator' }]);
      const credentials = await db.query('SELECT password_hash FROM auth.credentials WHERE email = $1', [
        email,
      ]);
      expect(credentials.rows).toHaveLength(1);
      expect(credentials.rows[0].password_hash).toMatch(/^\$argon2id\$/);
    });
  });

  describe('identity slice: contract call and outbox event across modules', () => {
    it('registers a user through the users contract, and the welcome notification arrives through the outbox', async () => {
      const email = uniqueEmail('alice');
      const res = await http()
        .post('/auth/register')
        .set('X-Request-Id', `reg-${seq}`)
        .send({ email, password: 'correct horse battery staple', full_name: 'Alice Jones' })
        .expect(201);
      expect(Object.keys(res.body).sort()).toEqual(['created_at', 'email', 'full_name', 'id', 'role']);
      expect(res.body).toMatchObject({ email, full_name: 'Alice Jones', role: 'customer' });
      const userId = res.body.id as string;

      const profile = await db.query('SELECT email, full_name FROM users.users WHERE id = $1', [userId]);
      expect(profile.rows).toEqual([{ email, full_name: 'Alice Jones' }]);
      const outbox = await db.query(
        `SELECT name, headers, payload FROM users.outbox WHERE payload->>'user_id' = $1`,
        [userId],
      );
      expect(outbox.rows).toHaveLength(1);
      expect(outbox.rows[0].name).toBe('user.registered');
      expect(outbox.rows[0].headers.request_id).toBe(`reg-${seq}`);

      const notification = await eventually(
        async () => {
          const r = await db.query(
            'SELECT title, body, source_event_id FROM notifications.notifications WHERE user_id = $1',
            [userId],
          );
          return r.rows.length ? r.rows : undefined;
        },
        15000,
        'the welcome notification',
      );
      expect(notification).toEqual([
        {
          title: 'Welcome to Protobank',
          body: 'Welcome to Protobank, Alice Jones. Confirm your e-mail address to get your notices by e-mail too; until then they are here, in the app.',
          source_event_id: outbox.rows[0].payload.event_id,
        },
      ]);
    });

    it('refuses a second registration with the same e-mail in any case with 409', async () => {
      const email = uniqueEmail('bob');
      await http()
        .post('/auth/register')
        .send({ email, password: 'correct horse battery staple', full_name: 'Bob' })
        .expect(201);
      const res = await http()
        .post('/auth/register')
        .send({ email: email.toUpperCase(), password: 'another good passphrase', full_name: 'Bob Two' })
        .expect(409);
      expectErrorShape(res.body, 409, 'email_taken');
      const users = await db.query('SELECT count(*)::int AS n FROM users.users WHERE lower(email) = $1', [
        email,
      ]);
      expect(users.rows[0].n).toBe(1);
    });

    it('lets one of several registrations of one e-mail sent at once win, with its own name and password', async () => {
      const email = uniqueEmail('race');
      const people = ['Ann Able', 'Ben Baker', 'Cat Cole', 'Dan Dale'].map((full_name, i) => ({
        email,
        full_name,
        password: `passphrase number ${i} of four`,
      }));
      const answers = await Promise.all(people.map((p) => http().post('/auth/register').send(p)));
      expect(answers.map((r) => r.status).sort()).toEqual([201, 409, 409, 409]);
      const winner = answers.findIndex((r) => r.status === 201);
      expect(answers[winner].body.full_name).toBe(people[winner].full_name);
      const logins = await Promise.all(
        people.map((p) => http().post('/auth/login').send({ email, password: p.password })),
      );
      expect(logins.map((r) => r.status)).toEqual(people.map((_, i) => (i === winner ? 200 : 401)));
      const me = await http()
        .get('/users/me')
        .set('Authorization', `Bearer ${logins[winner].body.access_token}`)
        .expect(200);
      expect(me.body.full_name).toBe(people[winner].full_name);
    });

    it('delivers a relayed-again event without a second effect (inbox)', async () => {
      const email = uniqueEmail('carol');
      const res = await http()
        .post('/auth/register')
        .send({ email, password: 'correct horse battery staple', full_name: 'Carol' })
        .expect(201);
      const userId = res.body.id as string;
      const count = async () =>
        (
          await db.query('SELECT count(*)::int AS n FROM notifications.notifications WHERE user_id = $1', [
            userId,
          ])
        ).rows[0].n as number;
      await eventually(async () => ((await count()) === 1 ? true : undefined), 15000, 'the first delivery');

      const duplicates = () => inboxDuplicates(get(), 'notifications', 'WelcomeHandler.onUserRegistered');
      const before = await duplicates();

      // Make the relay send the same event again, as after a crash between publish and mark-sent.
      // (and lift the lease the first relay left on the row, as if it had long expired)
      await db.query(
        `UPDATE users.outbox SET published_at = NULL, next_attempt_at = now() WHERE payload->>'user_id' = $1`,
        [userId],
      );
      await eventually(
        async () => ((await duplicates()) > before ? true : undefined),
        15000,
        'the redelivery to reach the consumer',
      );
      const inbox = await db.query(
        `SELECT count(*)::int AS n FROM notifications.inbox i JOIN users.outbox o ON o.id = i.event_id WHERE o.payload->>'user_id' = $1`,
        [userId],
      );
      expect(inbox.rows[0].n).toBe(1);
      expect(await count()).toBe(1);
    });
  });
}
