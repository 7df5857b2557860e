// What the edge answers itself, over every service: readiness, and one OpenAPI document for Swagger UI.
// One file for both edges: nginx loads it with njs (`js_import`, docker/nginx/nginx.conf), the local edge
// (scripts/edge.js) imports it. Written in what both run: njs 0.7 (Debian bookworm's) has no destructuring
// and no object spread.

/** Swagger UI at /docs, over the merged document instead of the serving service's own. */
const DOCS_INIT = `window.onload = function () {
  document.title = 'Protobank API';
  window.ui = SwaggerUIBundle({ url: '/docs-json', dom_id: '#swagger-ui', deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: 'StandaloneLayout' });
};`;

/**
 * The edge's /health/ready from each service's ({service, ok, message}): 200 naming every service up,
 * else 503 in the error shape naming each one that is not.
 */
function readinessAnswer(results, requestId) {
  const failing = results.filter((r) => !r.ok);
  if (failing.length === 0) {
    const services = {};
    results.forEach((r) => {
      services[r.service] = 'up';
    });
    return { status: 200, body: { status: 'ok', services: services } };
  }
  return {
    status: 503,
    body: {
      status: 503,
      code: 'not_ready',
      message: `not ready: ${failing.map((f) => f.service).join(', ')}`,
      details: failing.map((f) => ({ field: f.service, message: f.message || 'down' })),
      request_id: requestId,
    },
  };
}

