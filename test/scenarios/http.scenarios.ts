/**
 * The HTTP platform under hostile clients, in both topologies: bodies built to be expensive to validate,
 * odd query strings, slow clients, caching of personal data, and who may read /metrics.
 */
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import request from 'supertest';
import { bearer, firstAdmin, newCustomer, PASSWORD, type Actor } from '../support/actors';
import { balanceOf, deposit, openAccount, transfer, verifiedCustomer } from '../support/banking';
import { openStream } from '../support/event-stream';
import type { Running } from '../support/topologies';

/**
 * Short timeouts, so the slow-client tests take seconds: both topology specs start with these (the
 * edge of the split topology reads them too). Nothing else in the suites sends a request this slowly,
 * but Node counts them from the connection's accept, so an app too busy to read a connection in time
 * answers 408 too: with 2 s for the headers, CI stop 62's ledger-model storm (1,000 connections at
 * once, the split suite running beside it) got 642 of them. 4 s keeps the storm a storm.
 */
export const HTTP_TEST_ENV = { HTTP_REQUEST_TIMEOUT_MS: '5000', HTTP_HEADERS_TIMEOUT_MS: '4000' };
const REQUEST_TIMEOUT_MS = Number(HTTP_TEST_ENV.HTTP_REQUEST_TIMEOUT_MS);
const HEADERS_TIMEOUT_MS = Number(HTTP_TEST_ENV.HTTP_HEADERS_TIMEOUT_MS);
/** Node looks for late requests every quarter of the headers timeout (at most every second). */
const TIMEOUT_SLACK_MS = 2500;

/**
 * What a hostile body costs. Measured on the 2-core development machine (loaded), monolith: 80,000 keys
 * to PATCH /users/me cost 3.3-3.8 s of CPU per request and a 5.7 MB error before any cap, /health/live
 * at 6.4 s while four ran; 330,000 empty objects, under caps that counted keys only, 0.43-0.52 s per
 * route and /health/live at 0.9-1.5 s while four ran. With every value counted: 30-85 ms per request
 * (mostly receiving and parsing up to 1 MB), a 308-byte error, /health/live under 0.25 s while four ran.
 * Times are not asserted (under load they measure the machine): the tests check that each body is
 * refused by its cap (the code says which) with a small error, and print the times as figures. The caps'
 * own costs are unit-tested (json-limits.spec.ts, email.spec.ts: a long e-mail is not expanded).
 */
const ERROR_SIZE_CEILING = 4096;

/** Prints a measured figure beside the test output (a figure, never an assertion). */
const figure = (line: string) => process.stdout.write(`  [figure] ${line}\n`);

const ERROR_KEYS = ['code', 'details', 'message', 'request_id', 'status'];
const BODY_METHODS = ['post', 'put', 'patch', 'delete'];

/** The security test's body: {"k0":1,…,"k79999":1}, 869 KB, under the 1 MB body limit. */
const HOSTILE_BODY = JSON.stringify(
  Object.fromEntries(Array.from({ length: 80000 }, (_, i) => [`k${i}`, 1])),
);
/**
 * The review's body: {"a":[[{},…330],…1000]}, 969 KB, one key and three levels. It passed caps that
 * counted only keys, then cost about 0.4 s of validation per request.
 */
const EMPTY_OBJECTS_BODY = JSON.stringify({ a: Array(1000).fill(Array(330).fill({})) });
/**
 * The costliest body under the caps, of the shapes tried (wide, deep, arrays of empty objects, many
 * strings, long strings): an e-mail of 349,000 U+FDFA, which NFKC would expand eighteenfold.
 */
const LONG_EMAIL_BODY = JSON.stringify({ email: '\uFDFA'.repeat(349000), password: PASSWORD });

/**
 * Each hostile body, the code it must get, and where it is sent: every route that takes a body, or (a
 * body within the caps) every route whose body has that field (a route without a body DTO ignores one).
 */
const HOSTILE_BODIES: [name: string, body: string, code: string, field?: string][] = [
  ['80,000 keys', HOSTILE_BODY, 'body_too_complex'],
  ['330,000 empty objects', EMPTY_OBJECTS_BODY, 'body_too_complex'],
  ['a 349,000-character e-mail', LONG_EMAIL_BODY, 'validation_failed', 'email'],
];

interface Timed {
  status: number;
  ms: number;
  text: string;
  headers: Headers;
}

async function timed(url: string, init: RequestInit = {}): Promise<Timed> {
  const started = performance.now();
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, ms: performance.now() - started, text, headers: res.headers };
}

const errorShapeOf = (text: string): { keys: string[]; code?: string } => {
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    return { keys: Object.keys(body).sort(), code: body.code as string };
  } catch {
    return { keys: [] };
  }
};

