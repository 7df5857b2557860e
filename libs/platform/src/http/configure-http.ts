import type { INestApplication } from '@nestjs/common';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import type { AppConfig } from '../config/app-config';
import { AppError } from '../errors/app-error';
import { MetricsService } from '../metrics/metrics.service';
import { HttpErrorFilter, sendError } from './http-exception.filter';
import { requestMiddleware } from './request.middleware';
import { validationPipe } from './validation';

const JSON_TYPES = ['application/json', 'application/*+json'];
/** Oversized bodies up to this size are drained before the 413 is sent; larger ones get the connection closed. */
const DRAIN_LIMIT = 16 * 1024 * 1024;
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The path of the first string holding U+0000 (`body.` / `query.` prefixes dropped), if any. */
function findNul(value: unknown, path: string, depth = 0): string | undefined {
  if (typeof value === 'string')
    return value.includes('\u0000') ? path.replace(/^(body|query)\.?/, '') || path : undefined;
  if (depth > 32 || value === null || typeof value !== 'object') return undefined;
  for (const [key, child] of Object.entries(value)) {
    if (key.includes('\u0000'))
      return `${path}.${key.replaceAll('\u0000', '')}`.replace(/^(body|query)\.?/, '');
    const found = findNul(child, `${path}.${key}`, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/**
 * The headers helmet sets with these options, computed once: they do not depend on the request, and
 * setting them from one list costs a fraction of running helmet's dozen middlewares on every request.
 */
function helmetHeaders(options: Parameters<typeof helmet>[0]): [string, string][] {
  const headers: [string, string][] = [];
  const res = {
    setHeader: (name: string, value: unknown) => headers.push([name, String(value)]),
    removeHeader: () => undefined,
    getHeader: () => undefined,
  };
  helmet(options)({ method: 'GET', url: '/', headers: {} } as never, res as never, () => undefined);
  return headers;
}

function parseBytes(limit: string): number {
  const m = /^(\d+)\s*(b|kb|mb|gb)?$/i.exec(limit.trim());
  if (!m) throw new Error(`BODY_LIMIT "${limit}" is not a size such as 1mb`);
  const unit = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[(m[2] ?? 'b').toLowerCase() as 'b'];
  return Number(m[1]) * unit;
}

/**
 * Everything HTTP that is the same in every app: request ids, access logs and metrics, security headers,
 * CORS from config, the JSON body parser with its size limit, validation, and the one error shape for
 * every failure, including the ones raised before a route runs (malformed JSON, 413, 415, 404).
 */
export function configureHttp(app: INestApplication, config: AppConfig, logger: Logger): void {
  const limitBytes = parseBytes(config.bodyLimit);
  // The client IP (rate limits, session list) comes from X-Forwarded-For only when set by a trusted proxy.
  const instance = app.getHttpAdapter().getInstance() as express.Express;
  instance.set('trust proxy', config.trustProxy);
  // No ETags: API responses are not cached by validators, and hashing every body costs CPU per request.
  instance.set('etag', false);
  app.use(requestMiddleware(logger, app.get(MetricsService)));
  instance.disable('x-powered-by');
  const securityHeaders = helmetHeaders({
    contentSecurityPolicy: {
      // Swagger UI at /docs needs inline styles and data: images; nothing else is relaxed.
      directives: { 'style-src': ["'self'", "'unsafe-inline'"], 'img-src': ["'self'", 'data:'] },
    },
  });
  app.use((_req: Request, res: Response, next: NextFunction) => {
    for (const [name, value] of securityHeaders) res.setHeader(name, value);
    next();
  });
  // With no allowed origin there is nothing for CORS to say: no middleware at all.
  if (config.corsOrigins.length) {
    app.enableCors({
      origin: config.corsOrigins,
      credentials: false,
      exposedHeaders: ['X-Request-Id', 'Retry-After', 'Idempotent-Replayed'],
    });
  }
  app.use((req: Request, res: Response, next: NextFunction) => {
    const length = Number(req.headers['content-length'] ?? 0);
    if (length <= limitBytes) return next();
    // Answer only once the body has been read (and dropped): a client still writing when the socket
    // closes sees EPIPE instead of the 413. Past DRAIN_LIMIT we stop listening and close.
    const error = new AppError(413, 'payload_too_large', `Request body exceeds ${config.bodyLimit}`);
    if (length > DRAIN_LIMIT) {
      res.setHeader('Connection', 'close');
      return next(error);
    }
    req.on('end', () => next(error));
    req.resume();
  });
  app.use(express.json({ limit: limitBytes, type: JSON_TYPES }));
  app.use((req: Request, _res: Response, next: NextFunction) => {
    const hasBody =
      Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    if (BODY_METHODS.has(req.method) && hasBody && !req.is(JSON_TYPES)) {
      return next(new AppError(415, 'unsupported_media_type', 'Request bodies must be application/json'));
    }
    next();
  });
  app.use((req: Request, _res: Response, next: NextFunction) => {
    // PostgreSQL cannot store U+0000 in text: refuse it here, naming the field, rather than fail in SQL.
    const field = findNul(req.body, 'body') ?? findNul(req.query, 'query');
    if (!field) return next();
    next(
      AppError.badRequest('validation_failed', `Invalid request: ${field}`, [
        { field, message: `${field} must not contain NUL characters` },
      ]),
    );
  });
  // Errors raised by the middleware above never reach Nest's filters: render them here.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) =>
    sendError(res, err, logger, req),
  );
  app.useGlobalFilters(new HttpErrorFilter(logger));
  app.useGlobalPipes(validationPipe());
}
