/**
 * The benchmarks' HTTP client: node:http with keep-alive rather than fetch, since the load generator
 * shares the two cores with the app and Postgres, and fetch costs it about twice the CPU per request.
 */
const { randomUUID } = require('node:crypto');
const http = require('node:http');

/** A setup step that went wrong, or an interruption: the message is the whole report. */
class Stop extends Error {}

function httpClient(base, { maxSockets }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets });

  /**
   * One request; resolves to { status, text() } once the whole body has arrived. `payload`: the body as
   * already serialised (what a signature was computed over); `headers`: more headers to send.
   */
  function request(method, route, { token, body, payload: raw, idempotent, headers: extra } = {}) {
    const headers = { ...extra };
    const payload = raw ?? (body === undefined ? undefined : JSON.stringify(body));
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    if (token) headers.authorization = `Bearer ${token}`;
    if (idempotent) headers['idempotency-key'] = randomUUID();
    return new Promise((resolve, reject) => {
      const req = http.request(`${base}${route}`, { method, headers, agent }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode, text: async () => text, arrayBuffer: async () => undefined });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** The JSON of a response with the expected status; anything else stops the run, naming the step. */
  async function expect(res, status, what) {
    const text = await res.text();
    if (res.status === 429) {
      throw new Stop(
        `${what}: 429 rate limited. Start the app with REGISTER_RATE_LIMIT_PER_MINUTE=10000 ` +
          'LOGIN_RATE_LIMIT_PER_MINUTE=10000 for this benchmark.',
      );
    }
    if (res.status !== status)
      throw new Stop(`${what}: expected ${status}, got ${res.status}: ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : {};
  }

  /** request + expect: `status` (200 unless given) and `what` (the method and route unless given). */
  const call = async (method, route, { status = 200, what = `${method} ${route}`, ...opts } = {}) =>
    expect(await request(method, route, opts), status, what);

  const login = async (email, password) =>
    (await call('POST', '/auth/login', { body: { email, password }, what: `login ${email}` })).access_token;

  /**
   * The token of the admin in ADMIN_EMAIL/ADMIN_PASSWORD. An app a benchmark started creates that admin in
   * the background, so a 401 is retried for up to `waitMs` (0: a running deployment's admin exists).
   */
  async function adminToken({ waitMs = 0, stopped = () => false } = {}) {
    const until = Date.now() + waitMs;
    for (;;) {
      const res = await request('POST', '/auth/login', {
        body: { email: process.env.ADMIN_EMAIL, password: process.env.ADMIN_PASSWORD },
      });
      if (res.status !== 401 || Date.now() > until || stopped())
        return (await expect(res, 200, 'admin login')).access_token;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  return { agent, request, expect, call, login, adminToken };
}

module.exports = { Stop, httpClient };
