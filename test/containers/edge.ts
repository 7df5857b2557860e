/**
 * The edge of the split stack, for real, through nginx's published ports: TLS with the certificate the
 * suite generated (docker secrets tls_cert and tls_key), TLS 1.1 refused, plain HTTP redirected except
 * /health/*, HSTS and the security headers once each, and the committed default rate limits: a login or
 * sign-up flood from one client IP gets 429 in the error shape with Retry-After, while that client's other
 * requests and other clients still get through. Declares its own `it`s, like customer-day.ts.
 *
 * The stack came up with the tests' explicit limits (LOAD_EDGE_LIMITS: the customer day and the load run
 * from one client IP); these checks first recreate the nginx container with the committed defaults (the
 * same files, without those variables), so they run last.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import request from 'supertest';
import { parse as parseYaml } from 'yaml';
import { bearer, firstAdmin, PASSWORD } from '../support/actors';
import { LOAD_EDGE_LIMITS, type TestCertificate } from '../support/edge-tls';
import { eventually } from '../support/test-env';
import type { Running } from '../support/topologies';
import { ComposeStack } from './compose';

export interface EdgeUnderTest {
  stack: ComposeStack;
  running: Running;
  cert: TestCertificate;
  httpUrl: string;
  httpsPort: number;
}

/** The one error shape (DESIGN.md §6), as the edge writes it. */
const errorShape = (status: number, code: string) => ({
  status,
  code,
  message: expect.any(String),
  details: [],
  request_id: expect.stringMatching(/^[A-Za-z0-9._:-]{1,128}$/),
});

// Per header: how many copies an answer carries (raw headers, so a duplicate is not folded away).
function copies(res: request.Response, header: string): number {
  const raw = (res as unknown as { res: { rawHeaders: string[] } }).res.rawHeaders;
  return raw.filter((h, i) => i % 2 === 0 && h.toLowerCase() === header).length;
}
const SECURITY_HEADERS = [
  'content-security-policy',
  'referrer-policy',
  'x-content-type-options',
  'x-frame-options',
  'cross-origin-opener-policy',
  'x-permitted-cross-domain-policies',
];
const HSTS = 'max-age=63072000; includeSubDomains';

/** A TLS handshake with the given client options: the protocol agreed, or the error. */
function handshake(
  port: number,
  options: tls.ConnectionOptions,
): Promise<{ protocol?: string | null; fingerprint256?: string; authorized?: boolean; error?: string }> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ...options }, () => {
      const result = {
        protocol: socket.getProtocol(),
        fingerprint256: socket.getPeerCertificate().fingerprint256,
        authorized: socket.authorized,
      };
      socket.end();
      resolve(result);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
  });
}

// Node's OpenSSL 3 allows TLS 1.0/1.1 only at security level 0: what a client still offering them sends.
const TLS_1_1: tls.ConnectionOptions = {
  minVersion: 'TLSv1.1',
  maxVersion: 'TLSv1.1',
  ciphers: 'DEFAULT@SECLEVEL=0',
};

/** The nginx service's environment as the compose files define it, with the committed defaults. */
function committedEdgeSettings(stack: ComposeStack): Record<string, string> {
  const config = parseYaml(stack.compose(['config'])) as {
    services: { nginx: { environment: Record<string, string> } };
  };
  return config.services.nginx.environment;
}

/** nginx rate "20r/m" -> requests per second. */
function perSecond(rate: string): number {
  const m = /^(\d+)r\/([sm])$/.exec(rate);
  if (!m) throw new Error(`not an nginx rate: ${rate}`);
  return Number(m[1]) / (m[2] === 'm' ? 60 : 1);
}

