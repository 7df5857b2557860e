import type { NextFunction, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { acceptRequestId, REQUEST_ID_HEADER, requestContext } from '../context/request-context';
import type { MetricsService } from '../metrics/metrics.service';

const QUIET = /^\/(health|metrics)(\/|$)/;

/**
 * First middleware of every request: accepts a sane X-Request-Id or makes one, returns it, runs the rest
 * of the request inside its context, and on completion logs the request and records its duration by
 * route pattern (never by raw path, which would explode the metric's cardinality).
 */
export function requestMiddleware(logger: Logger, metrics: MetricsService) {
  return (req: Request, res: Response, next: NextFunction) => {
    const requestId = acceptRequestId(req.headers[REQUEST_ID_HEADER]) ?? randomUUID();
    res.setHeader('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = (req.route as { path?: string } | undefined)?.path;
      const routeLabel = route ? `${req.baseUrl}${route}` : 'unmatched';
      metrics.httpDuration.observe(
        { method: req.method, route: routeLabel, status_code: String(res.statusCode) },
        seconds,
      );
      const entry = {
        request_id: requestId,
        method: req.method,
        path: req.path,
        route: routeLabel,
        status: res.statusCode,
        duration_ms: Math.round(seconds * 1000 * 10) / 10,
      };
      if (QUIET.test(req.path) && res.statusCode < 400) logger.debug(entry, 'request');
      else logger.info(entry, 'request');
    });
    requestContext.run({ requestId }, next);
  };
}
