import type { INestApplication } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import helmet from 'helmet';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/app-config';
import { AppError } from '../errors/app-error';
import './raw-body';
import { MetricsService } from '../metrics/metrics.service';
import { acceptRequestId, REQUEST_ID_HEADER } from '../context/request-context';
import { AllowedMethods } from './allowed-methods';
import { MAX_PATH_PARAM_LENGTH } from './error-body';
import { HttpErrorFilter, sendError } from './http-exception.filter';
import type { HttpRequest } from './http-types';
import { inspectShape, JSON_BODY_LIMITS, QUERY_LIMITS, shapeError } from './json-limits';
import { inspectLexical } from './json-lexical';
import { requestHooks } from './request-hooks';
import { validationPipe } from './validation';

/**
 * The router's options, for Fastify and for AllowedMethods. maxParamLength is long enough for any id a
 * route takes (up to it, a bad id reaches validation: 400 naming it); a longer segment is 414 uri_too_long.
 */
export const ROUTER_OPTIONS = { maxParamLength: MAX_PATH_PARAM_LENGTH };

/** UTF-8 that refuses invalid bytes, and keeps a byte-order mark as it came. */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Oversized bodies up to this size are drained before the 413 is sent; larger ones get the connection closed. */
const DRAIN_LIMIT = 16 * 1024 * 1024;

/** JSON media types besides application/json itself (e.g. application/merge-patch+json). */
const JSON_SUFFIX = /^application\/[\w.+-]+\+json(\s*;.*)?$/i;

const notAnObject = () =>
  AppError.badRequest('validation_failed', 'Invalid request: body', [
    { field: 'body', message: 'the body must be a JSON object' },
  ]);

function reservedKeyOf(body: string) {
  try {
    return inspectShape(JSON.parse(body), JSON_BODY_LIMITS);
  } catch {
    return undefined; // not JSON at all
  }
}

const SINGLE_HEADERS = new Set(['authorization', 'content-type']);

/** The first header of SINGLE_HEADERS that `rawHeaders` (name, value, name, value...) holds twice. */
export function repeatedHeader(rawHeaders: string[]): string | undefined {
  const seen = new Set<string>();
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    if (!SINGLE_HEADERS.has(name)) continue;
    if (seen.has(name)) return rawHeaders[i];
    seen.add(name);
  }
  return undefined;
}

export function parseBytes(limit: string): number {
  const m = /^(\d+)\s*(b|kb|mb|gb)?$/i.exec(limit.trim());
  if (!m) throw new Error(`BODY_LIMIT "${limit}" is not a size such as 1mb`);
  const unit = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m[2] ?? 'b').toLowerCase() as 'b'];
  return Number(m[1]) * unit;
}

/**
 * The headers helmet sets with these options, computed once: they do not depend on the request, and
 * setting them from one list costs a fraction of running helmet's dozen middlewares on every request.
 */
export function helmetHeaders(options: Parameters<typeof helmet>[0]): [string, string][] {
  const headers: [string, string][] = [];
  const res = {
    setHeader: (name: string, value: unknown) => headers.push([name, String(value)]),
    removeHeader: () => undefined,
    getHeader: () => undefined,
  };
  helmet(options)({ method: 'GET', url: '/', headers: {} } as never, res as never, () => undefined);
  return headers;
}

/** TRUST_PROXY for Fastify: a hop count becomes a function, since Fastify 5 ignores a plain number. */
export function trustProxyOption(
  value: string | number,
): string | ((address: string, hop: number) => boolean) {
  return typeof value === 'number' ? (_address: string, hop: number) => hop < value : value;
}

export const SECURITY_HEADERS = helmetHeaders({
  contentSecurityPolicy: {
    // Swagger UI at /docs needs inline styles and data: images; nothing else is relaxed.
    directives: { 'style-src': ["'self'", "'unsafe-inline'"], 'img-src': ["'self'", 'data:'] },
  },
});

/**
 * For the adapter's `frameworkErrors`: requests Fastify refuses before any hook runs (a malformed URL,
 * for one) still get a request id, the security headers and the one error shape.
 */
export function frameworkErrorHandler(logger: Logger) {
  return (error: Error, req: FastifyRequest, reply: FastifyReply) => {
    const requestId = acceptRequestId(req.headers[REQUEST_ID_HEADER]) ?? randomUUID();
    (req as HttpRequest).requestId = requestId;
    void reply.header('X-Request-Id', requestId);
    for (const [name, value] of SECURITY_HEADERS) void reply.header(name, value);
    const badUrl = (error as { code?: string }).code === 'FST_ERR_BAD_URL';
    sendError(
      reply,
      badUrl
        ? AppError.badRequest('bad_request', 'Malformed URL', [
            { field: 'path', message: 'the path is not valid percent-encoded UTF-8' },
          ])
        : error,
      logger,
      req as HttpRequest,
    );
  };
}

/** How often Node looks for requests past their timeout: a fraction of it, at most once a second. */
export function connectionsCheckingInterval(headersTimeoutMs: number): number {
  return Math.max(25, Math.min(1000, Math.floor(headersTimeoutMs / 4)));
}

