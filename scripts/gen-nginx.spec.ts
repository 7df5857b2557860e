import Ajv from 'ajv';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { acceptRequestId } from '../libs/platform/src/context/request-context';
import { SECURITY_HEADERS as APP_HEADERS } from '../libs/platform/src/http/configure-http';
import { rateLimitAddress } from '../libs/platform/src/security/client-address';
import { parseNginx, type NginxDirective } from '../test/support/nginx-routes';

interface Topology {
  edge_port: number;
  services: Record<string, { port: number; memory: string; prefixes: string[] }>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const gen = require('./gen-nginx.js') as {
  renderNginx(topology: Topology): string;
  renderTemplates(): Record<string, string>;
  SECURITY_HEADERS: [string, string][];
  HSTS: string;
  LIMIT_ZONES: { zone: string; variable: string; path?: string }[];
  EDGE_ERRORS: [number, string, string, string?, number?][];
};
type Responses = Record<string, { description?: string; content?: unknown; headers?: unknown }>;
interface OpenApi {
  paths: Record<string, Record<string, { summary?: string; responses: Responses }>>;
  components?: { schemas?: Record<string, unknown> };
}

interface EdgeModule {
  retryAfterSeconds(rate: string): number;
  acceptedRequestId(value: unknown): string | null;
  requestId(r: { headersIn: Record<string, string | undefined>; variables: Record<string, string> }): string;
  rateLimitKey(address: string, prefixBits?: number): string;
  validPrefix(text: string | undefined): number | undefined;
  clientKey(r: { variables: Record<string, string | undefined>; error(message: string): void }): string;
  readinessAnswer(
    results: { service: string; ok: boolean; message?: string }[],
    requestId: string,
  ): { status: number; body: unknown };
  mergeDocs(
    docs: OpenApi[],
    services: string[],
    owner?: (path: string) => string,
  ): OpenApi & { components: { schemas: Record<string, unknown> } };
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const edge = (require('../docker/nginx/edge.mjs') as { default: EdgeModule }).default;

const topology = JSON.parse(
  readFileSync(join(__dirname, '../libs/platform/src/topology/services.json'), 'utf8'),
) as Topology;
const conf = gen.renderNginx(topology);
const tree = parseNginx(conf);

function find(directives: NginxDirective[], name: string): NginxDirective[] {
  return directives.flatMap((d) => [...(d.name === name ? [d] : []), ...find(d.block ?? [], name)]);
}
const http = tree.find((d) => d.name === 'http')!.block!;
const server = http.find((d) => d.name === 'server')!.block!;
const args = (block: NginxDirective[], name: string) =>
  block.filter((d) => d.name === name).map((d) => d.args.join(' '));

describe('scripts/gen-nginx.js', () => {
  describe('TLS', () => {
    it('listens for HTTPS on 443 and plain HTTP on 80, with the certificate and key from the Docker secrets', () => {
      expect(args(server, 'listen').sort()).toEqual(['443 ssl', '80']);
      expect(args(server, 'ssl_certificate')).toEqual(['/run/secrets/tls_cert']);
      expect(args(server, 'ssl_certificate_key')).toEqual(['/run/secrets/tls_key']);
    });

    it('speaks TLS 1.2 and 1.3 only, with forward-secret AEAD suites', () => {
      expect(args(server, 'ssl_protocols')).toEqual(['TLSv1.2 TLSv1.3']);
      const ciphers = args(server, 'ssl_ciphers')[0].split(':');
      expect(ciphers.length).toBeGreaterThan(0);
      for (const c of ciphers)
        expect(c).toMatch(/^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/);
    });

    it('redirects plain HTTP to HTTPS with 308, except /health and /health/*', () => {
      const redirect = server.find((d) => d.name === 'if');
      expect(redirect?.args).toEqual(['($pb_to_https)']);
      expect(redirect?.block).toEqual([
        { name: 'return', args: ['308', 'https://$host$pb_https_port$request_uri'] },
      ]);
      const map = http.find((d) => d.name === 'map' && d.args[1] === '$pb_to_https')!;
      // The map's rules, applied as nginx does (regexes in order, else the default).
      const rules = map.block!.filter((d) => d.name !== 'default');
      const redirects = (scheme: string, uri: string) => {
        const hit = rules.find((r) => new RegExp(r.name.slice(1)).test(`${scheme}${uri}`));
        return (hit ? hit.args[0] : map.block!.find((d) => d.name === 'default')!.args[0]) === '1';
      };
      for (const uri of ['/', '/auth/login', '/healthz', '/health-x', '/docs'])
        expect({ uri, redirects: redirects('http', uri) }).toEqual({ uri, redirects: true });
      for (const uri of ['/health', '/health/live', '/health/ready'])
        expect({ uri, redirects: redirects('http', uri) }).toEqual({ uri, redirects: false });
      expect(redirects('https', '/auth/login')).toBe(false);
    });
  });

  describe('security headers', () => {
    it("are the apps' helmet headers, plus the edge's HSTS (two years, HTTPS only)", () => {
      const appHeaders = APP_HEADERS.filter(([name]) => name !== 'Strict-Transport-Security');
      expect(gen.SECURITY_HEADERS).toEqual(appHeaders);
      expect(gen.HSTS).toMatch(/^max-age=63072000; includeSubDomains$/);
      const hsts = http.find((d) => d.name === 'map' && d.args[1] === '$pb_hsts')!.block!;
      expect(hsts).toEqual([
        { name: 'https', args: [gen.HSTS] },
        { name: 'default', args: [''] },
      ]);
    });

    it('reach the client once: every header nginx adds is hidden from the upstream answers', () => {
      const added = args(server, 'add_header').map((a) => a.split(' ')[0]);
      const hidden = args(server, 'proxy_hide_header');
      expect(hidden.sort()).toEqual(added.sort());
      expect(added).toContain('Strict-Transport-Security');
    });

    it('are repeated in every location that adds its own headers (nginx would drop the inherited ones)', () => {
      const serverSet = args(server, 'add_header');
      const own = find(server, 'location').filter((l) => l.block?.some((d) => d.name === 'add_header'));
      expect(own.map((l) => l.args.join(' '))).toEqual(
        expect.arrayContaining(['@edge_413', '@edge_429', '@edge_502', '= /health/live', '/']),
      );
      for (const l of own) {
        const set = args(l.block!, 'add_header');
        for (const header of serverSet)
          expect({ location: l.args.join(' '), header, set: set.includes(header) }).toEqual({
            location: l.args.join(' '),
            header,
            set: true,
          });
      }
    });
  });

  describe('rate limits', () => {
    const templates = gen.renderTemplates();

    it('declares a zone per limit, keyed by client IP, with the rate from the deployment', () => {
      const limits = templates['edge-limits.conf.template'];
      for (const z of gen.LIMIT_ZONES)
        expect(limits).toContain(
          `limit_req_zone $pb_client_key zone=${z.zone}:10m rate=\${EDGE_RATE_${z.variable}};`,
        );
      expect(limits).toContain('limit_req zone=general burst=${EDGE_BURST_GENERAL} nodelay;');
      expect(args(http, 'include')).toEqual(['/etc/nginx/conf.d/edge-limits.conf']);
      expect(args(http, 'limit_req_status')).toEqual(['429']);
    });

    it('counts a client by its IPv4 address or its IPv6 /64, set before the zones are included', () => {
      const names = http.map((d) => `${d.name} ${d.args.join(' ')}`);
      const set = names.indexOf('js_set $pb_client_key edge.clientKey');
      expect(set).toBeGreaterThan(names.indexOf('js_import edge from /etc/nginx/edge.mjs'));
      expect(set).toBeLessThan(names.indexOf('include /etc/nginx/conf.d/edge-limits.conf'));
      // One key for every address of a /64, however written; IPv4 also when IPv4-mapped; the apps' rule.
      const sameNetwork = [
        '2001:db8:77:1::1',
        '2001:DB8:77:1:ffff:ffff:ffff:ffff',
        '2001:0db8:0077:0001:0000:0000:dead:beef',
        '2001:db8:77:1:a:b:c:d%eth0',
        '2001:db8:77:1::10.1.2.3',
      ];
      for (const address of [
        '64:ff9b::1.2.3.4',
        '2002:0102:0304::1',
        '2001:0:4136:e378:8000:63bf:3fff:fdd2',
        '::ffff:10.9.8.8',
      ])
        expect(edge.rateLimitKey(address)).toBe(rateLimitAddress(address, 64));
      for (const address of sameNetwork) {
        expect(edge.rateLimitKey(address)).toBe('2001:db8:77:1::/64');
        expect(edge.rateLimitKey(address)).toBe(rateLimitAddress(address, 64));
      }
      for (const [address, key] of [
        ['2001:db8:77:2::1', '2001:db8:77:2::/64'],
        ['::1', '0:0:0:0::/64'],
        ['10.9.8.8', '10.9.8.8'],
        ['::ffff:10.9.8.8', '10.9.8.8'],
        ['::FFFF:0a09:0808', '10.9.8.8'],
        ['64:ff9b::1.2.3.4', '1.2.3.4'],
        ['2002:0102:0304::1', '1.2.3.4'],
        ['2001:0:4136:e378:8000:63bf:3fff:fdd2', '192.0.2.45'],
        ['64:ff9b:1::1', '64:ff9b:1:0::/64'],
        ['unix:', 'unix:'],
        ['1::2::3', '1::2::3'],
        ['1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:8:9'],
      ]) {
        expect({ address, key: edge.rateLimitKey(address) }).toEqual({ address, key });
      }
    });

    it("counts an IPv6 client by the network of EDGE_IPV6_PREFIX's bits, putting two addresses together exactly when the apps do", () => {
      expect(templates['edge-limits.conf.template']).toContain(
        'map "" $pb_ipv6_prefix {\n  default "${EDGE_IPV6_PREFIX}";\n}',
      );
      const addresses = [
        '2001:db8:77:1::1',
        '2001:db8:77:1:8000::1',
        '2001:db8:77:1:7fff:ffff:ffff:ffff',
        '2001:db8:77:2::1',
        '2001:db8:77:ff::1',
        '2001:db8:77:100::1',
        '2001:db8:78::1',
        '2001:db9::1',
        '2001:db8:77:1::10.1.2.3',
        '2001:db8:77:1::10.1.2.4',
        '::1',
        '::2',
        '::ffff:10.9.8.8',
        '10.9.8.8',
      ];
      for (const bits of [32, 48, 56, 60, 63, 64, 65, 100, 127, 128]) {
        const edgeKeys = addresses.map((a) => edge.rateLimitKey(a, bits));
        const appKeys = addresses.map((a) => rateLimitAddress(a, bits));
        const pairs = addresses.flatMap((a, i) =>
          addresses.slice(i + 1).map((b, k) => ({
            bits,
            a,
            b,
            edge: edgeKeys[i] === edgeKeys[i + 1 + k],
            app: appKeys[i] === appKeys[i + 1 + k],
          })),
        );
        for (const pair of pairs) expect(pair).toEqual({ ...pair, edge: pair.app });
      }
      for (const [address, bits, key] of [
        ['2001:db8:77:1ab::1', 56, '2001:db8:77:100::/56'],
        ['2001:db8:77:1ab::1', 48, '2001:db8:77::/48'],
        ['2001:db8:77:1ab::1', 128, '2001:db8:77:1ab:0:0:0:1/128'],
        ['2001:db8:77:1ab::1', 127, '2001:db8:77:1ab:0:0:0:0/127'],
        ['2001:db8:77:1ab::1', 64, '2001:db8:77:1ab::/64'],
      ] as const)
        expect({ address, bits, key: edge.rateLimitKey(address, bits) }).toEqual({ address, bits, key });
      // The prefix comes from $pb_ipv6_prefix; one outside the apps' 32-128 is logged and /64 used.
      for (const [text, bits] of [
        ['64', 64],
        ['32', 32],
        ['128', 128],
        ['31', undefined],
        ['129', undefined],
        ['', undefined],
        [undefined, undefined],
        ['64 ', undefined],
        ['6.4e1', undefined],
        ['056', 56],
        ['0056', 56],
      ] as const)
        expect({ text, bits: edge.validPrefix(text) }).toEqual({ text, bits });
      const errors: string[] = [];
      const request = (prefix: string) => ({
        variables: { remote_addr: '2001:db8:77:1ab::1', pb_ipv6_prefix: prefix },
        error: (message: string) => errors.push(message),
      });
      expect(edge.clientKey(request('56'))).toBe('2001:db8:77:100::/56');
      expect(errors).toEqual([]);
      expect(edge.clientKey(request('abc'))).toBe('2001:db8:77:1ab::/64');
      expect(errors).toEqual(['EDGE_IPV6_PREFIX "abc" is not a prefix length of 32-128: counting by /64']);
      // An IPv4 client is counted by its address, whatever the prefix says.
      const v4 = { variables: { remote_addr: '10.9.8.8', pb_ipv6_prefix: 'abc' }, error: request('').error };
      expect(edge.clientKey(v4)).toBe('10.9.8.8');
      expect(errors).toHaveLength(1);
    });

    it('limits /auth/login and /auth/register by their own zone as well as the general one, and still proxies them to auth', () => {
      for (const [path, zone] of [
        ['/auth/login', 'login'],
        ['/auth/register', 'register'],
      ]) {
        const location = find(server, 'location').find((l) => l.args.join(' ') === `^~ ${path}`)!;
        expect(args(location.block!, 'include')).toEqual([`/etc/nginx/conf.d/edge-limits-${zone}.conf`]);
        expect(args(location.block!, 'proxy_pass')).toEqual(['http://auth']);
        expect(templates[`edge-limits-${zone}.conf.template`]).toContain(
          `limit_req zone=${zone} burst=\${EDGE_BURST_${zone.toUpperCase()}} nodelay;`,
        );
        expect(templates[`edge-limits-${zone}.conf.template`]).toContain(
          'limit_req zone=general burst=${EDGE_BURST_GENERAL} nodelay;',
        );
      }
    });

    it('answers 429 in the error shape, with Retry-After from the rate of the zone', () => {
      expect(args(server, 'error_page')).toContain('429 @edge_429');
      const at429 = find(server, 'location').find((l) => l.args[0] === '@edge_429')!.block!;
      expect(args(at429, 'add_header')).toContain('Retry-After $pb_retry_after always');
      const body = JSON.parse(args(at429, 'return')[0].replace(/^429 /, '')) as Record<string, unknown>;
      expect(body).toEqual({
        status: 429,
        code: 'rate_limited',
        message: 'Too many requests',
        details: [],
        request_id: '$pb_request_id',
      });
      expect(edge.retryAfterSeconds('20r/m')).toBe(3);
      expect(edge.retryAfterSeconds('6r/m')).toBe(10);
      expect(edge.retryAfterSeconds('7r/m')).toBe(9);
      expect(edge.retryAfterSeconds('50r/s')).toBe(1);
      expect(edge.retryAfterSeconds('garbage')).toBe(60);
    });

    it('refuses a route table where no service serves a limited path', () => {
      const without = {
        ...topology,
        services: { ...topology.services, auth: { ...topology.services.auth, prefixes: ['/admin/auth'] } },
      };
      expect(() => gen.renderNginx(without)).toThrow(/no service serves \/auth\/login/);
    });
  });

  describe('request ids', () => {
    it('sets $pb_request_id from edge.mjs, after the module is imported', () => {
      const names = http.map((d) => `${d.name} ${d.args.join(' ')}`);
      const set = names.indexOf('js_set $pb_request_id edge.requestId');
      expect(set).toBeGreaterThan(names.indexOf('js_import edge from /etc/nginx/edge.mjs'));
      expect(find(http, 'map').map((d) => d.args[1])).not.toContain('$pb_request_id');
    });

    it("keeps a client's safe id, and replaces one shaped like a card number with nginx's own as a UUID", () => {
      const r = (given?: string) => ({
        headersIn: { 'X-Request-Id': given },
        variables: { request_id: '0123456789abcdef0123456789abcdef' },
      });
      const ours = '01234567-89ab-cdef-0123-456789abcdef';
      expect(edge.requestId(r('demo-1'))).toBe('demo-1');
      expect(edge.requestId(r())).toBe(ours);
      for (const pan of [
        '5355221234567891',
        'pan-5355221234567891',
        '5355-2212-3456-7891',
        'x'.repeat(129),
        'a b',
      ])
        expect(edge.requestId(r(pan))).toBe(ours);
      // The same digits failing Luhn, a 13-digit timestamp failing it, and longer runs are kept.
      for (const id of ['5355221234567897', 'req-1733456789013', '12345678901234567890'])
        expect(edge.requestId(r(id))).toBe(id);
    });

    it('keeps every UUID and formats every id of its own so that the apps keep them too (10,000 random each)', () => {
      const hex = () => randomBytes(16).toString('hex');
      for (let i = 0; i < 10000; i++) {
        const uuid = randomUUID();
        expect(edge.acceptedRequestId(uuid)).toBe(uuid);
        const own = edge.requestId({ headersIn: {}, variables: { request_id: hex() } });
        expect(edge.acceptedRequestId(own)).toBe(own);
        expect(acceptRequestId(own)).toBe(own);
        expect(acceptRequestId(uuid)).toBe(uuid);
      }
    });
  });

  describe('the merged OpenAPI document (edge.mjs mergeDocs)', () => {
    const health = (service: string): OpenApi => ({
      paths: {
        '/health/ready': {
          get: {
            summary: 'Readiness',
            responses: {
              '200': { description: 'ok', content: { 'application/json': { schema: { $ref: 'x' } } } },
              '503': { description: 'down', headers: { 'X-Request-Id': {} } },
              '500': { description: 'a bug' },
            },
          },
        },
        '/health': { get: { responses: { '200': { description: 'ok' } } } },
        [`/${service}`]: { get: { responses: { '200': { description: service } } } },
        '/metrics': { get: { responses: { '200': { description: 'metrics' } } } },
      },
      components: { schemas: { [`${service}Dto`]: { type: 'object' } } },
    });

    it("documents /health and /health/ready as the edge answers them over every service, and the edge's own errors on every operation, keeping the services' answers", () => {
      const merged = edge.mergeDocs([health('auth'), health('users')], ['auth', 'users']);
      expect(Object.keys(merged.paths).sort()).toEqual(['/auth', '/health', '/health/ready', '/users']);
      for (const path of ['/health', '/health/ready']) {
        const responses = merged.paths[path].get.responses;
        expect(responses['200'].content).toEqual({
          'application/json': { schema: { $ref: '#/components/schemas/EdgeReadinessDto' } },
        });
        expect(responses['503'].description).toMatch(/^not_ready: /);
      }
      const ready = merged.paths['/health/ready'].get.responses;
      expect(ready['503'].headers).toEqual({ 'X-Request-Id': {} });
      expect(ready['500']).toEqual({ description: 'a bug' });
      expect(Object.keys(merged.components.schemas).sort()).toEqual([
        'EdgeReadinessDto',
        'authDto',
        'usersDto',
      ]);
      // Every operation lists what the edge itself answers, beside the service's own answers.
      const auth = merged.paths['/auth'].get.responses;
      expect(Object.keys(auth).sort()).toEqual(['200', '429', '502', '503', '504']);
      expect(auth['502'].description).toMatch(/^bad_gateway \(the edge\)/);
      expect(Object.keys(auth['429'].headers as object)).toEqual(['X-Request-Id', 'Retry-After']);
      expect(ready['503'].description).toMatch(/^not_ready: .*; service_unavailable \(the edge\)/);
      // Each error nginx renders itself (gen-nginx.js EDGE_ERRORS) is named where the merged document
      // lists its status; 405 answers methods the document has no operation for, and 400 (bad_request),
      // 413 (payload_too_large) and 431 (headers_too_large) every app documents itself on every operation
      // (addCommonResponses).
      for (const [status, code] of gen.EDGE_ERRORS.filter(
        ([status]) => ![400, 405, 413, 431].includes(status),
      )) {
        const documented = auth[String(status)] ?? { description: '' };
        expect({ status, description: documented.description }).toEqual({
          status,
          description: expect.stringMatching(new RegExp(`\\b${code}\\b`)),
        });
      }
      // The edge's 200 is what the schema says (the split suite checks the real edge's answers too).
      const ajv = new Ajv({ strict: false });
      const valid = ajv.compile(merged.components.schemas.EdgeReadinessDto as object);
      const answer = edge.readinessAnswer(
        [
          { service: 'auth', ok: true },
          { service: 'users', ok: true },
        ],
        'req-1',
      );
      expect(answer.status).toBe(200);
      expect(valid(answer.body)).toBe(true);
      expect(valid({ status: 'ok', services: { auth: 'down' } })).toBe(false);
    });
  });
});