/** What a service's readiness body says when it is not ready (Terminus, or our error shape). */
function readinessMessage(text) {
  // Not JSON (a proxy's HTML error page): no message. (No try/catch: njs 0.7 has no `catch {}`.)
  if (!/^\s*\{/.test(text || '')) return undefined;
  const body = JSON.parse(text);
  return (body && body.message) || undefined;
}

/** The edge's readiness answer (readinessAnswer), as the merged document gives it. */
const EDGE_READINESS_SCHEMA = {
  type: 'object',
  required: ['status', 'services'],
  properties: {
    status: { type: 'string', enum: ['ok'], example: 'ok' },
    services: {
      type: 'object',
      description: 'Every service of the topology, each up',
      additionalProperties: { type: 'string', enum: ['up'] },
      example: { auth: 'up', users: 'up' },
    },
  },
};

/**
 * A service's readiness operation as the edge answers it over every service: 200 naming each service up,
 * 503 `not_ready` naming each that is not (in `details`). The other answers stay the service's.
 */
function edgeReadiness(op) {
  const responses = Object.assign({}, op.responses);
  responses['200'] = Object.assign({}, responses['200'], {
    description: 'Every service of the topology is ready',
    content: { 'application/json': { schema: { $ref: '#/components/schemas/EdgeReadinessDto' } } },
  });
  responses['503'] = Object.assign({}, responses['503'], {
    description: 'not_ready: a service is not ready or does not answer; details name each one',
  });
  return Object.assign({}, op, {
    summary: 'Readiness of every service behind the edge',
    responses: responses,
  });
}

/**
 * What the edge itself answers on any path, in the error shape: nginx's (scripts/gen-nginx.js EDGE_ERRORS,
 * and its per-client limits in the containers) and the local edge's (scripts/edge.js: 502 and 504).
 */
const EDGE_ERRORS = [
  ['429', 'rate_limited', 'rate_limited (the edge in the containers): too many requests from this client'],
  ['502', 'bad_gateway', 'bad_gateway (the edge): the service for this path is not reachable'],
  ['503', 'service_unavailable', 'service_unavailable (the edge): the service for this path is unavailable'],
  [
    '504',
    'dependency_timeout',
    'dependency_timeout (the edge): the service for this path did not answer in time',
  ],
];

/** An operation with the edge's own errors documented beside (or added to) the service's. */
function withEdgeErrors(op) {
  const responses = Object.assign({}, op.responses);
  EDGE_ERRORS.forEach((e) => {
    const status = e[0];
    const documented = responses[status];
    if (documented && new RegExp('\\b' + e[1] + '\\b').test(documented.description || '')) return;
    const headers = { 'X-Request-Id': { description: "The request's id", schema: { type: 'string' } } };
    if (status === '429')
      headers['Retry-After'] = {
        description: 'Seconds to wait before trying again',
        schema: { type: 'integer' },
      };
    responses[status] = documented
      ? Object.assign({}, documented, { description: documented.description + '; ' + e[2] })
      : {
          description: e[2],
          headers: headers,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorResponseDto' } } },
        };
  });
  return Object.assign({}, op, { responses: responses });
}

/**
 * One document from the services' (given in `services` order): every path from the service that
 * serves it (`owner(path)`, when known), else from the first that documents it (health and docs exist in
 * every service); /metrics is left out (scraped per service, never through the edge); schemas from all.
 * /health and /health/ready are the edge's own answers, over every service (edgeReadiness), and every
 * operation also lists the errors the edge itself may answer (withEdgeErrors).
 */
function mergeDocs(docs, services, owner) {
  const first = docs[0];
  const merged = Object.assign({}, first, {
    info: Object.assign({}, first.info, { title: 'Protobank API' }),
    paths: {},
    components: Object.assign({}, first.components, { schemas: {} }),
  });
  docs.forEach((doc, i) => {
    Object.keys(doc.paths || {}).forEach((p) => {
      if (p === '/metrics') return;
      const mine = owner ? owner(p) === services[i] : false;
      if (mine || !merged.paths[p]) merged.paths[p] = doc.paths[p];
    });
    Object.assign(merged.components.schemas, (doc.components && doc.components.schemas) || {});
  });
  ['/health', '/health/ready'].forEach((p) => {
    if (merged.paths[p] && merged.paths[p].get) merged.paths[p] = { get: edgeReadiness(merged.paths[p].get) };
  });
  Object.keys(merged.paths).forEach((p) => {
    const item = Object.assign({}, merged.paths[p]);
    Object.keys(item).forEach((method) => {
      if (item[method] && item[method].responses) item[method] = withEdgeErrors(item[method]);
    });
    merged.paths[p] = item;
  });
  merged.components.schemas.EdgeReadinessDto = EDGE_READINESS_SCHEMA;
  return merged;
}

/**
 * Retry-After of the edge's 429, in whole seconds: the time until a limit_req zone of this rate admits
 * one more request ("10r/m" -> 6, "50r/s" -> 1).
 */
function retryAfterSeconds(rate) {
  const m = /^(\d+)r\/([sm])$/.exec(rate || '');
  if (!m || Number(m[1]) === 0) return 60;
  return Math.max(1, Math.ceil((m[2] === 'm' ? 60 : 1) / Number(m[1])));
}

/** Whether `digits` ends in its Luhn check digit (ISO/IEC 7812-1), as every card number does. */
function luhnValid(digits) {
  let sum = 0;
  for (let i = digits.length - 1, double = false; i >= 0; i--, double = !double) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

// 13 to 19 digits between non-digits; or four-digit groups joined by one separator, between characters
// that are not letters or digits (so no UUID, whose digit runs stop at 12, ever matches either form).
// Lookaheads and a capture for the left edge: njs 0.7 has no lookbehind.
const CARD_RUN = /(?:^|[^0-9])([0-9]{13,19})(?=[^0-9]|$)/g;
const CARD_GROUPS = /(?:^|[^0-9A-Za-z])([0-9]{4}([-_.:])[0-9]{4}\2[0-9]{4}\2[0-9]{1,7})(?=[^0-9A-Za-z]|$)/g;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Whether `text` holds what may be a card number (either form above, passing Luhn). The apps apply the
 * same rule (libs/platform/src/security/luhn.ts).
 */
function mayHoldCardNumber(text) {
  const patterns = [CARD_RUN, CARD_GROUPS];
  for (let p = 0; p < patterns.length; p++) {
    const re = patterns[p];
    re.lastIndex = 0;
    let m;
    while ((m = re.exec(text)) !== null) {
      if (luhnValid(m[1].replace(/[^0-9]/g, ''))) return true;
      re.lastIndex = m.index + m[0].length;
    }
  }
  return false;
}

/**
 * A client's X-Request-Id when it is 1-128 safe characters holding nothing shaped like a card number (it
 * is logged and echoed), else null: the edge makes its own.
 */
function acceptedRequestId(value) {
  return typeof value === 'string' && REQUEST_ID.test(value) && !mayHoldCardNumber(value) ? value : null;
}

// ---- njs handlers: each service is reached by an internal location per service (see gen-nginx.js) ----

function services(r) {
  return r.variables.pb_services.split(' ');
}

function sendJson(r, status, body) {
  r.headersOut['Content-Type'] = 'application/json; charset=utf-8';
  r.headersOut['Cache-Control'] = 'no-store';
  r.headersOut['X-Request-Id'] = r.variables.pb_request_id;
  r.return(status, JSON.stringify(body));
}

async function ready(r) {
  const names = services(r);
  const results = await Promise.all(
    names.map((s) =>
      r
        .subrequest(`/_edge/ready/${s}`)
        .then((reply) => ({
          service: s,
          ok: reply.status === 200,
          message: reply.status === 200 ? undefined : readinessMessage(reply.responseText),
        }))
        .catch((err) => ({ service: s, ok: false, message: String(err) })),
    ),
  );
  const answer = readinessAnswer(results, r.variables.pb_request_id);
  sendJson(r, answer.status, answer.body);
}

async function docs(r) {
  const names = services(r);
  try {
    const replies = await Promise.all(names.map((s) => r.subrequest(`/_edge/docs/${s}`)));
    const failed = replies.findIndex((reply) => reply.status !== 200);
    if (failed !== -1) throw new Error(`${names[failed]} answered ${replies[failed].status}`);
    const merged = mergeDocs(
      replies.map((reply) => JSON.parse(reply.responseText)),
      names,
      null,
    );
    sendJson(r, 200, merged);
  } catch (e) {
    r.error(`merged docs: ${e}`);
    sendJson(r, 502, {
      status: 502,
      code: 'bad_gateway',
      message: 'The services documents could not be read',
      details: [],
      request_id: r.variables.pb_request_id,
    });
  }
}

/**
 * js_set $pb_request_id: the client's id (acceptedRequestId), else nginx's own, written as a UUID: its 32
 * hex digits as they come could hold a run the apps would take for a card number and replace.
 */
function requestId(r) {
  const given = acceptedRequestId(r.headersIn['X-Request-Id']);
  if (given) return given;
  const id = r.variables.request_id;
  return `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20)}`;
}

/**
 * What the edge's rate limits count a client by (the apps' rule, libs/platform/src/security/
 * client-address.ts): an IPv4 address as it is, also written IPv4-mapped (`::ffff:a.b.c.d`); the IPv4
 * client a NAT64 (`64:ff9b::/96`), 6to4 or Teredo address carries; any other IPv6 address by its network
 * of `prefixBits` (32-128, 64 when not given), which one customer of an ISP or a cloud holds whole, to
 * take a fresh address from for every request. Written out here (njs has no ipaddr.js): every group of
 * the address, `::` filled in and a dotted IPv4 tail as two groups; the key is the network's groups that
 * hold prefix bits, then `::` when groups follow, then `/prefixBits`. Anything else ($remote_addr never
 * is) as written.
 */
function rateLimitKey(address, prefixBits) {
  const bits = prefixBits === undefined ? 64 : prefixBits;
  let text = String(address).toLowerCase();
  if (text.indexOf(':') < 0) return text;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  const dotted = /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (dotted) {
    const hex = (a, b) => ((Number(a) << 8) | Number(b)).toString(16);
    text = `${dotted[1]}${hex(dotted[2], dotted[3])}:${hex(dotted[4], dotted[5])}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return text;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return text;
  const groups = head.concat(new Array(missing).fill('0'), tail).map((g) => parseInt(g, 16));
  if (groups.some((g) => !(g >= 0 && g <= 0xffff))) return text;
  const v4 = (hi, lo) => [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
  const zero = (from, to) => groups.slice(from, to).every((g) => g === 0);
  // IPv4-mapped; NAT64's well-known prefix; a 6to4 site; Teredo (the client's address, obfuscated).
  if (zero(0, 5) && groups[5] === 0xffff) return v4(groups[6], groups[7]);
  if (groups[0] === 0x64 && groups[1] === 0xff9b && zero(2, 6)) return v4(groups[6], groups[7]);
  if (groups[0] === 0x2002) return v4(groups[1], groups[2]);
  if (groups[0] === 0x2001 && groups[1] === 0) return v4(groups[6] ^ 0xffff, groups[7] ^ 0xffff);
  const held = Math.ceil(bits / 16);
  const network = groups.slice(0, held).map((g, i) => {
    const kept = Math.min(16, bits - 16 * i);
    return (g & ((0xffff << (16 - kept)) & 0xffff)).toString(16);
  });
  return `${network.join(':')}${held < 8 ? '::' : ''}/${bits}`;
}

/** A prefix length the edge accepts (the apps' RATE_LIMIT_IPV6_PREFIX: 32-128). */
function validPrefix(text) {
  const bits = Number(text);
  return /^\d+$/.test(String(text)) && bits >= 32 && bits <= 128 ? bits : undefined;
}

/**
 * js_set $pb_client_key: the key of the edge's rate limits, rateLimitKey of the client's address with the
 * prefix $pb_ipv6_prefix (EDGE_IPV6_PREFIX, which the split stack sets to RATE_LIMIT_IPV6_PREFIX). For an
 * IPv6 client, one outside 32-128 is logged as an error and /64 is used (the apps refuse to start with it).
 */
function clientKey(r) {
  const address = r.variables.remote_addr;
  if (String(address).indexOf(':') < 0) return rateLimitKey(address);
  const configured = r.variables.pb_ipv6_prefix;
  let bits = validPrefix(configured);
  if (bits === undefined) {
    r.error(
      `EDGE_IPV6_PREFIX ${JSON.stringify(configured)} is not a prefix length of 32-128: counting by /64`,
    );
    bits = 64;
  }
  return rateLimitKey(address, bits);
}

/** js_set $pb_retry_after: from the rate of the zone that limits this path ($pb_limit_rate). */
function retryAfter(r) {
  return String(retryAfterSeconds(r.variables.pb_limit_rate));
}

function docsInit(r) {
  r.headersOut['Content-Type'] = 'application/javascript; charset=utf-8';
  r.return(200, DOCS_INIT);
}

export default {
  DOCS_INIT,
  mayHoldCardNumber,
  acceptedRequestId,
  requestId,
  readinessAnswer,
  readinessMessage,
  mergeDocs,
  retryAfterSeconds,
  ready,
  docs,
  docsInit,
  retryAfter,
  rateLimitKey,
  validPrefix,
  clientKey,
};