/** An error in the one shape, with the headers every answer carries, for what is written below Fastify. */
function rawError(
  status: number,
  code: string,
  message: string,
  requestId: string,
  details: { field: string; message: string }[] = [],
): { headers: [string, string][]; body: string } {
  const body = JSON.stringify({ status, code, message, details, request_id: requestId });
  const headers: [string, string][] = [
    ['Content-Type', 'application/json; charset=utf-8'],
    ['Content-Length', String(Buffer.byteLength(body))],
    ['X-Request-Id', requestId],
    ['Cache-Control', 'no-store'],
    ...SECURITY_HEADERS,
  ];
  return { headers, body };
}

const CLIENT_ERRORS: Record<string, [number, string, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request_timeout', 'The request was not received in time'],
  HPE_HEADER_OVERFLOW: [431, 'headers_too_large', 'The request headers are too large'],
};

/**
 * For Fastify's `clientErrorHandler`: what Node's HTTP server refuses itself, in the one error shape,
 * then the connection is closed. A request whose headers or body arrive too slowly
 * (HTTP_HEADERS_TIMEOUT_MS, HTTP_REQUEST_TIMEOUT_MS) is 408; a malformed one 400; oversized headers 431.
 */
export function clientErrorHandler(logger: Logger) {
  return (err: NodeJS.ErrnoException, socket: Socket): void => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const [status, code, message] = CLIENT_ERRORS[err.code ?? ''] ?? [
      400,
      'bad_request',
      'Malformed HTTP request',
    ];
    // A body timeout happens while a request is in flight (headers read): keep its id and say which.
    const inFlight = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
    const requestId = acceptRequestId(inFlight?.req?.headers[REQUEST_ID_HEADER]) ?? randomUUID();
    logger.info(
      {
        request_id: requestId,
        method: inFlight?.req?.method,
        path: inFlight?.req?.url?.split('?')[0],
        status,
      },
      status === 408 ? 'request timed out' : 'malformed request',
    );
    if (socket.writable && !inFlight?.headersSent) {
      const { headers, body } = rawError(status, code, message, requestId);
      headers.push(['Connection', 'close']);
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n${body}`,
      );
    }
    socket.destroy();
  };
}

/**
 * Protocol refusals Node's server would otherwise answer itself with an empty body: an HTTP/1.1 request
 * without Host (400; the server is made with requireHostHeader off), and an Expect other than
 * 100-continue (417, Node's `checkExpectation`). Both in the one error shape, naming the header.
 */
function protocolRefusals(fastify: FastifyInstance, logger: Logger): void {
  fastify.addHook('onRequest', (req, reply, done) => {
    if (req.raw.httpVersion !== '1.1' || req.headers.host !== undefined) return done();
    sendError(
      reply,
      AppError.badRequest('validation_failed', 'Invalid request: Host', [
        { field: 'Host', message: 'an HTTP/1.1 request must carry a Host header' },
      ]),
      logger,
      req as HttpRequest,
    );
  });
  fastify.server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const requestId = acceptRequestId(req.headers[REQUEST_ID_HEADER]) ?? randomUUID();
    logger.info(
      { request_id: requestId, method: req.method, path: req.url?.split('?')[0], status: 417 },
      'expectation refused',
    );
    const { headers, body } = rawError(
      417,
      'expectation_failed',
      'Only Expect: 100-continue is supported',
      requestId,
      [{ field: 'Expect', message: 'only 100-continue is supported' }],
    );
    res.writeHead(417, headers.flat());
    res.end(body);
  });
}

/**
 * Everything HTTP that is the same in every app: request ids, access logs and metrics, security headers,
 * CORS from config, JSON bodies only (BODY_LIMIT, set on the adapter), validation, and the one error
 * shape for every failure, including the ones raised before a route runs (malformed JSON, 413, 415, 404).
 */
export function configureHttp(app: INestApplication, config: AppConfig, logger: Logger): void {
  const fastify = app.getHttpAdapter().getInstance() as FastifyInstance;
  requestHooks(fastify, logger, app.get(MetricsService), SECURITY_HEADERS);
  // Before any route is registered (Nest registers them at init), so that it sees every one.
  const allowedMethods = new AllowedMethods(fastify, ROUTER_OPTIONS);
  protocolRefusals(fastify, logger);
  // With no allowed origin there is nothing for CORS to say: no handler at all.
  if (config.corsOrigins.length) {
    app.enableCors({
      origin: config.corsOrigins,
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      // An OPTIONS request that is not a CORS preflight gets CORS's empty 204, not its text/plain 400.
      strictPreflight: false,
      credentials: false,
      exposedHeaders: ['X-Request-Id', 'Retry-After', 'Idempotent-Replayed'],
    });
  }
  // JSON only (application/json and application/*+json); text/plain, parsed by default, and anything
  // else is 415. A body that is not JSON is 400 malformed_body; one past the caps of JSON_BODY_LIMITS is
  // 400 body_too_complex; a reserved key (__proto__ included), U+0000 or an unpaired surrogate, or JSON
  // other than an object (every route takes an object), 400 validation_failed naming the field.
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  const jsonParser = (
    req: FastifyRequest,
    body: string | Buffer,
    done: (err: Error | null, value?: unknown) => void,
  ) => {
    // UTF-8 only (JSON's encoding): another declared charset would be decoded wrongly, not refused.
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1];
    if (charset && !/^utf-?8$/i.test(charset)) {
      return done(new AppError(415, 'unsupported_media_type', `Unsupported charset "${charset}": use UTF-8`));
    }
    // Decoded strictly: invalid UTF-8 was replaced with U+FFFD and stored (a payee named "Bad��Name"),
    // and a signed body then no longer matched its signature over the bytes sent.
    let text: string;
    try {
      text = STRICT_UTF8.decode(body as Buffer);
    } catch {
      return done(AppError.badRequest('malformed_body', 'Malformed JSON body: not valid UTF-8'));
    }
    // Kept as received (valid UTF-8 encodes back to the same bytes): a signed route (the card network's)
    // verifies the signature over it.
    req.rawBody = text;
    // An empty body is an empty object, as many clients send Content-Type on bodyless requests.
    if (text.trim() === '') return done(null, {});
    parseJson(req, text, (err, value) => {
      if (err) {
        // Fastify's parser hides why it refused. JSON that plain JSON.parse reads was refused for a
        // __proto__ (or constructor.prototype) key: name it, as for any reserved key (JSON.parse makes
        // such keys own properties, so the shape check finds where they are).
        const problem = reservedKeyOf(text);
        if (problem) return done(shapeError(problem, JSON_BODY_LIMITS, 'body'));
      }
      if (err) return done(AppError.badRequest('malformed_body', `Malformed JSON body: ${err.message}`));
      // Before anything else walks it (validation's cost grows faster than the number of keys).
      const problem = inspectShape(value, JSON_BODY_LIMITS);
      if (problem) return done(shapeError(problem, JSON_BODY_LIMITS, 'body'));
      // `null` would otherwise read as an empty body, and pass wherever every field is optional.
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return done(notAnObject());
      // What parsing hid: a number with a fraction (rounded to a whole one), a key given twice.
      const written = inspectLexical(text);
      if (written) return done(shapeError(written, JSON_BODY_LIMITS, 'body'));
      done(null, value);
    });
  };
  fastify.removeContentTypeParser(['text/plain', 'application/json']);
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, jsonParser);
  fastify.addContentTypeParser(JSON_SUFFIX, { parseAs: 'buffer' }, jsonParser);
  const limitBytes = parseBytes(config.bodyLimit);
  fastify.addHook('onRequest', (req, reply, done) => {
    const length = Number(req.headers['content-length'] ?? 0);
    if (length > limitBytes) {
      // Answer only once the body has been read (and dropped): a client or proxy still writing when
      // the socket closes sees EPIPE instead of the 413. Past DRAIN_LIMIT we stop listening and close.
      const error = new AppError(413, 'payload_too_large', `Request body exceeds ${config.bodyLimit}`);
      if (length > DRAIN_LIMIT) {
        void reply.header('Connection', 'close');
        return done(error);
      }
      req.raw.on('end', () => done(error));
      req.raw.resume();
      return;
    }
    // A request with no body has no media type to refuse (some clients send one anyway).
    if (req.headers['content-length'] === '0' && req.headers['transfer-encoding'] === undefined) {
      delete req.headers['content-type'];
    }
    // Node keeps the first of a repeated Authorization or Content-Type and drops the rest; a proxy may
    // keep the last. Two readers seeing different credentials or media types is refused instead.
    const repeated = repeatedHeader(req.raw.rawHeaders);
    if (repeated) return done(AppError.badRequest('bad_request', `The ${repeated} header is given twice`));
    // Bodies are never decoded: a Content-Encoding other than identity cannot be read as JSON.
    const encoding = req.headers['content-encoding'];
    if (encoding && encoding.toLowerCase() !== 'identity') {
      return done(AppError.badRequest('bad_request', `Unsupported Content-Encoding "${encoding}"`));
    }
    done();
  });
  fastify.addHook('preValidation', (req, _reply, done) => {
    // No body at all reads as an empty object, so optional-only bodies validate as they did on Express.
    if (req.body === undefined && BODY_METHODS.has(req.method)) req.body = {};
    // The query string gets the body's checks (the body had them as it was parsed): caps, reserved
    // keys, and U+0000, which PostgreSQL cannot store in text (refused here, naming the field).
    const problem = inspectShape(req.query, QUERY_LIMITS);
    done(problem ? shapeError(problem, QUERY_LIMITS, 'query') : undefined);
  });
  // Errors raised before a route's handler (parsing, 413, 415, the hooks above) go through the error
  // handler Nest's adapter installs, which hands them to this filter like any other.
  app.useGlobalFilters(new HttpErrorFilter(logger, allowedMethods));
  app.useGlobalPipes(validationPipe());
}
