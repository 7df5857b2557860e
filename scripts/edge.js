#!/usr/bin/env node
/**
 * The local edge of the split topology: one port (3000) in front of the eight services, routing each
 * path by longest prefix from the same route table nginx is generated from (services.json), so a client
 * sees the same API on :3000 in both topologies. In compose, nginx plays this part.
 *
 * Beyond plain proxying it answers what no single service can:
 *   /health/live            the edge itself
 *   /health, /health/ready  every service's readiness; 503 naming the ones not ready
 *   /docs-json              the OpenAPI documents of all services merged into one
 *   /docs                   Swagger UI (assets from a service) over that merged document
 * and never routes /metrics (no service claims it): each app's metrics are scraped on its own port.
 */
const http = require('node:http');
const { randomUUID } = require('node:crypto');
const {
  EDGE_OWN_PATHS,
  EDGE_PORT,
  SERVICES,
  SERVICE_NAMES,
  serviceForPath,
  isStreamPath,
} = require('./lib/topology');
// Readiness over every service and the merged OpenAPI document, shared with nginx (njs loads the same file).
const shared = require('../docker/nginx/edge.mjs').default;

const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
];
/** Upstream connections per service that ordinary requests share (createEdge's `maxSockets`). */
const MAX_SOCKETS = 256;
/**
 * Event streams hold their upstream connection for as long as they last: they get connections of their
 * own, so open streams never queue the ordinary requests behind them. A stream is known by its path
 * (services.json `streams`), whatever the client's Accept says: a stream asked for without
 * `Accept: text/event-stream` is still one (helper-133), and a few dozen of them would otherwise hold
 * every pooled connection to its service.
 */
const isStream = (req, path) =>
  isStreamPath(decodedPath(path)) || String(req.headers.accept || '').includes('text/event-stream');

/**
 * The path as the services' router reads it: percent-decoded (`/notifications/%73tream` is the stream:
 * helper-135). One that does not decode stays as it is.
 */
function decodedPath(path) {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** The client's id if nginx would keep it (edge.mjs: safe characters, nothing like a card number). */
function requestIdOf(req) {
  return shared.acceptedRequestId(req.headers['x-request-id']) || randomUUID();
}

function sendJson(res, status, body, requestId) {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(json),
    'x-request-id': requestId,
    'cache-control': 'no-store',
  });
  res.end(json);
}

/**
 * What Node's server refuses itself, in the one error shape, then the socket is closed: a request not
 * received within the timeouts (408), oversized headers (431), a malformed request (400).
 */
function onClientError(err, socket) {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] = {
    ERR_HTTP_REQUEST_TIMEOUT: [408, 'request_timeout', 'The request was not received in time'],
    HPE_HEADER_OVERFLOW: [431, 'headers_too_large', 'The request headers are too large'],
  }[err.code] || [400, 'bad_request', 'Malformed HTTP request'];
  const inFlight = socket._httpMessage; // the response of a request whose body was still arriving
  const requestId = inFlight && inFlight.req ? requestIdOf(inFlight.req) : randomUUID();
  if (socket.writable && !(inFlight && inFlight.headersSent)) {
    const body = JSON.stringify({ status, code, message, details: [], request_id: requestId });
    socket.write(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nx-request-id: ${requestId}\r\ncache-control: no-store\r\n` +
        `connection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

function sendError(res, status, code, message, requestId, details = []) {
  sendJson(res, status, { status, code, message, details, request_id: requestId }, requestId);
}

const OWN_PATHS = new Set(EDGE_OWN_PATHS);

async function getJson(url, timeoutMs = 3000) {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: await res.json().catch(() => null) };
}

async function readiness(upstreams, res, requestId) {
  const results = await Promise.all(
    SERVICE_NAMES.map(async (s) => {
      try {
        const { status, body } = await getJson(`${upstreams[s]}/health/ready`);
        return { service: s, ok: status === 200, message: body && body.message };
      } catch (err) {
        return { service: s, ok: false, message: err.message };
      }
    }),
  );
  const answer = shared.readinessAnswer(results, requestId);
  sendJson(res, answer.status, answer.body, requestId);
}

async function mergedDocs(upstreams) {
  const docs = await Promise.all(
    SERVICE_NAMES.map((s) => getJson(`${upstreams[s]}/docs-json`).then((r) => r.body)),
  );
  return shared.mergeDocs(docs, SERVICE_NAMES, serviceForPath);
}

/** Same rule as repeatedHeader() in libs/platform/src/http/configure-http.ts: Node keeps only the first. */
function repeatedHeader(rawHeaders) {
  const seen = new Set();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    if (name !== 'authorization' && name !== 'content-type') continue;
    if (seen.has(name)) return rawHeaders[i];
    seen.add(name);
  }
  return undefined;
}

/**
 * Sends the request to `target` and its answer back. `agents.pooled` is shared by ordinary requests,
 * `agents.own` gives a connection of its own (streams, and a second try). `stream`: isStream's answer,
 * from the path the caller already parsed.
 */
