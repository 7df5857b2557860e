#!/usr/bin/env node
/**
 * Writes docker/nginx/nginx.conf, the edge of the split compose topology, from the one route table
 * (libs/platform/src/topology/services.json), so nginx, the local edge (scripts/edge.js) and
 * serviceForPath() can never disagree about which service serves a path.
 *
 *   node scripts/gen-nginx.js          regenerate the files
 *   node scripts/gen-nginx.js --check  exit 1 if a file on disk is not what services.json generates
 *
 * Besides nginx.conf it writes docker/nginx/templates/*.template: what each deployment tunes (request
 * rates and bursts, the public HTTPS port). nginx reads no environment, so the image's entrypoint renders
 * them with envsubst into /etc/nginx/conf.d/ at start (the official image's templates feature; the test
 * stand-in does the same), and nginx.conf includes the results.
 *
 * Plain CommonJS with no dependencies: it runs before `npm ci` and in CI without a build.
 */
const { mkdirSync, readFileSync, writeFileSync } = require('node:fs');
const path = require('node:path');
const { EDGE_OWN_PATHS } = require('./lib/topology');

const root = path.resolve(__dirname, '..');
const SOURCE = 'libs/platform/src/topology/services.json';
const TARGET = 'docker/nginx/nginx.conf';
const TEMPLATES = 'docker/nginx/templates';
/** Where the entrypoint writes the rendered templates (NGINX_ENVSUBST_OUTPUT_DIR's default). */
const RENDERED = '/etc/nginx/conf.d';

// Errors nginx itself produces, rendered in the project's one error shape (codes as in app-error.ts); a
// fifth element is the status nginx raises when it is not the one answered.
const EDGE_ERRORS = [
  // A request nginx cannot parse, or HTTP/1.1 without Host (it would answer in HTML).
  [400, 'bad_request', 'Malformed HTTP request'],
  // A header line over large_client_header_buffers' 8k: nginx's internal 494, which it answers as an
  // HTML 400; the apps answer 431 past Node's 16 KiB in all.
  [431, 'headers_too_large', 'The request headers are too large', undefined, 494],
  // nginx refuses TRACE itself; the edge's own paths take GET and HEAD only (Allow from $pb_allow).
  [405, 'method_not_allowed', '$request_method is not allowed on this path', 'method'],
  [413, 'payload_too_large', 'Request body exceeds 1mb'],
  [429, 'rate_limited', 'Too many requests'],
  [502, 'bad_gateway', 'The service for this path is not reachable'],
  [503, 'service_unavailable', 'The service for this path is unavailable'],
  [504, 'dependency_timeout', 'The service for this path did not answer in time'],
];

/** Headers some of the edge's own errors add (an empty value sends none). */
const EDGE_ERROR_HEADERS = {
  405: ['add_header Allow $pb_allow always;'],
  429: ['add_header Retry-After $pb_retry_after always;'],
};

const GET_ONLY = '      if ($request_method !~ ^(GET|HEAD)$) { return 405; }';

/**
 * Request rates per client IP (limit_req, leaky bucket): every request counts against `general`; the
 * paths below also against their own stricter zone. Rates and bursts are the EDGE_* variables of the
 * templates (defaults in docker/docker-compose.split.yml). A path is a prefix, so `/auth/login/` and
 * `/auth/login?x` are limited too.
 */
const LIMIT_ZONES = [
  { zone: 'general', variable: 'GENERAL' },
  { zone: 'login', variable: 'LOGIN', path: '/auth/login' },
  { zone: 'register', variable: 'REGISTER', path: '/auth/register' },
];

/**
 * The security headers of every answer that leaves the edge, proxied or its own: the apps' helmet set
 * (SECURITY_HEADERS in libs/platform/src/http/configure-http.ts; a unit test keeps the two equal), which
 * nginx sends itself and hides from upstream answers, so each reaches the client once, also on the
 * edge's own errors, health answers and redirects. HSTS is the edge's alone (only it knows the scheme):
 * two years, on HTTPS answers only (browsers ignore it over plain HTTP, and RFC 6797 forbids it there).
 */
const SECURITY_HEADERS = [
  [
    'Content-Security-Policy',
    "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src 'self';script-src-attr 'none';style-src 'self' 'unsafe-inline';upgrade-insecure-requests",
  ],
  ['Cross-Origin-Opener-Policy', 'same-origin'],
  ['Cross-Origin-Resource-Policy', 'same-origin'],
  ['Origin-Agent-Cluster', '?1'],
  ['Referrer-Policy', 'no-referrer'],
  ['X-Content-Type-Options', 'nosniff'],
  ['X-DNS-Prefetch-Control', 'off'],
  ['X-Download-Options', 'noopen'],
  ['X-Frame-Options', 'SAMEORIGIN'],
  ['X-Permitted-Cross-Domain-Policies', 'none'],
  ['X-XSS-Protection', '0'],
];
const HSTS = 'max-age=63072000; includeSubDomains';

