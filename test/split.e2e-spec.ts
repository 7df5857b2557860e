import amqp from 'amqplib';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import request from 'supertest';
import { join } from 'node:path';
import { SERVICES, serviceForPath } from '@protobank/platform';
import { adminScenarios } from './scenarios/admin.scenarios';
import { authScenarios } from './scenarios/auth.scenarios';
import { foundationScenarios } from './scenarios/foundation.scenarios';
import { usersScenarios } from './scenarios/users.scenarios';
import { accountsScenarios } from './scenarios/accounts.scenarios';
import { ledgerScenarios } from './scenarios/ledger.scenarios';
import { ledgerRaceScenarios } from './scenarios/ledger-races.scenarios';
import { ledgerModelScenarios } from './scenarios/ledger-model.scenarios';
import { analyticsScenarios } from './scenarios/analytics.scenarios';
import { notificationsScenarios } from './scenarios/notifications.scenarios';
import { emailVerificationScenarios } from './scenarios/email-verification.scenarios';
import { passwordResetScenarios } from './scenarios/password-reset.scenarios';
import { HTTP_TEST_ENV, httpScenarios } from './scenarios/http.scenarios';
import { identityScenarios } from './scenarios/identity.scenarios';
import { staffScenarios } from './scenarios/staff.scenarios';
import { PAYMENTS_TEST_ENV, paymentsScenarios } from './scenarios/payments.scenarios';
import { cardsScenarios } from './scenarios/cards.scenarios';
import { cardNetworkScenarios } from './scenarios/card-network.scenarios';
import { operationsMetricsScenarios } from './scenarios/operations-metrics.scenarios';
import { openApiConformanceScenarios } from './scenarios/openapi.scenarios';
import { startReceivers, type Receivers } from './support/receivers';
import { processes, type AppProcess } from './support/processes';
import { eventually } from './support/test-env';
import { bearer, firstAdmin, newCustomer } from './support/actors';
import { openStream } from './support/event-stream';
import { verifyEmail } from './support/email';
import { deposit, openAccount, promote, transfer, verifiedCustomer } from './support/banking';
import { startNginxEdge, type NginxEdge } from './support/nginx-edge';
import { startTopology, type Running } from './support/topologies';

const PLATFORM_PATHS = /^\/(health|docs|metrics)(\/|$)/;

