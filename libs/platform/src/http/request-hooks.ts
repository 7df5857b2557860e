import { AsyncResource } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { acceptRequestId, REQUEST_ID_HEADER, requestContext } from '../context/request-context';
import type { MetricsService } from '../metrics/metrics.service';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import {
  ATTR,
  contextFrom,
  failSpan,
  runInSpan,
  SpanKind,
  startSpan,
  tracingEnabled,
} from '../tracing/tracing';
import type { HttpRequest } from './http-types';

const QUIET = /^\/(health|metrics)(\/|$)/;

/**
 * Around every request: accepts a sane X-Request-Id or makes one and returns it, sets the security
 * headers and `Cache-Control: no-store` (a route may set its own), runs the handler inside the request's
 * context, and on completion logs the request and records its duration by route pattern (never by raw
 * path, which would explode the metric's cardinality).
 */
export function requestHooks(
  fastify: FastifyInstance,
  logger: Logger,
  metrics: MetricsService,
  securityHeaders: [string, string][],
): void {
  fastify.addHook('onRequest', (req, reply, done) => {
    const requestId = acceptRequestId(req.headers[REQUEST_ID_HEADER]) ?? randomUUID();
    (req as HttpRequest).requestId = requestId;
    void reply.header('X-Request-Id', requestId);
    for (const [name, value] of securityHeaders) void reply.header(name, value);
    // Responses carry tokens and personal or account data: no cache (browser, proxy) may keep one unless
    // its route says otherwise by setting its own Cache-Control (the JWKS does: it is public).
    void reply.header('Cache-Control', 'no-store');
    const traced = tracingEnabled() ? serverSpan(req, requestId) : undefined;
    const span = traced?.span;
    if (span) (req as HttpRequest).span = span;
    // The request's context, captured in an async resource kept on the request. Never enterWith: that
    // would leave this request's context (and caller) on the connection for the next request.
    runInSpan(span, traced?.parent ?? ROOT_CONTEXT, () =>
      requestContext.run({ requestId }, () => {
        (req as HttpRequest).contextScope = new AsyncResource('protobank.request');
        done();
      }),
    );
  });
  // The body is parsed in stream callbacks, outside that context: guards and the handler run back
  // inside it.
  fastify.addHook('preHandler', (req, _reply, done) => {
    const scope = (req as HttpRequest).contextScope;
    if (scope) scope.runInAsyncScope(done);
    else done();
  });
  fastify.addHook('onResponse', (req, reply, done) => {
    const seconds = reply.elapsedTime / 1000;
    const route = req.routeOptions.url;
    const routeLabel = route && route !== '*' ? route : 'unmatched';
    metrics.httpDuration.observe(
      { method: req.method, route: routeLabel, status_code: String(reply.statusCode) },
      seconds,
    );
    const span = (req as HttpRequest).span;
    if (span) {
      span.setAttribute(ATTR.HTTP_RESPONSE_STATUS_CODE, reply.statusCode);
      // A server span fails on 5xx only: a 4xx is the client's error, not the server's.
      if (reply.statusCode >= 500) failSpan(span, undefined, String(reply.statusCode));
      span.end();
    }
    const path = req.url.split('?')[0];
    const entry = {
      request_id: (req as HttpRequest).requestId,
      method: req.method,
      path,
      route: routeLabel,
      status: reply.statusCode,
      duration_ms: Math.round(seconds * 1000 * 10) / 10,
    };
    if (QUIET.test(path) && reply.statusCode < 400) logger.debug(entry, 'request');
    else logger.info(entry, 'request');
    done();
  });
}

/**
 * The request's server span (tracing on), a child of the caller's W3C traceparent when it sent one
 * (nginx and the edge pass it through). The route is known here: Fastify routes before onRequest. No
 * path, query or headers go on the span: they can hold ids, e-mails or tokens.
 */
function serverSpan(req: FastifyRequest, requestId: string) {
  const url = req.routeOptions.url;
  const route = url && url !== '*' ? url : undefined;
  const parent = contextFrom(req.headers as Record<string, unknown>);
  const span = startSpan(route ? `${req.method} ${route}` : req.method, {
    kind: SpanKind.SERVER,
    parent,
    attributes: {
      [ATTR.HTTP_REQUEST_METHOD]: req.method,
      [ATTR.URL_SCHEME]: req.protocol,
      [ATTR.REQUEST_ID]: requestId,
      ...(route && { [ATTR.HTTP_ROUTE]: route }),
    },
  });
  return { span, parent };
}