/**
 * TLS 1.2 and 1.3 only; for 1.2, forward-secret AEAD suites (Mozilla's "intermediate" list without the
 * DHE ones, which would need a dhparam file). TLS 1.3's suites are all modern and are OpenSSL's default.
 */
const TLS_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** The add_header lines every location that sets its own headers must repeat (nginx drops inherited ones). */
function headerLines(indent, extra = []) {
  return [
    ...SECURITY_HEADERS.map(([name, value]) => `${indent}add_header ${name} "${value}" always;`),
    `${indent}add_header Strict-Transport-Security $pb_hsts always;`,
    `${indent}add_header X-Request-Id $pb_request_id always;`,
    ...extra.map((line) => `${indent}${line}`),
  ];
}

function limitInclude(zone) {
  return `${RENDERED}/edge-limits-${zone}.conf`;
}

/** docker/nginx/templates/<name>.template: file name -> text, rendered by envsubst at container start. */
function renderTemplates() {
  const header = [
    `# GENERATED by scripts/gen-nginx.js — do not edit. A template: the nginx image's entrypoint replaces`,
    `# each \${EDGE_...} with that environment variable (docker/docker-compose.split.yml sets them) and writes`,
    `# the result to ${RENDERED}/, which nginx.conf includes.`,
  ];
  const zone = (z) => `${z.zone}:10m`;
  const http = [
    ...header,
    '# One 10 MB zone per limit holds ~80k clients (an IPv4 address, or an IPv6 network: $pb_client_key,',
    '# edge.mjs rateLimitKey); the least recently used go first.',
    ...LIMIT_ZONES.map(
      (z) => `limit_req_zone $pb_client_key zone=${zone(z)} rate=\${EDGE_RATE_${z.variable}};`,
    ),
    '# Every request, unless its location sets its own limits (then those include this one again).',
    'limit_req zone=general burst=${EDGE_BURST_GENERAL} nodelay;',
    '# The rate of the zone that limits a path: Retry-After of a 429 is the time until the next slot (edge.retryAfter).',
    'map $uri $pb_limit_rate {',
    ...LIMIT_ZONES.filter((z) => z.path).map(
      (z) => `  "~^${z.path.replace(/[.]/g, '\\.')}" "\${EDGE_RATE_${z.variable}}";`,
    ),
    '  default "${EDGE_RATE_GENERAL}";',
    '}',
    "# The bits of an IPv6 address a client is counted by (32-128; the apps' RATE_LIMIT_IPV6_PREFIX).",
    'map "" $pb_ipv6_prefix {',
    '  default "${EDGE_IPV6_PREFIX}";',
    '}',
    '# Where plain HTTP redirects to: the HTTPS port clients reach (443 is left out of the URL).',
    'map "${EDGE_HTTPS_PORT}" $pb_https_port {',
    '  443 "";',
    '  default ":${EDGE_HTTPS_PORT}";',
    '}',
    '',
  ];
  const files = { 'edge-limits.conf.template': http.join('\n') };
  for (const z of LIMIT_ZONES.filter((l) => l.path)) {
    files[`edge-limits-${z.zone}.conf.template`] = [
      ...header,
      `# ${z.path}: the general limit, and the stricter ${z.zone} zone.`,
      'limit_req zone=general burst=${EDGE_BURST_GENERAL} nodelay;',
      `limit_req zone=${z.zone} burst=\${EDGE_BURST_${z.variable}} nodelay;`,
      '',
    ].join('\n');
  }
  return files;
}

function errorBody(status, code, message, field) {
  const details = field ? `[{"field":"${field}","message":"not allowed on this path"}]` : '[]';
  const body = `{"status":${status},"code":"${code}","message":"${message}","details":${details},"request_id":"$pb_request_id"}`;
  return `'${body}'`;
}

/** Both forms, so `/auth` and `/auth/...` match but `/authx` does not (nginx's plain prefix would). */
function prefixLocations(prefix, upstream, indent) {
  return [`location = ${prefix} {`, `location ^~ ${prefix}/ {`].flatMap((open) => [
    `${indent}${open}`,
    `${indent}  proxy_pass http://${upstream};`,
    `${indent}}`,
  ]);
}

// Paths the edge answers itself or keeps internal: no service may claim them as a prefix.
const RESERVED = ['/health', '/docs', '/docs-json', '/metrics'];