export function edgeChecks(get: () => EdgeUnderTest): void {
  let defaults: Record<string, string>;
  let admin: { token: string };

  beforeAll(async () => {
    const { stack } = get();
    const env = Object.fromEntries(
      Object.entries(stack.env).filter(([k]) => !(k in LOAD_EDGE_LIMITS)),
    ) as Record<string, string>;
    const committed = new ComposeStack(stack.file, stack.project, env, stack.extraArgs);
    defaults = committedEdgeSettings(committed);
    committed.compose(['up', '-d', '--no-deps', '--no-build', 'nginx'], 300_000);
    await committed.waitFor('nginx', (s) => s.health === 'healthy', 'nginx healthy with the default limits');
    const inside = spawnSync(
      'docker',
      ['exec', committed.state('nginx')!.id, 'cat', '/etc/nginx/conf.d/edge-limits.conf'],
      { encoding: 'utf8' },
    );
    expect(inside.stdout).toContain(`zone=login:10m rate=${defaults.EDGE_RATE_LOGIN};`);
    process.stdout.write(
      `[containers] edge limits (committed defaults): general ${defaults.EDGE_RATE_GENERAL} burst ${defaults.EDGE_BURST_GENERAL}, ` +
        `login ${defaults.EDGE_RATE_LOGIN} burst ${defaults.EDGE_BURST_LOGIN}, register ${defaults.EDGE_RATE_REGISTER} burst ${defaults.EDGE_BURST_REGISTER}\n`,
    );
    admin = await firstAdmin(get().running);
  }, 600_000);

  it('serves HTTPS with the generated certificate: verified against it, refused by the default trust store', async () => {
    const { cert, httpsPort, running } = get();
    const trusted = await handshake(httpsPort, { ca: [cert.cert] });
    expect(trusted).toMatchObject({ authorized: true, fingerprint256: cert.fingerprint256 });
    expect(['TLSv1.2', 'TLSv1.3']).toContain(trusted.protocol);
    const untrusted = await handshake(httpsPort, {});
    expect(untrusted.error).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    await request(running.baseUrl).get('/users/me').set(bearer(admin.token)).expect(200);
  });

  it('speaks TLS 1.2 and 1.3 and refuses TLS 1.1 (which the same client speaks with a server allowing it)', async () => {
    const { cert, httpsPort } = get();
    for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
      const res = await handshake(httpsPort, { ca: [cert.cert], minVersion: version, maxVersion: version });
      expect(res.protocol).toBe(version);
    }
    // The control: a local server that allows TLS 1.1 negotiates it with these very options.
    const server = tls.createServer({
      cert: cert.cert,
      key: readFileSync(cert.keyFile),
      minVersion: 'TLSv1.1',
      ciphers: 'DEFAULT@SECLEVEL=0',
    });
    server.on('secureConnection', (s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const control = await handshake((server.address() as { port: number }).port, {
        ca: [cert.cert],
        ...TLS_1_1,
      });
      expect(control.protocol).toBe('TLSv1.1');
    } finally {
      server.close();
    }
    const refused = await handshake(httpsPort, { ca: [cert.cert], ...TLS_1_1 });
    expect(refused.protocol).toBeUndefined();
    expect(refused.error).toMatch(/^ERR_SSL_|^ECONNRESET$/);
  });

  it('redirects plain HTTP to HTTPS with 308, keeping method, path and query', async () => {
    const { httpUrl, running } = get();
    for (const method of ['get', 'post'] as const) {
      const res = await request(httpUrl)[method]('/accounts?limit=5').redirects(0).expect(308);
      expect(res.headers.location).toBe(`${running.baseUrl}/accounts?limit=5`);
      expect(res.headers['strict-transport-security']).toBeUndefined();
    }
    // Where it points is the API: without a token, accounts answers 401 over HTTPS.
    const there = await request(running.baseUrl).get('/accounts?limit=5').expect(401);
    expect(there.body).toMatchObject({ status: 401, request_id: expect.any(String) });
  });

  it('answers /health/* on plain HTTP (load balancers, Docker), without HSTS', async () => {
    const { httpUrl } = get();
    const live = await request(httpUrl).get('/health/live').expect(200);
    expect(live.body.status).toBe('ok');
    const ready = await request(httpUrl).get('/health/ready').expect(200);
    expect(ready.body.status).toBe('ok');
    expect(ready.headers['strict-transport-security']).toBeUndefined();
    expect(ready.headers['x-content-type-options']).toBe('nosniff');
  });

  it('sends HSTS and each security header exactly once over HTTPS: proxied answers, its own, its errors', async () => {
    const { running } = get();
    const answers = [
      await request(running.baseUrl).get('/users/me').set(bearer(admin.token)).expect(200),
      await request(running.baseUrl).get('/users/me').expect(401),
      await request(running.baseUrl).get('/nowhere').expect(404),
      await request(running.baseUrl).get('/health/ready').expect(200),
      await request(running.baseUrl).get('/docs-json').expect(200),
      await request(running.baseUrl)
        .post('/transactions')
        .set('Content-Type', 'application/json')
        .send(`"${'x'.repeat(1_100_000)}"`)
        .expect(413),
    ];
    for (const res of answers) {
      const where = `${res.status} ${(res as unknown as { req: { path: string } }).req.path}`;
      expect({ where, hsts: res.headers['strict-transport-security'] }).toEqual({ where, hsts: HSTS });
      for (const header of ['strict-transport-security', ...SECURITY_HEADERS])
        expect({ where, header, copies: copies(res, header) }).toEqual({ where, header, copies: 1 });
      expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(res.headers['content-security-policy']).toContain("frame-ancestors 'self'");
    }
  });

  /**
   * `count` requests at once from this client (one IP: the Docker host's, behind the published port),
   * each with a forged X-Forwarded-For, which must not matter: the edge limits the connection's address.
   */
  async function flood(path: string, body: (i: number) => object, count: number) {
    const { running } = get();
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        request(running.baseUrl)
          .post(path)
          .set('X-Forwarded-For', `203.0.113.${i + 1}`)
          .send(body(i)),
      ),
    );
    return { answers, seconds: (Date.now() - started) / 1000 };
  }

  /** What a client inside the nginx container (another IP: 127.0.0.1) gets for a POST. */
  function postFromAnotherClient(path: string, json: object): number {
    const { stack } = get();
    const res = spawnSync(
      'docker',
      [
        'exec',
        stack.state('nginx')!.id,
        'wget',
        '-q',
        '-S',
        '-O',
        '/dev/null',
        '--no-check-certificate',
        '--header',
        'Content-Type: application/json',
        '--post-data',
        JSON.stringify(json),
        `https://127.0.0.1${path}`,
      ],
      { encoding: 'utf8' },
    );
    const status = /HTTP\/1\.1 (\d{3})/.exec(res.stderr)?.[1];
    if (!status) throw new Error(`no answer from inside the nginx container: ${res.stderr}`);
    return Number(status);
  }

  it('limits logins per client IP (committed default zone): a flood gets 429 in the error shape with Retry-After; the same client’s other requests and other clients still work', async () => {
    const { running } = get();
    const burst = Number(defaults.EDGE_BURST_LOGIN);
    const rate = perSecond(defaults.EDGE_RATE_LOGIN);
    const count = burst + 20;
    // Unknown e-mails, each once: the app answers 401 (no lockout of one e-mail gets in the way).
    const { answers, seconds } = await flood(
      '/auth/login',
      () => ({ email: `flood.${randomUUID()}@example.com`, password: PASSWORD }),
      count,
    );
    const limited = answers.filter((r) => r.status === 429);
    const passed = answers.filter((r) => r.status !== 429);
    process.stdout.write(
      `[containers] login flood: ${count} at once in ${seconds.toFixed(1)} s -> ${passed.length} passed to auth, ${limited.length} answered 429 by nginx\n`,
    );
    // The bucket lets `burst` through at once, plus one per 1/rate seconds while the flood lasts.
    expect(passed.length).toBeLessThanOrEqual(burst + 1 + Math.ceil(seconds * rate));
    expect(passed.map((r) => r.status)).toEqual(passed.map(() => 401));
    expect(limited.length).toBeGreaterThan(0);
    for (const res of limited) {
      expect(res.body).toEqual(errorShape(429, 'rate_limited'));
      expect(res.headers['retry-after']).toBe(String(Math.ceil(1 / rate)));
      expect(res.headers['x-request-id']).toBe(res.body.request_id);
      expect(copies(res, 'strict-transport-security')).toBe(1);
    }
    // The flooding client's other requests pass (the general zone is generous) ...
    await request(running.baseUrl).get('/users/me').set(bearer(admin.token)).expect(200);
    await request(running.baseUrl).get('/health/ready').expect(200);
    // ... its logins are still limited ...
    await request(running.baseUrl)
      .post('/auth/login')
      .send({ email: `again.${randomUUID()}@example.com`, password: PASSWORD })
      .expect(429);
    // ... and another client's login reaches auth.
    expect(
      postFromAnotherClient('/auth/login', {
        email: `other.${randomUUID()}@example.com`,
        password: PASSWORD,
      }),
    ).toBe(401);
  });

  it('limits sign-ups per client IP (committed default zone), and admits the client again once Retry-After has passed', async () => {
    const { running } = get();
    const burst = Number(defaults.EDGE_BURST_REGISTER);
    const rate = perSecond(defaults.EDGE_RATE_REGISTER);
    const count = burst + 10;
    const signUp = () => ({
      email: `flood.${randomUUID()}@example.com`,
      password: PASSWORD,
      full_name: 'Flood Test',
    });
    const { answers, seconds } = await flood('/auth/register', signUp, count);
    const limited = answers.filter((r) => r.status === 429);
    const passed = answers.filter((r) => r.status !== 429);
    process.stdout.write(
      `[containers] sign-up flood: ${count} at once in ${seconds.toFixed(1)} s -> ${passed.length} registered, ${limited.length} answered 429 by nginx\n`,
    );
    expect(passed.length).toBeLessThanOrEqual(burst + 1 + Math.ceil(seconds * rate));
    expect(passed.map((r) => r.status)).toEqual(passed.map(() => 201));
    expect(limited.length).toBeGreaterThan(0);
    const retryAfter = Number(limited[0].headers['retry-after']);
    expect(retryAfter).toBe(Math.ceil(1 / rate));
    for (const res of limited) expect(res.body).toEqual(errorShape(429, 'rate_limited'));
    // The bucket drains at the zone's rate: polled (a refused attempt is not counted), a sign-up goes
    // through again.
    const admitted = await eventually(
      async () => {
        const res = await request(running.baseUrl).post('/auth/register').send(signUp());
        return res.status === 429 ? undefined : res;
      },
      (retryAfter + 30) * 1000,
      'a sign-up admitted after Retry-After',
    );
    expect(admitted.status).toBe(201);
  }, 120_000);
}