interface Operation {
  method: string;
  path: string;
  /** The top-level fields of its JSON request body, as documented. */
  bodyFields: string[];
  /** Whether it documents a request body at all. */
  hasBody: boolean;
  /** The query parameters it documents. */
  queryNames: string[];
}

interface OpenApiOperation {
  requestBody?: { content?: Record<string, { schema?: { $ref?: string } }> };
  parameters?: { in: string; name: string }[];
}

/** Every operation of the API as its OpenAPI document lists it (the edge serves the merged one). */
async function operations(baseUrl: string): Promise<Operation[]> {
  const doc = await request(baseUrl).get('/docs-json').expect(200);
  const schemas = doc.body.components.schemas as Record<string, { properties?: Record<string, unknown> }>;
  const fieldsOf = (op: OpenApiOperation) => {
    const ref = op.requestBody?.content?.['application/json']?.schema?.$ref;
    return Object.keys((ref && schemas[ref.split('/').at(-1)!]?.properties) ?? {});
  };
  return Object.entries(doc.body.paths as Record<string, Record<string, OpenApiOperation>>).flatMap(
    ([path, item]) =>
      Object.entries(item).map(([method, op]) => ({
        method,
        path,
        bodyFields: fieldsOf(op),
        hasBody: op.requestBody !== undefined,
        queryNames: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
      })),
  );
}

/** The path with a fresh UUID for each parameter. */
const concrete = (path: string) => path.replace(/\{[^}]+\}/g, () => randomUUID());

/** Raw HTTP on one socket: writes `steps` ([delay ms, chunk]) and records what comes back, and when. */
function slowClient(
  baseUrl: string,
  steps: [number, string][],
  giveUpMs: number,
): Promise<{ text: string; closedAfterMs: number | undefined }> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve) => {
    const started = Date.now();
    let text = '';
    let finished = false;
    const socket = connect(Number(port), hostname);
    const finish = (closedAfterMs: number | undefined) => {
      if (finished) return;
      finished = true;
      clearTimeout(giveUp);
      socket.destroy();
      resolve({ text, closedAfterMs });
    };
    const giveUp = setTimeout(() => finish(undefined), giveUpMs);
    socket.on('connect', async () => {
      for (const [delay, chunk] of steps) {
        await new Promise((r) => setTimeout(r, delay));
        if (finished || socket.destroyed) return;
        socket.write(chunk);
      }
    });
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.on('close', () => finish(Date.now() - started));
    socket.on('error', () => undefined);
  });
}