/** The service whose prefix is the longest one of `p` (as nginx and serviceForPath() pick). */
function serviceOf(topology, p) {
  let best;
  for (const [service, spec] of Object.entries(topology.services))
    for (const prefix of spec.prefixes)
      if ((p === prefix || p.startsWith(`${prefix}/`)) && (!best || prefix.length > best[1].length))
        best = [service, prefix];
  return best?.[0];
}

/** Refuses a route table nginx would reject or route surprisingly (duplicate or malformed prefixes). */
function checkTopology(topology) {
  const seen = new Map();
  const fail = (message) => {
    throw new Error(`${SOURCE}: ${message}`);
  };
  for (const [service, spec] of Object.entries(topology.services)) {
    if (!/^[a-z][a-z0-9-]*$/.test(service)) fail(`service name "${service}" is not a valid host name`);
    for (const prefix of spec.prefixes) {
      if (!/^(\/[a-z0-9-]+)+$/.test(prefix)) fail(`${service}: prefix "${prefix}" must look like /a or /a/b`);
      if (RESERVED.some((r) => prefix === r || prefix.startsWith(`${r}/`)))
        fail(`${service}: "${prefix}" is reserved`);
      if (seen.has(prefix)) fail(`prefix "${prefix}" is claimed by ${seen.get(prefix)} and ${service}`);
      seen.set(prefix, service);
    }
  }
}