function proxy(req, res, target, requestId, { readTimeoutMs, agents }, stream) {
  const repeated = repeatedHeader(req.rawHeaders);
  if (repeated) {
    req.resume();
    return sendError(res, 400, 'bad_request', `The ${repeated} header is given twice`, requestId);
  }
  const headers = { ...req.headers, 'x-request-id': requestId };
  for (const h of HOP_BY_HOP) delete headers[h];
  headers['x-forwarded-for'] = [req.headers['x-forwarded-for'], req.socket.remoteAddress]
    .filter(Boolean)
    .join(', ');
  headers['x-forwarded-proto'] = 'http';
  // What was sent upstream so far, so that a request that met a pooled socket the service had just closed
  // (its keep-alive ended as the edge reused it: ECONNRESET before any answer) can go again, once, on a
  // fresh connection. Nothing reached the service then; past RETRY_BODY_MAX bytes it is a 502 as before.
  const sent = [];
  let sentBytes = 0;
  let current;
  const send = (attempt) => {
    // req.url is a path (checked by the caller), so the upstream is always `target`, never a host of the client's choosing.
    const upstream = http.request(
      `${target}${req.url}`,
      { method: req.method, headers, agent: stream || attempt > 1 ? agents.own : agents.pooled },
      (up) => {
        // Answered: from here the pace is the client's (a slow reader pauses the upstream socket), so
        // the silence timer stops, as nginx's buffering would let it.
        upstream.setTimeout(0);
        const out = { ...up.headers };
        for (const h of HOP_BY_HOP) delete out[h];
        res.writeHead(up.statusCode, out);
        up.pipe(res);
      },
    );
    current = upstream;
    // As nginx's proxy_read_timeout: a service silent for UPSTREAM_READ_TIMEOUT_MS (paused, hung) is a
    // 504 in the error shape, not a client left waiting as long as it lasts (helper-122). Event streams
    // send a heartbeat, and are left alone.
    const answerTimeout = () =>
      sendError(
        res,
        504,
        'dependency_timeout',
        'The service for this path did not answer in time',
        requestId,
      );
    let gaveUp = false;
    if (!stream) {
      upstream.setTimeout(readTimeoutMs, () => {
        const err = new Error('the service did not answer in time');
        err.code = 'UPSTREAM_TIMEOUT';
        upstream.destroy(err);
      });
      // That timer starts once the request has a connection. One waiting for a pooled connection (every
      // one busy) waits as long at most and is then the same 504, rather than queued without end. It is
      // answered here: a request destroyed in the agent's queue reports nothing until a connection frees
      // up (which then goes back to the pool).
      const queued = setTimeout(() => {
        gaveUp = true;
        upstream.destroy();
        if (!res.headersSent) answerTimeout();
      }, readTimeoutMs);
      upstream.once('socket', () => clearTimeout(queued));
      upstream.once('close', () => clearTimeout(queued));
    }
    upstream.on('error', (err) => {
      if (current !== upstream || gaveUp) return;
      if (err.code === 'UPSTREAM_TIMEOUT' && !res.headersSent) return answerTimeout();
      const stale = attempt === 1 && upstream.reusedSocket && err.code === 'ECONNRESET';
      if (stale && !res.headersSent && sentBytes <= RETRY_BODY_MAX) {
        req.unpipe(upstream);
        const again = send(2);
        for (const chunk of sent) again.write(chunk);
        if (req.readableEnded) again.end();
        else req.pipe(again);
        return;
      }
      if (res.headersSent) return res.destroy(err);
      sendError(res, 502, 'bad_gateway', 'The service behind this path is unavailable', requestId);
    });
    return upstream;
  };
  req.on('data', (chunk) => {
    sentBytes += chunk.length;
    if (sentBytes <= RETRY_BODY_MAX) sent.push(chunk);
  });
  // A client that goes away takes its upstream request with it (an event stream would otherwise live on
  // in the service until its token expires).
  res.on('close', () => {
    if (!res.writableFinished) current.destroy();
  });
  req.pipe(send(1));
}

/** nginx's proxy_read_timeout (scripts/gen-nginx.js): the longest a service may stay silent. */
const UPSTREAM_READ_TIMEOUT_MS = 30000;

/** Largest request body the edge keeps to send again after a stale pooled connection (the apps' 1 MB). */
const RETRY_BODY_MAX = 1024 * 1024;

// The apps' defaults (HTTP_REQUEST_TIMEOUT_MS, HTTP_HEADERS_TIMEOUT_MS in config.schema.ts).
const REQUEST_TIMEOUT_MS = 30000;
const HEADERS_TIMEOUT_MS = 10000;

/** The edge's timeouts from the same variables the apps read. */
function timeoutsFromEnv(env = process.env) {
  return {
    requestTimeoutMs: Number(env.HTTP_REQUEST_TIMEOUT_MS) || REQUEST_TIMEOUT_MS,
    headersTimeoutMs: Number(env.HTTP_HEADERS_TIMEOUT_MS) || HEADERS_TIMEOUT_MS,
  };
}