describe('split (eight service processes over RabbitMQ, behind the edge)', () => {
  let running: Running;
  let receivers: Receivers;
  beforeAll(async () => {
    receivers = await startReceivers();
    running = await startTopology('split', { ...receivers.env, ...HTTP_TEST_ENV, ...PAYMENTS_TEST_ENV });
  });
  afterAll(async () => {
    await running?.stop();
    await receivers?.stop();
  });

  foundationScenarios(() => running);
  authScenarios(() => running);
  adminScenarios(() => running);
  usersScenarios(() => running);
  accountsScenarios(() => running);
  ledgerScenarios(() => running);
  ledgerRaceScenarios(() => running);
  ledgerModelScenarios(() => running);
  staffScenarios(() => running);
  analyticsScenarios(() => running);
  notificationsScenarios(
    () => running,
    () => receivers,
  );
  emailVerificationScenarios(
    () => running,
    () => receivers,
  );
  passwordResetScenarios(
    () => running,
    () => receivers,
  );
  httpScenarios(() => running);
  identityScenarios(() => running);
  paymentsScenarios(() => running);
  cardsScenarios(() => running);
  cardNetworkScenarios(() => running);
  operationsMetricsScenarios(() => running);

  it('never routes /metrics through the edge (each service is scraped on its own port)', async () => {
    for (const headers of [{}, { Authorization: `Bearer ${running.t.env.METRICS_TOKEN}` }]) {
      const res = await request(running.baseUrl).get('/metrics').set(headers).expect(404);
      expect(res.body.code).toBe('not_found');
    }
  });

  it('brings every service to ready, each with its RabbitMQ connection', async () => {
    for (const [service, url] of Object.entries(running.services)) {
      const res = await request(url).get('/health/ready');
      expect({ service, status: res.status }).toEqual({ service, status: 200 });
      expect(res.body.details.rabbitmq).toEqual({ status: 'up' });
    }
  });

  describe('nginx, the compose edge (docker/nginx/nginx.conf and its njs module)', () => {
    let nginx: NginxEdge;
    beforeAll(async () => {
      nginx = await startNginxEdge(running.services, join(running.t.logDir, 'nginx.log'));
    });
    afterAll(async () => {
      await nginx?.stop();
    });

    it('answers /health/ready over every service, as the local edge does, and replaces a request id shaped like a card number', async () => {
      const local = await request(running.baseUrl).get('/health/ready').expect(200);
      for (const path of ['/health/ready', '/health']) {
        const res = await nginx.request().get(path).set('X-Request-Id', 'nginx-ready-1').expect(200);
        expect(res.body).toEqual(local.body);
        expect(res.headers['x-request-id']).toBe('nginx-ready-1');
      }
      expect(Object.keys(local.body.services as object).sort()).toEqual(Object.keys(running.services).sort());
      // An id shaped like a card number is replaced, not echoed nor written to the access log.
      const given: string[] = [];
      for (const id of ['pan-5355221234567891', '5355-2212-3456-7891']) {
        const res = await nginx.request().get('/health/live').set('X-Request-Id', id).expect(200);
        expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/);
        given.push(res.headers['x-request-id'] as string);
      }
      const log = await eventually(
        async () => {
          const text = readFileSync(nginx.accessLog, 'utf8');
          return given.every((id) => text.includes(id)) ? text : undefined;
        },
        5000,
        'both requests in the access log',
      );
      expect(log).not.toMatch(/5355.?2212.?3456.?7891/);
    });

    it('answers 503 in the error shape naming a service that does not answer', async () => {
      const port = await processes.freePort(); // nothing listens there
      const broken = await startNginxEdge(
        { ...running.services, analytics: `http://127.0.0.1:${port}` },
        join(running.t.logDir, 'nginx-broken.log'),
      );
      try {
        const res = await broken
          .request()
          .get('/health/ready')
          .set('X-Request-Id', 'nginx-ready-2')
          .expect(503);
        expect(res.body).toMatchObject({
          status: 503,
          code: 'not_ready',
          message: 'not ready: analytics',
          request_id: 'nginx-ready-2',
        });
        expect(res.body.details).toEqual([{ field: 'analytics', message: expect.any(String) }]);
      } finally {
        await broken.stop();
      }
    });

    it("shows every service's routes at /docs, as the local edge's merged document does", async () => {
      const local = await request(running.baseUrl).get('/docs-json').expect(200);
      const res = await nginx.request().get('/docs-json').expect(200);
      expect(res.body).toEqual(local.body);
      const owners = new Set(
        Object.keys(res.body.paths as object)
          .filter((p) => !PLATFORM_PATHS.test(p))
          .map((p) => serviceForPath(p)),
      );
      expect([...owners].sort()).toEqual(Object.keys(running.services).sort());
      const html = await nginx.request().get('/docs').redirects(1).expect(200);
      expect(html.text).toContain('swagger-ui');
      const init = await nginx.request().get('/docs/swagger-ui-init.js').expect(200);
      expect(init.text).toContain("url: '/docs-json'");
      // The page is auth's Swagger UI, titled after auth: the merged one names the whole API (helper-168 N2).
      expect(init.text).toContain("document.title = 'Protobank API'");
    });

    it('answers a method a path does not take with 405 in the error shape, as the local edge does', async () => {
      // Its own paths take GET and HEAD.
      for (const path of [
        '/health/live',
        '/health/ready',
        '/health',
        '/docs-json',
        '/docs/swagger-ui-init.js',
      ]) {
        const res = await nginx.request().post(path).set('X-Request-Id', 'nginx-405-1').expect(405);
        expect({ path, allow: res.headers.allow, body: res.body }).toEqual({
          path,
          allow: 'GET, HEAD',
          body: {
            status: 405,
            code: 'method_not_allowed',
            message: 'POST is not allowed on this path',
            details: [{ field: 'method', message: 'not allowed on this path' }],
            request_id: 'nginx-405-1',
          },
        });
        const local = await request(running.baseUrl).post(path).expect(405);
        expect({ path, allow: local.headers.allow, code: local.body.code }).toEqual({
          path,
          allow: 'GET, HEAD',
          code: 'method_not_allowed',
        });
      }
      // A service's path: the service's own 405, with the methods its routes take.
      const proxied = await nginx.request().put('/accounts').expect(405);
      expect({ allow: proxied.headers.allow, code: proxied.body.code }).toEqual({
        allow: 'GET, HEAD, POST',
        code: 'method_not_allowed',
      });
      // TRACE, which nginx refuses itself wherever it is sent: the error shape, with no Allow it cannot know.
      const trace = await nginx.request().trace('/accounts').expect(405);
      expect(trace.headers.allow).toBeUndefined();
      expect(trace.body).toMatchObject({
        status: 405,
        code: 'method_not_allowed',
        details: [{ field: 'method' }],
      });
    });

    it('routes an API call to its service', async () => {
      const admin = await firstAdmin(running);
      const res = await nginx.request().get('/users/me').set(bearer(admin.token)).expect(200);
      expect(res.body.id).toBe(admin.id);
    });

    it('answers health on plain HTTP and redirects the rest to HTTPS (308, path and query kept)', async () => {
      await request(nginx.httpUrl).get('/health/live').expect(200);
      const ready = await request(nginx.httpUrl).get('/health/ready').expect(200);
      expect(ready.headers['strict-transport-security']).toBeUndefined();
      for (const method of ['get', 'post'] as const) {
        const res = await request(nginx.httpUrl)[method]('/users/me?x=1').redirects(0).expect(308);
        expect(res.headers.location).toBe(`${nginx.baseUrl}/users/me?x=1`);
      }
    });

    it('sends HSTS and each security header once over HTTPS, on proxied answers and its own', async () => {
      const admin = await firstAdmin(running);
      const answers: [string, request.Response][] = [
        ['/users/me', await nginx.request().get('/users/me').set(bearer(admin.token)).expect(200)],
        ['/nowhere', await nginx.request().get('/nowhere').expect(404)],
        ['/health/ready', await nginx.request().get('/health/ready').expect(200)],
      ];
      for (const [path, res] of answers) {
        // Raw headers: Node would fold duplicates into one value.
        const raw = (res as unknown as { res: { rawHeaders: string[] } }).res.rawHeaders
          .filter((_, i) => i % 2 === 0)
          .map((h) => h.toLowerCase());
        for (const header of [
          'strict-transport-security',
          'x-content-type-options',
          'x-frame-options',
          'referrer-policy',
          'content-security-policy',
        ])
          expect({ path, header, copies: raw.filter((h) => h === header).length }).toEqual({
            path,
            header,
            copies: 1,
          });
        expect(res.headers['strict-transport-security']).toBe('max-age=63072000; includeSubDomains');
      }
    });

    // nginx's own refusals of what it cannot read, which it would answer in HTML: in the one error shape.
    it('answers a header line over 8 KB with 431 headers_too_large and a request without Host with 400, in the error shape', async () => {
      const big = await nginx
        .request()
        .get('/users/me')
        .set('X-Request-Id', 'nginx-big-1')
        .set('X-Big', 'a'.repeat(9000))
        .expect(431);
      expect(big.headers['content-type']).toMatch(/^application\/json/);
      expect(big.body).toMatchObject({ status: 431, code: 'headers_too_large', details: [] });
      expect(big.headers['x-request-id']).toBe(big.body.request_id);
      const raw = await new Promise<string>((resolve, reject) => {
        const socket = tlsConnect(
          {
            host: '127.0.0.1',
            port: Number(new URL(nginx.baseUrl).port),
            ca: nginx.ca,
            servername: 'localhost',
          },
          () => socket.end('GET /health/live HTTP/1.1\r\nConnection: close\r\n\r\n'),
        );
        let text = '';
        socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
      expect(raw).toMatch(/^HTTP\/1\.1 400 /);
      const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
      expect(body).toMatchObject({ status: 400, code: 'bad_request', details: [] });
    });

    // Every request above went through the limits' key (edge.clientKey, njs), which logs an error for an
    // IPv6 client when $pb_ipv6_prefix (EDGE_IPV6_PREFIX) is not 32-128; these clients are IPv4, so the
    // prefix itself is checked by gen-nginx.spec.ts (an unrendered one stops nginx from starting).
    it("computes its rate limits' key on every request without an njs error", async () => {
      await nginx.request().get('/health/ready').expect(200);
      const log = existsSync(nginx.errorLog) ? readFileSync(nginx.errorLog, 'utf8') : '';
      expect(log.split('\n').filter((line) => /\bjs\b|njs|EDGE_IPV6_PREFIX/.test(line))).toEqual([]);
    });
  });

  it('routes every path a service documents to that service (route table = what the controllers serve)', async () => {
    for (const [service, url] of Object.entries(running.services)) {
      const doc = await request(url).get('/docs-json').expect(200);
      const paths = doc.body.paths as Record<string, Record<string, { responses?: object }>>;
      for (const path of Object.keys(paths).filter((p) => !PLATFORM_PATHS.test(p))) {
        expect({ path, service: serviceForPath(path) }).toEqual({ path, service });
      }
      // The event streams it documents are those the table declares (the edge gives each its own
      // connection by path, whatever the client's Accept).
      const streams = Object.entries(paths)
        .filter(([, ops]) => JSON.stringify(ops.get?.responses ?? {}).includes('"text/event-stream"'))
        .map(([path]) => path);
      expect({ service, streams }).toEqual({
        service,
        streams: SERVICES[service as keyof typeof SERVICES].streams ?? [],
      });
    }
  });

  it('keeps events for a stopped consumer and delivers them when it is back (durable queue)', async () => {
    const db = await running.t.db();
    const admin = await firstAdmin(running);
    const payer = await verifiedCustomer(running, admin, 'durable.payer');
    const payee = await verifiedCustomer(running, admin, 'durable.payee');
    const from = await openAccount(running, payer);
    const to = await openAccount(running, payee);
    await deposit(running, admin, from, 5000);
    // Both addresses verified, and recorded for notices before notifications stop: their e-mails go out.
    for (const who of [payer, payee]) await verifyEmail(running, () => receivers.mails, who);
    await eventually(async () => {
      const { rows } = await db.query(
        `SELECT count(*)::int AS n FROM notifications.verified_emails WHERE user_id = ANY($1::uuid[])`,
        [[payer.id, payee.id]],
      );
      return rows[0].n === 2 ? true : undefined;
    });
    const index = running.children.findIndex((c) => c.app === 'notifications');
    const stream = await openStream(`${running.baseUrl}/notifications/stream`, bearer(payee.token));
    // SIGTERM: the app drains its consumers, ends open streams (telling the client why) and exits cleanly.
    expect(await processes.stop(running.children[index])).toBe(0);
    expect(stream.events.at(-1)).toMatchObject({ event: 'end', data: { reason: 'shutdown' } });

    // With notifications down, registration and money movement carry on.
    const res = await request(running.baseUrl)
      .post('/auth/register')
      .send({
        email: `dave.${Date.now()}@example.com`,
        password: 'correct horse battery staple',
        full_name: 'Dave Brown',
      })
      .expect(201);
    const moved = await transfer(running, payer, {
      from_account_id: from.id,
      to_account_number: to.account_number,
      amount: 1234,
      currency: 'GBP',
    }).expect(201);
    // Both events are out of their outboxes (published to the notifications queue), and nothing took them.
    await eventually(
      async () => {
        const { rows } = await db.query(
          `SELECT (SELECT count(*) FROM users.outbox WHERE name = 'user.registered'
                     AND payload->>'user_id' = $1 AND published_at IS NOT NULL)
                + (SELECT count(*) FROM transactions.outbox WHERE name = 'transaction.created'
                     AND payload->>'transaction_id' = $2 AND published_at IS NOT NULL) AS n`,
          [res.body.id, moved.body.id],
        );
        return Number(rows[0].n) === 2 ? true : undefined;
      },
      10000,
      'the registration and the transfer to be published',
    );
    const stored = () =>
      db.query(
        `SELECT n.user_id, n.body, array_agg(d.status ORDER BY d.channel) AS deliveries
           FROM notifications.notifications n LEFT JOIN notifications.deliveries d ON d.notification_id = n.id
          WHERE (n.user_id = $1 AND n.type = 'welcome') OR n.data->>'transaction_id' = $2
          GROUP BY n.id ORDER BY n.body`,
        [res.body.id, moved.body.id],
      );
    expect((await stored()).rows).toEqual([]);

    const port = new URL(running.services.notifications).port;
    const restarted: AppProcess = processes.spawnApp(
      'notifications',
      { ...running.t.env, ...receivers.env, PORT: port },
      {
        logFile: join(running.t.logDir, 'notifications-restarted.log'),
      },
    );
    running.children[index] = restarted; // the harness stops it with the rest
    await processes.waitReady(`${running.services.notifications}/health/ready`, { children: [restarted] });
    // Every missed notification arrives, once, and goes out on its channels.
    const rows = await eventually(
      async () => {
        const r = await stored();
        const done =
          r.rows.length === 3 && r.rows.every((x) => x.deliveries.every((s: string) => s !== 'pending'));
        return done ? r.rows : undefined;
      },
      20000,
      'the missed notifications',
    );
    // Dave has not verified his address yet: his welcome, which says so, is in the app only.
    const VERIFY_NUDGE =
      'Confirm your e-mail address to get your notices by e-mail too; until then they are here, in the app.';
    expect(rows).toEqual([
      {
        user_id: res.body.id,
        body: `Welcome to Protobank, Dave Brown. ${VERIFY_NUDGE}`,
        deliveries: ['skipped', 'sent'],
      },
      { user_id: payee.id, body: `You received £12.34 from Cus durable.payer`, deliveries: ['sent', 'sent'] },
      { user_id: payer.id, body: `You sent £12.34 to Cus durable.payee`, deliveries: ['sent', 'sent'] },
    ]);
    expect(receivers.mails.filter((m) => m.text.includes('£12.34'))).toHaveLength(2);
  });

  it('refuses to proxy an absolute-form request target to another host', async () => {
    const { port } = new URL(running.baseUrl);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(
          `GET http://169.254.169.254/auth/x HTTP/1.1\r\nHost: 169.254.169.254\r\nConnection: close\r\n\r\n`,
        );
      });
      let data = '';
      socket.on('data', (c: Buffer) => (data += c.toString()));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw).toContain('"code":"bad_request"');
  });

  it('answers a disable and a demotion with 503 sessions_not_ended while auth is down; a retry ends the sessions at once, the event otherwise', async () => {
    const admin = await firstAdmin(running);
    const c = await newCustomer(running, 'auth.down');
    const demoted = await promote(running, admin, await newCustomer(running, 'auth.down.admin'), 'admin');
    const index = running.children.findIndex((p) => p.app === 'auth');
    expect(await processes.stop(running.children[index])).toBe(0);
    const demote = await request(running.baseUrl)
      .patch(`/admin/users/${demoted.id}`)
      .set(bearer(admin.token))
      .send({ role: 'customer', reason: 'Test: staff change' })
      .expect(503);
    expect(demote.body.code).toBe('sessions_not_ended');
    // The demotion's event is held back from auth (taken off its queue, unacknowledged, until the end),
    // as when events lag: then only the admin's retry can end the sessions.
    const broker = await amqp.connect(running.t.env.RABBITMQ_URL);
    try {
      const held = await broker.createChannel();
      const authEvents = `${running.t.env.RABBITMQ_PREFIX}.events.auth`;
      const isDemotion = (text: string) => text.includes(demoted.id) && text.includes('"role":"customer"');
      await eventually(
        async () => {
          const message = await held.get(authEvents, { noAck: false });
          if (!message) return undefined;
          if (message.fields.routingKey === 'user.role_changed' && isDemotion(message.content.toString())) {
            return true;
          }
          held.ack(message); // an earlier event, handled already (the promotion's)
          return undefined;
        },
        15000,
        'the demotion in the auth queue',
      );

      const res = await request(running.baseUrl)
        .patch(`/admin/users/${c.id}`)
        .set(bearer(admin.token))
        .send({ disabled: true, reason: 'Test: staff change' })
        .expect(503);
      expect(res.body.code).toBe('sessions_not_ended');
      // The changes themselves are committed (and audited): only the sessions wait for auth.
      const user = await request(running.baseUrl)
        .get(`/admin/users/${c.id}`)
        .set(bearer(admin.token))
        .expect(200);
      expect(user.body.disabled).toBe(true);
      const demotedView = await request(running.baseUrl)
        .get(`/admin/users/${demoted.id}`)
        .set(bearer(admin.token))
        .expect(200);
      expect(demotedView.body.role).toBe('customer');

      const port = new URL(running.services.auth).port;
      const restarted: AppProcess = processes.spawnApp(
        'auth',
        { ...running.t.env, ...receivers.env, PORT: port },
        { logFile: join(running.t.logDir, 'auth-restarted.log') },
      );
      running.children[index] = restarted; // the harness stops it with the rest
      await processes.waitReady(`${running.services.auth}/health/ready`, { children: [restarted] });
      await eventually(
        async () => {
          const r = await request(running.baseUrl).get('/users/me').set(bearer(c.token));
          return r.status === 401 && r.body.code === 'session_ended' ? true : undefined;
        },
        20000,
        'the user.disabled event to end the sessions',
      );
      // Asking again now ends them at once and answers 200.
      await request(running.baseUrl)
        .patch(`/admin/users/${c.id}`)
        .set(bearer(admin.token))
        .send({ disabled: true, reason: 'Test: staff change' })
        .expect(200);

      // Until then, the demoted admin's token still carries the admin role and passes the guards, but
      // users, which owns the role, refuses what it would read (the audit trail: 403, nothing shown).
      const refused = await request(running.baseUrl).get('/admin/audit').set(bearer(demoted.token));
      expect([refused.status, refused.body.code]).toEqual([403, 'forbidden']);
      // Repeating the role change (no change to write, no new event) ends the sessions before it answers.
      await request(running.baseUrl)
        .patch(`/admin/users/${demoted.id}`)
        .set(bearer(admin.token))
        .send({ role: 'customer', reason: 'Test: staff change' })
        .expect(200);
      const after = await request(running.baseUrl).get('/admin/audit').set(bearer(demoted.token));
      expect([after.status, after.body.code]).toEqual([401, 'session_ended']);
    } finally {
      await broker.close(); // the held event goes back to auth's queue, and ends nothing more
    }
  });

  // Last: it stops the auth app for good.
  it('accepts tokens issued by auth in every other app with no call to auth (auth stopped)', async () => {
    const email = `local.${Date.now()}@example.com`;
    await request(running.baseUrl)
      .post('/auth/register')
      .send({ email, password: 'correct horse battery staple', full_name: 'Lo Cal' })
      .expect(201);
    const login = await request(running.baseUrl)
      .post('/auth/login')
      .send({ email, password: 'correct horse battery staple' })
      .expect(200);
    const auth = running.children.find((c) => c.app === 'auth');
    expect(await processes.stop(auth)).toBe(0);
    const me = await request(running.services.users)
      .get('/users/me')
      .set('Authorization', `Bearer ${login.body.access_token}`)
      .expect(200);
    expect(me.body.email).toBe(email);
    // Every other app, asked directly (not through the edge) on a route of its own that needs a token.
    const probes = {
      accounts: '/accounts',
      transactions: `/transactions?account_id=${randomUUID()}`,
      cards: '/cards',
      payments: '/payees',
      notifications: '/notifications/unread-count',
      analytics: '/analytics/insights',
    } as const;
    const seen: Record<string, string> = {};
    for (const [service, path] of Object.entries(probes)) {
      const res = await request(running.services[service])
        .get(path)
        .set('Authorization', `Bearer ${login.body.access_token}`);
      seen[service] = res.status === 401 ? `401 ${res.body.code}` : 'admitted';
    }
    expect(seen).toEqual(Object.fromEntries(Object.keys(probes).map((service) => [service, 'admitted'])));
  });

  // Last: its one test checks every answer of the tests above against the OpenAPI document.
  openApiConformanceScenarios(() => running);
});