/** The whole nginx.conf for a parsed services.json. */
function renderNginx(topology) {
  checkTopology(topology);
  for (const z of LIMIT_ZONES.filter((l) => l.path))
    if (!serviceOf(topology, z.path))
      throw new Error(`${SOURCE}: no service serves ${z.path} (limit ${z.zone})`);
  const services = Object.entries(topology.services);
  const lines = [
    `# GENERATED by scripts/gen-nginx.js from ${SOURCE} — do not edit`,
    '# Regenerate with `node scripts/gen-nginx.js`; CI runs `node scripts/gen-nginx.js --check`.',
    '',
    'user nginx; # workers write /var/cache/nginx (proxy buffers), which the image gives to this user',
    'worker_processes 1; # the edge only proxies; one worker stays well inside the 64m limit',
    'error_log /var/log/nginx/error.log warn;',
    'pid /var/run/nginx.pid;',
    '# njs, for the answers over every service (readiness, merged docs): docker/nginx/edge.mjs, which the',
    '# local edge (scripts/edge.js) shares. The official image ships the module under /etc/nginx/modules.',
    'load_module modules/ngx_http_js_module.so;',
    '',
    'events {',
    '  worker_connections 1024;',
    '}',
    '',
    'http {',
    '  server_tokens off;',
    '  default_type application/json;',
    '  sendfile on;',
    '  keepalive_timeout 65s;',
    '',
    '  # The path only, never the query string: it may carry an access token (the notifications stream).',
    `  log_format edge escape=json '{"time":"$time_iso8601","request_id":"$pb_request_id",'`,
    `    '"method":"$request_method","path":"$uri","status":$status,'`,
    `    '"upstream":"$upstream_addr","duration_s":$request_time}';`,
    '  access_log /var/log/nginx/access.log edge;',
    '',
    '  js_import edge from /etc/nginx/edge.mjs;',
    "  # The client's request id when short, safe and holding nothing shaped like a card number (it is",
    "  # logged and echoed), else nginx's own as a UUID (edge.mjs requestId; the apps apply the same rule).",
    '  js_set $pb_request_id edge.requestId;',
    '',
    '  # Request rates per client IP: the zones, their rates and bursts, and the public HTTPS port come',
    `  # from the deployment (docker/nginx/templates, rendered into ${RENDERED} at start). Past a limit: 429`,
    '  # in the error shape (@edge_429) with Retry-After, the time until the zone admits the next request.',
    '  # Counted per client: an IPv4 address, or an IPv6 network (a /64 by default: a customer holds one whole;',
    '  # EDGE_IPV6_PREFIX, edge.mjs clientKey).',
    '  js_set $pb_client_key edge.clientKey;',
    `  include ${RENDERED}/edge-limits.conf;`,
    '  limit_req_status 429;',
    '  limit_req_log_level warn;',
    '  js_set $pb_retry_after edge.retryAfter;',
    '',
    '  # HSTS on HTTPS answers only.',
    '  map $scheme $pb_hsts {',
    `    https "${HSTS}";`,
    '    default "";',
    '  }',
    '  # The Allow of a 405 from the edge: its own paths take GET and HEAD; for a TRACE elsewhere (refused',
    '  # by nginx before any location) it does not know the methods, and sends none.',
    '  map $uri $pb_allow {',
    ...EDGE_OWN_PATHS.map((path) => `    "${path}" "GET, HEAD";`),
    '    default "";',
    '  }',
    "  # Plain HTTP is redirected to HTTPS, except health checks (load balancers, Docker's healthcheck).",
    '  map $scheme$uri $pb_to_https {',
    '    "~^http/health(/|$)" 0;',
    '    "~^http/" 1;',
    '    default 0;',
    '  }',
    '',
    '  # One upstream per service; keepalive reuses connections (needs HTTP/1.1 and an empty Connection).',
    '  # Names resolve when nginx starts: after recreating a service container, `nginx -s reload`.',
    ...services.map(
      ([service, spec]) => `  upstream ${service} { server ${service}:${spec.port}; keepalive 16; }`,
    ),
    '',
    '  server {',
    '    # TLS terminates here; the apps behind speak plain HTTP on the private compose network.',
    '    listen 80;',
    '    listen 443 ssl;',
    '    # Docker secrets (tls_cert: the certificate chain, leaf first; tls_key: its private key), read by',
    '    # the master process as root at start and on `nginx -s reload` (how a renewed certificate is loaded).',
    '    ssl_certificate /run/secrets/tls_cert;',
    '    ssl_certificate_key /run/secrets/tls_key;',
    '    ssl_protocols TLSv1.2 TLSv1.3;',
    `    ssl_ciphers ${TLS_CIPHERS};`,
    '    ssl_prefer_server_ciphers off; # every suite offered is strong: let clients pick what is fast for them',
    '    ssl_session_cache shared:TLS:10m;',
    '    ssl_session_timeout 1d;',
    '    ssl_session_tickets off; # resumption by the cache above: no ticket key that never rotates',
    '',
    '    if ($pb_to_https) {',
    '      return 308 https://$host$pb_https_port$request_uri; # 308: the method and body are kept',
    '    }',
    '',
    '    # The security headers of every answer (headerLines in gen-nginx.js): the upstream copies are hidden,',
    '    # nginx sends one of each. A location that sets any add_header must repeat them all.',
    ...[...SECURITY_HEADERS.map(([name]) => name), 'Strict-Transport-Security'].map(
      (name) => `    proxy_hide_header ${name};`,
    ),
    ...headerLines('    ').slice(0, -1),
    '',
    '    client_max_body_size 1m; # = BODY_LIMIT: the edge rejects what every service would reject',
    '    # Slow clients. nginx reads and buffers a whole body before proxying it, so a body trickled byte',
    '    # by byte never holds an app (each app also times requests out: HTTP_REQUEST_TIMEOUT_MS). Here the',
    '    # headers must arrive within 10 s (= HTTP_HEADERS_TIMEOUT_MS), and a body may pause at most 10 s',
    '    # between two reads (nginx has no deadline for a whole body); timed-out sockets are reset, not kept.',
    '    client_header_timeout 10s;',
    '    client_body_timeout 10s;',
    '    proxy_request_buffering on;',
    '    send_timeout 30s;',
    '    reset_timedout_connection on;',
    '',
    '    # Inherited by every location below; a location that sets any proxy_set_header would lose them all.',
    '    proxy_http_version 1.1;',
    '    proxy_set_header Connection "";',
    '    proxy_set_header Host $host;',
    '    proxy_set_header X-Request-Id $pb_request_id;',
    '    # nginx is the outermost hop: replace, never extend, a client-sent X-Forwarded-For (it could be forged).',
    '    proxy_set_header X-Forwarded-For $remote_addr;',
    '    proxy_set_header X-Forwarded-Proto $scheme;',
    '    proxy_connect_timeout 5s;',
    '    proxy_read_timeout 30s;',
    '',
    // A status nginx raises under another number is answered as the one listed (`=`: nginx would
    // otherwise keep its own, e.g. 400 for its 494).
    ...EDGE_ERRORS.map(([status, , , , raised]) =>
      raised
        ? `    error_page ${raised} =${status} @edge_${status};`
        : `    error_page ${status} @edge_${status};`,
    ),
    ...EDGE_ERRORS.flatMap(([status, code, message, field]) => [
      `    location @edge_${status} {`,
      ...headerLines('      ', EDGE_ERROR_HEADERS[status]),
      `      return ${status} ${errorBody(status, code, message, field)};`,
      '    }',
    ]),
    '',
    "    # Liveness of the edge itself; readiness is every service's (edge.ready asks each one, as the",
    '    # local edge does). /metrics stays internal: scrape each service, never through the edge.',
    '    location = /health/live {',
    GET_ONLY,
    ...headerLines('      '),
    `      return 200 '{"status":"ok","info":{},"error":{},"details":{}}';`,
    '    }',
    `    set $pb_services "${services.map(([service]) => service).join(' ')}";`,
    '    location = /health {',
    GET_ONLY,
    '      js_content edge.ready;',
    '    }',
    '    location = /health/ready {',
    GET_ONLY,
    '      js_content edge.ready;',
    '    }',
    '',
    "    # One OpenAPI document merged from every service's, under Swagger UI served by auth (edge.docs).",
    ...prefixLocations('/docs', 'auth', '    '),
    '    location = /docs/swagger-ui-init.js {',
    GET_ONLY,
    '      js_content edge.docsInit;',
    '    }',
    '    location = /docs-json {',
    GET_ONLY,
    '      js_content edge.docs;',
    '    }',
    '    # What edge.ready and edge.docs ask each service (subrequests only).',
    ...services.flatMap(([service]) => [
      `    location = /_edge/ready/${service} {`,
      '      internal;',
      `      proxy_pass http://${service}/health/ready;`,
      '      proxy_read_timeout 3s;',
      '      subrequest_output_buffer_size 64k;',
      '    }',
      `    location = /_edge/docs/${service} {`,
      '      internal;',
      `      proxy_pass http://${service}/docs-json;`,
      '      subrequest_output_buffer_size 4m;',
      '      proxy_buffers 32 32k; # a document (up to 1 MB) in memory, never in a temporary file',
      '      proxy_max_temp_file_size 0;',
      '    }',
    ]),
    '',
    // Order does not matter to nginx (the longest matching prefix wins); grouped by service to read.
    ...services.flatMap(([service, spec]) => [
      `    # ${service} (:${spec.port}): ${spec.prefixes.join(' ')}`,
      ...spec.prefixes.flatMap((prefix) => prefixLocations(prefix, service, '    ')),
      ...LIMIT_ZONES.filter((z) => z.path && serviceOf(topology, z.path) === service).flatMap((z) => [
        `    location ^~ ${z.path} {`,
        `      include ${limitInclude(z.zone)}; # its own zone as well as the general one`,
        `      proxy_pass http://${service};`,
        '    }',
      ]),
    ]),
    '',
    '    location / {',
    ...headerLines('      '),
    `      return 404 ${errorBody(404, 'not_found', 'No service serves this path')};`,
    '    }',
    '  }',
    '}',
    '',
  ];
  return lines.join('\n');
}