/**
 * Starts the edge. `upstreams` maps each service name to its base URL. A client has `requestTimeoutMs`
 * to send a whole request and `headersTimeoutMs` for its headers, as with the apps: a body trickled
 * through the edge would otherwise hold a socket here and one upstream. A service silent for
 * `readTimeoutMs` is a 504.
 */
function createEdge({
  port = EDGE_PORT,
  host = '0.0.0.0',
  upstreams,
  docsFrom = 'auth',
  requestTimeoutMs = REQUEST_TIMEOUT_MS,
  headersTimeoutMs = HEADERS_TIMEOUT_MS,
  readTimeoutMs = UPSTREAM_READ_TIMEOUT_MS,
  maxSockets = MAX_SOCKETS,
}) {
  const agents = {
    pooled: new http.Agent({ keepAlive: true, maxSockets }),
    own: new http.Agent({ keepAlive: false }),
  };
  const upstreamOptions = { readTimeoutMs, agents };
  const headersTimeout = Math.min(headersTimeoutMs, requestTimeoutMs);
  const serverOptions = {
    // A request without Host gets the one error shape below, not Node's empty 400.
    requireHostHeader: false,
    requestTimeout: requestTimeoutMs,
    headersTimeout,
    // Node looks for late requests every 30 s by default: too coarse for timeouts of seconds.
    connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(headersTimeout / 4))),
  };
  const server = http.createServer(serverOptions, async (req, res) => {
    const requestId = requestIdOf(req);
    // Only origin-form targets ("/path?query"): an absolute-form or "//host" target would otherwise make
    // the edge an open proxy to any host.
    if (!req.url.startsWith('/') || req.url.startsWith('//')) {
      return sendError(res, 400, 'bad_request', 'The request target must be a path', requestId);
    }
    if (req.httpVersion === '1.1' && req.headers.host === undefined) {
      return sendError(res, 400, 'validation_failed', 'Invalid request: Host', requestId, [
        { field: 'Host', message: 'an HTTP/1.1 request must carry a Host header' },
      ]);
    }
    const path = new URL(req.url, 'http://edge').pathname;
    // The edge's own paths take GET and HEAD (as nginx's locations for them do).
    if (OWN_PATHS.has(path) && req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return sendError(
        res,
        405,
        'method_not_allowed',
        `${req.method} is not allowed on this path`,
        requestId,
        [{ field: 'method', message: 'this path takes GET, HEAD' }],
      );
    }
    try {
      if (path === '/health/live')
        return sendJson(res, 200, { status: 'ok', info: {}, error: {}, details: {} }, requestId);
      if (path === '/health' || path === '/health/ready') return await readiness(upstreams, res, requestId);
      if (path === '/docs-json') return sendJson(res, 200, await mergedDocs(upstreams), requestId);
      if (path === '/docs/swagger-ui-init.js') {
        res.writeHead(200, { 'content-type': 'application/javascript; charset=utf-8' });
        return res.end(shared.DOCS_INIT);
      }
      if (path === '/docs' || path.startsWith('/docs/'))
        return proxy(req, res, upstreams[docsFrom], requestId, upstreamOptions, false);
      const service = serviceForPath(path);
      if (!service) return sendError(res, 404, 'not_found', `Cannot ${req.method} ${path}`, requestId);
      proxy(req, res, upstreams[service], requestId, upstreamOptions, isStream(req, path));
    } catch (err) {
      sendError(res, 502, 'bad_gateway', `edge could not complete the request: ${err.message}`, requestId);
    }
  });
  server.keepAliveTimeout = 5000;
  server.on('clientError', onClientError);
  // An Expect other than 100-continue: 417 in the one error shape, where Node would answer it empty.
  server.on('checkExpectation', (req, res) =>
    sendError(res, 417, 'expectation_failed', 'Only Expect: 100-continue is supported', requestIdOf(req), [
      { field: 'Expect', message: 'only 100-continue is supported' },
    ]),
  );
  server.on('close', () => {
    agents.pooled.destroy();
    agents.own.destroy();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

/** Upstreams from EDGE_UPSTREAMS (JSON map) or each service's default port on 127.0.0.1. */
function upstreamsFromEnv(env = process.env) {
  const given = env.EDGE_UPSTREAMS ? JSON.parse(env.EDGE_UPSTREAMS) : {};
  return Object.fromEntries(
    SERVICE_NAMES.map((s) => [s, given[s] || `http://127.0.0.1:${SERVICES[s].port}`]),
  );
}

if (require.main === module) {
  const port = Number(process.env.EDGE_PORT || EDGE_PORT);
  createEdge({ port, upstreams: upstreamsFromEnv(), ...timeoutsFromEnv() }).then(
    (server) => {
      process.stdout.write(
        `${JSON.stringify({ level: 30, time: new Date().toISOString(), service: 'edge', port, msg: 'edge ready' })}\n`,
      );
      const close = () => server.close(() => process.exit(0)) && server.closeIdleConnections();
      process.on('SIGTERM', close);
      process.on('SIGINT', close);
    },
    (err) => {
      process.stderr.write(`edge: ${err.message}\n`);
      process.exit(1);
    },
  );
}

module.exports = { createEdge, upstreamsFromEnv, timeoutsFromEnv };