export function httpScenarios(get: () => Running) {
  let customer: Actor;
  let admin: Actor;
  const base = () => get().baseUrl;
  const tokenFor = (path: string) => (path.startsWith('/admin') ? admin.token : customer.token);

  beforeAll(async () => {
    admin = await firstAdmin(get());
    customer = await newCustomer(get(), 'http');
  });

  describe('hostile bodies', () => {
    it('refuses each hostile body on every route that takes one by its cap: a small 4xx in the error shape (times printed)', async () => {
      const routes = (await operations(base())).filter((o) => BODY_METHODS.includes(o.method));
      // The routes the security test measured are among them.
      expect(routes).toEqual(
        expect.arrayContaining(
          [
            ['post', '/auth/login'],
            ['post', '/auth/register'],
            ['post', '/auth/refresh'],
            ['post', '/transactions'],
            ['patch', '/users/me'],
            ['put', '/notifications/preferences'],
          ].map(([method, path]) => expect.objectContaining({ method, path })),
        ),
      );
      const problems: Record<string, unknown>[] = [];
      const slowest = { ms: 0, at: '' };
      for (const [name, body, code, field] of HOSTILE_BODIES) {
        const targets = routes.filter((r) => field === undefined || r.bodyFields.includes(field));
        expect(targets.length).toBeGreaterThan(field === undefined ? 10 : 1);
        for (const { method, path } of targets) {
          const res = await timed(`${base()}${concrete(path)}`, {
            method: method.toUpperCase(),
            headers: {
              'content-type': 'application/json',
              'idempotency-key': randomUUID(),
              ...bearer(tokenFor(path)),
            },
            body,
          });
          const shape = errorShapeOf(res.text);
          const ok =
            res.status >= 400 &&
            res.status < 500 &&
            shape.code === code &&
            shape.keys.join() === ERROR_KEYS.join() &&
            res.text.length < ERROR_SIZE_CEILING;
          if (res.ms > slowest.ms) Object.assign(slowest, { ms: res.ms, at: `${name} to ${method} ${path}` });
          if (!ok) {
            problems.push({
              body: name,
              route: `${method.toUpperCase()} ${path}`,
              status: res.status,
              code: shape.code,
              bytes: res.text.length,
            });
          }
        }
      }
      figure(`${get().kind}: slowest hostile-body refusal ${Math.round(slowest.ms)} ms (${slowest.at})`);
      expect(problems).toEqual([]);
      // Refused before any handler ran: the customer's session (logout, DELETE /auth/sessions) lives on.
      await request(base()).get('/users/me').set(bearer(customer.token)).expect(200);
    });

    it.each([
      ['PATCH', '/users/me', 'users', HOSTILE_BODY, 'body_too_complex'],
      ['PATCH', '/users/me', 'users', EMPTY_OBJECTS_BODY, 'body_too_complex'],
      ['POST', '/auth/login', 'auth', LONG_EMAIL_BODY, 'validation_failed'],
    ])(
      'answers /health/live throughout four hostile bodies refused at once (%s %s, %#; its slowest answer printed)',
      async (method, path, service, body, code) => {
        // The app that does the work in split mode (the edge answers its own liveness).
        const liveUrl = `${get().services[service] ?? base()}/health/live`;
        let done = false;
        const live: Timed[] = [];
        const poll = (async () => {
          while (!done) {
            live.push(await timed(liveUrl));
            await new Promise((r) => setTimeout(r, 10));
          }
        })();
        const results = await Promise.all(
          Array.from({ length: 4 }, () =>
            timed(`${base()}${path}`, {
              method,
              headers: { 'content-type': 'application/json', ...bearer(customer.token) },
              body,
            }),
          ),
        );
        done = true;
        await poll;
        expect(results.map((r) => [r.status, errorShapeOf(r.text).code])).toEqual(Array(4).fill([400, code]));
        expect(live.length).toBeGreaterThan(0);
        expect(live.filter((r) => r.status !== 200)).toEqual([]);
        figure(
          `${get().kind}: /health/live at most ${Math.round(Math.max(...live.map((r) => r.ms)))} ms ` +
            `over ${live.length} answers while four ${code} bodies went to ${method} ${path}`,
        );
      },
    );

    it('says which cap a body went past: values in all, or depth', async () => {
      const send = (body: string) =>
        request(base())
          .patch('/users/me')
          .set(bearer(customer.token))
          .set('Content-Type', 'application/json')
          .send(body);
      const tooMany = 'Request body too complex: more than 256 values in all (keys and array elements)';
      const keys = await send(HOSTILE_BODY).expect(400);
      expect(keys.body).toMatchObject({
        code: 'body_too_complex',
        message: tooMany,
        details: [{ field: 'body' }],
      });
      // Array elements count like keys, empty objects included, wherever they are.
      const empties = await send(EMPTY_OBJECTS_BODY).expect(400);
      expect(empties.body).toMatchObject({ code: 'body_too_complex', message: tooMany });
      const spread = { a: Array(128).fill([]), address: { line1: 'x', b: Array(124).fill({}) } };
      await send(JSON.stringify(spread)).expect(400, /property a should not exist/);
      spread.address.b.push({});
      expect((await send(JSON.stringify(spread)).expect(400)).body.message).toBe(tooMany);
      // The 100,000 nested arrays (a RangeError and a 500 before the depth cap).
      const deep = await send('['.repeat(100000) + ']'.repeat(100000)).expect(400);
      expect(deep.body.code).toBe('body_too_complex');
      expect(deep.body.message).toMatch(/^Request body too complex: nested more than 10 levels deep/);
      const long = await send(JSON.stringify({ full_name: Array(5000).fill('a') })).expect(400);
      expect(long.body).toMatchObject({ code: 'body_too_complex', message: tooMany });
    });

    it('still takes the largest real body (every notification preference at once)', async () => {
      const all = { in_app: true, email: true, sms: false, push: false };
      await request(base())
        .put('/notifications/preferences')
        .set(bearer(customer.token))
        .send({ transactions: all, security: all, account: all, marketing: { ...all, email: false } })
        .expect(200);
    });

    it('refuses an unpaired surrogate in any string, naming the field, and changes nothing', async () => {
      // JSON can spell a lone UTF-16 surrogate ("\ud800"): it reached PostgreSQL's jsonb (500s on
      // reasons, references and addresses), the e-mail validator (500) and text columns (stored as U+FFFD).
      const lone = 'a\ud800b';
      const payer = await verifiedCustomer(get(), admin, 'lone');
      const payee = await verifiedCustomer(get(), admin, 'lone-payee');
      const [from, to] = [await openAccount(get(), payer), await openAccount(get(), payee)];
      await deposit(get(), admin, from, 1000);
      const key = () => ({ 'Idempotency-Key': randomUUID() });
      const refusals: [string, Promise<request.Response>][] = [
        [
          'email',
          request(base())
            .post('/auth/register')
            .send({ email: `${lone}@example.com`, password: PASSWORD, full_name: 'Lone' }),
        ],
        [
          'email',
          request(base())
            .post('/auth/login')
            .send({ email: `${lone}@example.com`, password: PASSWORD }),
        ],
        [
          'address.city',
          request(base())
            .patch('/users/me')
            .set(bearer(payer.token))
            .send({ address: { line1: '1 High Street', city: lone, postcode: 'SW1A 1AA', country: 'GB' } }),
        ],
        [
          'reference',
          transfer(get(), payer, {
            from_account_id: from.id,
            to_account_id: to.id,
            amount: 1,
            currency: 'GBP',
            reference: lone,
          }),
        ],
        [
          'reference',
          request(base())
            .post('/admin/deposits')
            .set(bearer(admin.token))
            .set(key())
            .send({ account_id: to.id, amount: 1, currency: 'GBP', reason: 'Test: cash', reference: lone }),
        ],
        [
          'reason',
          request(base())
            .post('/admin/deposits')
            .set(bearer(admin.token))
            .set(key())
            .send({ account_id: to.id, amount: 1, currency: 'GBP', reason: lone }),
        ],
        [
          'reason',
          request(base())
            .patch(`/admin/accounts/${to.id}`)
            .set(bearer(admin.token))
            .send({ overdraft_limit: 5000, reason: lone }),
        ],
        [
          'reason',
          request(base())
            .post(`/admin/accounts/${to.id}/freeze`)
            .set(bearer(admin.token))
            .send({ reason: lone }),
        ],
      ];
      for (const [field, pending] of refusals) {
        const res = await pending;
        expect([res.status, res.body.code, res.body.details]).toEqual([
          400,
          'validation_failed',
          [{ field, message: `${field} must be well-formed Unicode (it holds an unpaired surrogate)` }],
        ]);
      }
      expect([await balanceOf(get(), payer, from), await balanceOf(get(), payee, to)]).toEqual([1000, 0]);
      const account = await request(base()).get(`/accounts/${to.id}`).set(bearer(payee.token)).expect(200);
      expect(account.body).toMatchObject({ status: 'active', overdraft_limit: 0 });
      const me = await request(base()).get('/users/me').set(bearer(payer.token)).expect(200);
      expect(me.body.address).toBeNull();
    });

    it('refuses a number written with a fraction (JSON.parse would round it) or a key given twice, naming the field, and moves nothing', async () => {
      const payer = await verifiedCustomer(get(), admin, 'lexical');
      const payee = await verifiedCustomer(get(), admin, 'lexical-payee');
      const [from, to] = [await openAccount(get(), payer), await openAccount(get(), payee)];
      await deposit(get(), admin, from, 1000);
      const head = `{"from_account_id":"${from.id}","to_account_id":"${to.id}","currency":"GBP",`;
      for (const [raw, message, field = 'amount'] of [
        // 0.99999999999999999 parses as exactly 1: it posted a penny.
        [
          `${head}"amount":0.99999999999999999}`,
          'amount is a number written with a fraction or an exponent: every number this API takes is whole (money in minor units)',
        ],
        [
          `${head}"amount":100.0000000000000001}`,
          'amount is a number written with a fraction or an exponent: every number this API takes is whole (money in minor units)',
        ],
        [
          `${head}"amount":1e2}`,
          'amount is a number written with a fraction or an exponent: every number this API takes is whole (money in minor units)',
        ],
        // Said of what was sent, not of what the field is: a fraction in a text field is no "whole number" ask.
        [
          `${head}"amount":100,"reference":1.5}`,
          'reference is a number written with a fraction or an exponent: every number this API takes is whole (money in minor units)',
          'reference',
        ],
        // A proxy reading the first "amount" would have seen 1; JSON.parse keeps the last.
        [`${head}"amount":1,"amount":900}`, 'property amount is given more than once'],
      ]) {
        const res = await request(base())
          .post('/transactions')
          .set(bearer(payer.token))
          .set('Idempotency-Key', randomUUID())
          .set('Content-Type', 'application/json')
          .send(raw);
        expect([raw, res.status, res.body.code, res.body.details]).toEqual([
          raw,
          400,
          'validation_failed',
          [{ field, message }],
        ]);
      }
      expect([await balanceOf(get(), payer, from), await balanceOf(get(), payee, to)]).toEqual([1000, 0]);
    });

    it('refuses a body that is JSON but not an object (null, an array, a number)', async () => {
      for (const body of ['null', '[]', '[{"phone":"+447700900123"}]', '42', '"text"']) {
        const res = await request(base())
          .patch('/users/me')
          .set(bearer(customer.token))
          .set('Content-Type', 'application/json')
          .send(body)
          .expect(400);
        expect(res.body).toMatchObject({
          code: 'validation_failed',
          details: [{ field: 'body', message: 'the body must be a JSON object' }],
        });
      }
      // An empty body is still an empty object (clients send Content-Type on bodyless requests): here, as
      // `{}` is, a change of nothing.
      const empty = await request(base())
        .patch('/users/me')
        .set(bearer(customer.token))
        .set('Content-Type', 'application/json')
        .send('')
        .expect(400);
      expect(empty.body.details).toEqual([
        { field: 'body', message: 'give at least one of full_name, date_of_birth, phone, address' },
      ]);
    });

    it.each([
      ['{"__proto__":{"role":"admin"}}', '__proto__'],
      ['{"profile":{"__proto__":{"role":"admin"}}}', 'profile.__proto__'],
      ['{"constructor":{"prototype":{"role":"admin"}}}', 'constructor'],
      ['{"prototype":{"role":"admin"}}', 'prototype'],
    ])('refuses the reserved key of %s with 400 naming it, and registers nobody', async (json, field) => {
      const email = `reserved.${randomUUID()}@example.com`;
      const body = `${json.slice(0, -1)},"email":"${email}","password":"${PASSWORD}","full_name":"Res Erved"}`;
      const res = await request(base())
        .post('/auth/register')
        .set('Content-Type', 'application/json')
        .send(body)
        .expect(400);
      expect(res.body).toMatchObject({ code: 'validation_failed', details: [{ field }] });
      await request(base()).post('/auth/login').send({ email, password: PASSWORD }).expect(401);
    });

    it.each(['Authorization', 'Content-Type'])(
      'refuses a request that gives %s twice (readers would disagree on which counts)',
      async (header) => {
        const url = new URL('/users/me', base());
        const values =
          header === 'Authorization'
            ? [`Bearer ${customer.token}`, 'Bearer forged']
            : ['application/json', 'text/plain'];
        const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
          // Raw headers: supertest (and Node's client) would merge or refuse a repeated header.
          const socket = connect(Number(url.port), url.hostname, () => {
            const lines = [
              `PATCH ${url.pathname} HTTP/1.1`,
              `Host: ${url.host}`,
              ...(header === 'Authorization' ? [] : [`Authorization: Bearer ${customer.token}`]),
              ...values.map((v) => `${header}: ${v}`),
              'Content-Length: 2',
              'Connection: close',
              '',
              '{}',
            ];
            socket.write(lines.join('\r\n'));
          });
          let raw = '';
          socket.on('data', (d) => (raw += d.toString()));
          socket.on('end', () => {
            const [head, ...rest] = raw.split('\r\n\r\n');
            const body = rest.join('\r\n\r\n');
            // The JSON object, whether sent with a length or in chunks.
            resolve({
              status: Number(head.split(' ')[1]),
              body: body.slice(body.indexOf('{'), body.lastIndexOf('}') + 1),
            });
          });
          socket.on('error', reject);
        });
        expect(res.status).toBe(400);
        expect(JSON.parse(res.body)).toMatchObject({
          code: 'bad_request',
          message: `The ${header} header is given twice`,
        });
      },
    );

    it('lists at most ten offending fields and counts the rest', async () => {
      const body: Record<string, unknown> = { email: 'not-an-email', password: PASSWORD, full_name: 'Ten' };
      for (let i = 0; i < 200; i++) body[`extra_${i}`] = i;
      const res = await request(base()).post('/auth/register').send(body).expect(400);
      expect(Object.keys(res.body).sort()).toEqual(ERROR_KEYS);
      expect(res.body.code).toBe('validation_failed');
      // The declared field that failed comes first, then unknown ones, then the count.
      expect(res.body.details[0]).toMatchObject({ field: 'email' });
      expect(res.body.details).toHaveLength(11);
      expect(res.body.details.at(-1)).toEqual({ message: '191 more fields not listed' });
      expect(res.body.message).toMatch(/^Invalid request: email, extra_0, .* and 191 more$/);
    });
  });

  describe('query strings', () => {
    it.each(['__proto__=x', 'constructor=x', 'prototype=x', 'toString=1', 'hasOwnProperty=1'])(
      'refuses ?%s like any unknown parameter',
      async (query) => {
        const res = await request(base())
          .get(`/notifications?${query}`)
          .set(bearer(customer.token))
          .expect(400);
        const field = query.split('=')[0];
        expect(res.body).toMatchObject({
          code: 'validation_failed',
          details: [{ field, message: `property ${field} should not exist` }],
        });
      },
    );

    it('refuses a body on every route that takes none, and a query parameter on every route that documents none, naming it', async () => {
      const ops = await operations(base());
      const send = (o: Operation, query = '') => {
        const req = request(base())
          [o.method as 'post'](`${concrete(o.path)}${query}`)
          .set(bearer(tokenFor(o.path)));
        return o.method === 'get' ? req : req.send({ unexpected: 1 });
      };
      const answer = (o: Operation, res: request.Response) =>
        `${o.method} ${o.path}: ${res.status} ${res.body.code} ${res.body.details?.[0]?.field}`;
      const bodyless = ops.filter((o) => BODY_METHODS.includes(o.method) && !o.hasBody);
      // (/metrics answers only its scraper's token, and never through the edge: see below. The health
      // routes of the split topology are the edge's own, which reads no query.)
      const queryless = ops.filter(
        (o) =>
          o.method === 'get' &&
          o.queryNames.length === 0 &&
          o.path !== '/metrics' &&
          !(get().services.auth && o.path.startsWith('/health')),
      );
      // Among them, routes that answered 2xx to both before (freeze, logout; the account list, /users/me).
      expect(bodyless.map((o) => o.path)).toEqual(
        expect.arrayContaining(['/cards/{id}/freeze', '/auth/logout']),
      );
      expect(queryless.map((o) => o.path)).toEqual(expect.arrayContaining(['/accounts', '/users/me']));
      const seen: string[] = [];
      for (const o of bodyless) seen.push(answer(o, await send(o)));
      for (const o of queryless) seen.push(answer(o, await send(o, '?unexpected=1')));
      expect(seen).toEqual(
        [...bodyless, ...queryless].map((o) => `${o.method} ${o.path}: 400 validation_failed unexpected`),
      );
      // A route's own query parameters still pass (the stream's documented access_token, read by the
      // auth guard, is opened with in the notifications scenarios).
      const listed = await request(base())
        .get('/notifications?limit=1')
        .set(bearer(customer.token))
        .expect(200);
      expect(listed.body.data).toEqual(expect.any(Array));
    });

    it('refuses more than 100 parameters with 400 query_too_complex', async () => {
      const query = Array.from({ length: 101 }, (_, i) => `p${i}=1`).join('&');
      const res = await request(base())
        .get(`/notifications?${query}`)
        .set(bearer(customer.token))
        .expect(400);
      expect(Object.keys(res.body).sort()).toEqual(ERROR_KEYS);
      expect(res.body).toMatchObject({
        code: 'query_too_complex',
        message: 'Query string too complex: more than 100 values in all (keys and array elements)',
      });
    });
  });

  describe('unknown ids', () => {
    it('answers a read or delete of an id that does not exist with 404 naming the path parameter', async () => {
      const problems: Record<string, unknown>[] = [];
      let answered404 = 0;
      const byId = (await operations(base())).filter(
        (o) => (o.method === 'get' || o.method === 'delete') && /\{[^}]+\}/.test(o.path),
      );
      for (const { method, path } of byId) {
        const res = await timed(`${base()}${concrete(path)}`, {
          method: method.toUpperCase(),
          headers: bearer(tokenFor(path)),
        });
        if (res.status !== 404) continue;
        answered404++;
        const body = JSON.parse(res.text) as { details: { field?: string }[] };
        const params = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
        if (!params.includes(body.details[0]?.field ?? ''))
          problems.push({ route: `${method.toUpperCase()} ${path}`, details: body.details });
      }
      expect(answered404).toBeGreaterThan(12);
      expect(problems).toEqual([]);
    });
  });

  describe('methods a path does not take', () => {
    const ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
    // supertest, since fetch refuses to send TRACE.
    const send = (method: string, path: string) =>
      (request(base()) as unknown as Record<string, (url: string) => request.Test>)[method.toLowerCase()](
        path,
      );

    it('answers them with 405 in the error shape and an Allow header listing exactly what the document lists for the path', async () => {
      const documented = new Map<string, string[]>();
      for (const { method, path } of await operations(base()))
        documented.set(path, [...(documented.get(path) ?? []), method.toUpperCase()]);
      expect(documented.size).toBeGreaterThan(50);
      const problems: Record<string, unknown>[] = [];
      const template = (path: string) => new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`);
      for (const path of documented.keys()) {
        const url = concrete(path);
        // Every documented route this URL reaches: /notifications/read-all is also /notifications/{id}.
        const methods = [...documented].flatMap(([other, m]) => (template(other).test(url) ? m : []));
        const allow = ORDER.filter((m) => methods.includes(m) || (m === 'HEAD' && methods.includes('GET')));
        // TRACE, which no route takes, and one everyday method this path lacks (a PUT for a PATCH).
        const probes = ['TRACE', ...ORDER.filter((m) => !allow.includes(m)).slice(0, 1)];
        for (const method of probes) {
          const res = await send(method, url);
          const body = errorShapeOf(res.text);
          const field = res.status === 405 ? JSON.parse(res.text).details[0]?.field : undefined;
          const got = { status: res.status, allow: res.headers.allow, code: body.code, field };
          const want = { status: 405, allow: allow.join(', '), code: 'method_not_allowed', field: 'method' };
          if (JSON.stringify(got) !== JSON.stringify(want) || body.keys.join() !== ERROR_KEYS.join())
            problems.push({ request: `${method} ${path}`, ...got });
        }
      }
      expect(problems).toEqual([]);
      // A path no route takes is still 404, whatever the method.
      const unknown = await send('TRACE', '/no/such/route');
      expect({ status: unknown.status, code: errorShapeOf(unknown.text).code }).toEqual({
        status: 404,
        code: 'not_found',
      });
    });
  });

  describe('caching', () => {
    it('marks every response no-store, errors included, but the JWKS keeps its max-age', async () => {
      const problems: Record<string, unknown>[] = [];
      const gets = (await operations(base())).filter(
        (o) => o.method === 'get' && o.path !== '/notifications/stream',
      );
      expect(gets.length).toBeGreaterThan(20);
      for (const { path } of gets) {
        const res = await timed(`${base()}${concrete(path)}`, { headers: bearer(tokenFor(path)) });
        const expected = path === '/auth/.well-known/jwks.json' ? 'public, max-age=300' : 'no-store';
        const got = res.headers.get('cache-control');
        if (got !== expected) problems.push({ path, status: res.status, 'cache-control': got });
      }
      // Errors: no token, an unknown route, an unknown method on the JWKS, a bad body.
      for (const [method, path, body] of [
        ['GET', '/users/me'],
        ['GET', '/no/such/route'],
        ['POST', '/auth/.well-known/jwks.json'],
        ['POST', '/auth/login', '{"email":1}'],
      ]) {
        const res = await timed(`${base()}${path}`, {
          method,
          headers: { 'content-type': 'application/json' },
          body,
        });
        const got = res.headers.get('cache-control');
        if (res.status < 400 || got !== 'no-store')
          problems.push({ path: `${method} ${path}`, status: res.status, 'cache-control': got });
      }
      expect(problems).toEqual([]);
    });

    it('marks the responses that carry tokens no-store (register, login, refresh)', async () => {
      const email = `cache.${Date.now()}@example.com`;
      const reg = await request(base())
        .post('/auth/register')
        .send({ email, password: PASSWORD, full_name: 'Cache Check' })
        .expect(201);
      const login = await request(base()).post('/auth/login').send({ email, password: PASSWORD }).expect(200);
      const refresh = await request(base())
        .post('/auth/refresh')
        .send({ refresh_token: login.body.refresh_token })
        .expect(200);
      expect(refresh.body.access_token).toEqual(expect.any(String));
      for (const res of [reg, login, refresh]) expect(res.headers['cache-control']).toBe('no-store');
    });

    it('keeps CSV answers no-store and varying by Accept, and the live stream no-store', async () => {
      const csv = await request(base())
        .get('/analytics/reports/monthly')
        .set(bearer(customer.token))
        .set('Accept', 'text/csv')
        .expect(200);
      expect(csv.headers['content-type']).toContain('text/csv');
      expect(csv.headers['cache-control']).toBe('no-store');
      expect(csv.headers.vary).toContain('Accept');
      const stream = await openStream(`${base()}/notifications/stream`, bearer(customer.token));
      stream.close();
      expect(stream.status).toBe(200);
      expect(stream.headers['cache-control']).toContain('no-store');
    });
  });

  describe('protocol refusals Node would answer itself', () => {
    const answer = (text: string) => ({
      head: text.slice(0, text.indexOf('\r\n\r\n')).toLowerCase(),
      body: JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>,
    });

    it('answers an HTTP/1.1 request without Host with 400 in the one error shape, naming Host', async () => {
      const res = await slowClient(
        base(),
        [[0, 'GET /health/live HTTP/1.1\r\nX-Request-Id: no-host-1\r\nConnection: close\r\n\r\n']],
        5000,
      );
      expect(res.text).toMatch(/^HTTP\/1\.1 400 /);
      const { head, body } = answer(res.text);
      expect(Object.keys(body).sort()).toEqual(ERROR_KEYS);
      expect(body).toMatchObject({
        status: 400,
        code: 'validation_failed',
        details: [{ field: 'Host' }],
        request_id: 'no-host-1',
      });
      expect(head).toContain('x-request-id: no-host-1');
      // HTTP/1.0 has no Host: still served.
      const old = await slowClient(base(), [[0, 'GET /health/live HTTP/1.0\r\n\r\n']], 5000);
      expect(old.text).toMatch(/^HTTP\/1\.[01] 200 /);
    });

    it('answers an Expect other than 100-continue with 417 in the one error shape, naming Expect', async () => {
      const body = JSON.stringify({ email: customer.email, password: PASSWORD });
      const res = await slowClient(
        base(),
        [
          [
            0,
            `POST /auth/login HTTP/1.1\r\nHost: bank\r\nContent-Type: application/json\r\n` +
              `Content-Length: ${Buffer.byteLength(body)}\r\nExpect: teapot\r\nX-Request-Id: expect-1\r\n` +
              `Connection: close\r\n\r\n${body}`,
          ],
        ],
        5000,
      );
      expect(res.text).toMatch(/^HTTP\/1\.1 417 /);
      const answered = answer(res.text);
      expect(Object.keys(answered.body).sort()).toEqual(ERROR_KEYS);
      expect(answered.head).toContain('x-request-id: expect-1');
      expect(answered.body).toMatchObject({
        status: 417,
        code: 'expectation_failed',
        details: [{ field: 'Expect' }],
        request_id: 'expect-1',
      });
    });
  });

  describe('slow clients', () => {
    const LOGIN_HEAD = (length: number, requestId: string) =>
      `POST /auth/login HTTP/1.1\r\nHost: bank\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${length}\r\nX-Request-Id: ${requestId}\r\nConnection: close\r\n\r\n`;

    it('answers a body trickled byte by byte with 408 once the request timeout is up', async () => {
      // Headers at once, then one byte every 500 ms: never idle, never complete.
      const trickle = Array.from({ length: 40 }, () => [500, ' '] as [number, string]);
      const res = await slowClient(
        base(),
        [[0, LOGIN_HEAD(200, 'trickle-1')], ...trickle],
        REQUEST_TIMEOUT_MS + TIMEOUT_SLACK_MS + 3000,
      );
      expect(res.closedAfterMs).toBeDefined();
      expect(res.closedAfterMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 100);
      expect(res.closedAfterMs).toBeLessThan(REQUEST_TIMEOUT_MS + TIMEOUT_SLACK_MS);
      expect(res.text).toMatch(/^HTTP\/1\.1 408 /);
      expect(res.text.toLowerCase()).toContain('cache-control: no-store');
      const body = JSON.parse(res.text.slice(res.text.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
      expect(Object.keys(body).sort()).toEqual(ERROR_KEYS);
      expect(body).toMatchObject({ status: 408, code: 'request_timeout', request_id: 'trickle-1' });
    });

    it('answers headers trickled line by line with 408 once the headers timeout is up', async () => {
      const lines = Array.from({ length: 40 }, (_, i) => [400, `X-Slow-${i}: 1\r\n`] as [number, string]);
      const res = await slowClient(
        base(),
        [[0, 'GET /health/live HTTP/1.1\r\nHost: bank\r\n'], ...lines],
        HEADERS_TIMEOUT_MS + TIMEOUT_SLACK_MS + 3000,
      );
      expect(res.closedAfterMs).toBeDefined();
      expect(res.closedAfterMs).toBeLessThan(HEADERS_TIMEOUT_MS + TIMEOUT_SLACK_MS);
      expect(res.text).toMatch(/^HTTP\/1\.1 408 /);
      expect(res.text).toContain('"code":"request_timeout"');
    });

    it('still serves a slow request that completes within the timeout', async () => {
      const body = JSON.stringify({ email: customer.email, password: PASSWORD });
      const half = Math.floor(body.length / 2);
      const res = await slowClient(
        base(),
        [
          [0, LOGIN_HEAD(Buffer.byteLength(body), 'slow-ok-1')],
          [600, body.slice(0, half)],
          [600, body.slice(half)],
        ],
        REQUEST_TIMEOUT_MS + 5000,
      );
      expect(res.text).toMatch(/^HTTP\/1\.1 200 /);
      expect(res.text).toContain('"access_token"');
    });

    it('keeps the live stream open longer than the request timeout', async () => {
      const stream = await openStream(`${base()}/notifications/stream`, bearer(customer.token));
      try {
        expect(stream.status).toBe(200);
        await new Promise((r) => setTimeout(r, REQUEST_TIMEOUT_MS + TIMEOUT_SLACK_MS));
        expect(stream.ended).toBe(false);
      } finally {
        stream.close();
      }
    });
  });

  describe('/metrics', () => {
    const token = () => get().t.env.METRICS_TOKEN;

    it('answers each app only with the metrics token, in the error shape otherwise', async () => {
      // Each app on its own port: the monolith's is the base URL, the split services' their own.
      const apps = get().kind === 'split' ? Object.values(get().services) : [base()];
      for (const url of apps) {
        const none = await request(url).get('/metrics').expect(401);
        expect(Object.keys(none.body).sort()).toEqual(ERROR_KEYS);
        expect(none.body.code).toBe('unauthorized');
        expect(none.headers['www-authenticate']).toBe('Bearer realm="metrics"');
        await request(url).get('/metrics').set('Authorization', `Bearer ${token()}x`).expect(401);
        // An access token is not the metrics token.
        await request(url).get('/metrics').set(bearer(customer.token)).expect(401);
        const ok = await request(url).get('/metrics').set('Authorization', `Bearer ${token()}`).expect(200);
        expect(ok.text).toContain('http_request_duration_seconds');
        await request(url).get('/metrics').set('Authorization', `bearer ${token()}`).expect(200);
        // The token is checked first: without it an undocumented query parameter is still 401, with it 400.
        await request(url).get('/metrics?debug=1').expect(401);
        const queried = await request(url)
          .get('/metrics?debug=1')
          .set('Authorization', `Bearer ${token()}`)
          .expect(400);
        expect(queried.body.details).toEqual([
          { field: 'debug', message: 'property debug should not exist' },
        ]);
      }
    });
  });
}