/** Every generated file: path from the repository root -> its text. */
function renderAll(topology) {
  const files = { [TARGET]: renderNginx(topology) };
  for (const [name, text] of Object.entries(renderTemplates())) files[`${TEMPLATES}/${name}`] = text;
  return files;
}

/** Why `actual` is not `expected` (the first differing line), or undefined when equal. */
function difference(file, actual, expected) {
  if (actual === expected) return undefined;
  const a = actual.split('\n');
  const e = expected.split('\n');
  const line = e.findIndex((text, n) => text !== a[n]);
  const at = line === -1 ? a.length : line;
  return (
    `${file} differs from what ${SOURCE} generates (first at line ${at + 1}):\n` +
    `  on disk:   ${a[at] ?? '<end of file>'}\n  generated: ${e[at] ?? '<end of file>'}\n`
  );
}

function main(argv) {
  const topology = JSON.parse(readFileSync(path.join(root, SOURCE), 'utf8'));
  const files = renderAll(topology);
  if (!argv.includes('--check')) {
    mkdirSync(path.join(root, TEMPLATES), { recursive: true });
    for (const [file, text] of Object.entries(files)) {
      writeFileSync(path.join(root, file), text);
      process.stdout.write(`wrote ${file}\n`);
    }
    return 0;
  }
  let failed = false;
  for (const [file, expected] of Object.entries(files)) {
    let actual;
    try {
      actual = readFileSync(path.join(root, file), 'utf8');
    } catch {
      process.stderr.write(`${file} is missing: run node scripts/gen-nginx.js\n`);
      failed = true;
      continue;
    }
    const diff = difference(file, actual, expected);
    if (diff) {
      process.stderr.write(diff);
      failed = true;
    }
  }
  if (failed) process.stderr.write('Run node scripts/gen-nginx.js and commit the result.\n');
  return failed ? 1 : 0;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));

module.exports = {
  renderNginx,
  renderTemplates,
  renderAll,
  SECURITY_HEADERS,
  HSTS,
  LIMIT_ZONES,
  EDGE_ERRORS,
};
