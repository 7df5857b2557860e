import { HttpException } from '@nestjs/common';
import { AppError, STATUS_CODES, type ErrorBody } from '../errors/app-error';

/** The longest path segment (an id) a route takes; a longer one is 414 (`uri_too_long`). */
export const MAX_PATH_PARAM_LENGTH = 500;

/**
 * Maps anything thrown while serving a request to the one error shape. Domain errors keep their code;
 * framework errors (Nest's, Fastify's) get the conventional code of their status; anything else is a 500
 * whose cause is logged, never sent.
 */
export function toErrorBody(error: unknown): ErrorBody {
  if (error instanceof AppError) return error.toBody();
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const response = error.getResponse();
    let message = error.message;
    if (typeof response === 'object' && response !== null) {
      const m = (response as { message?: unknown }).message;
      if (typeof m === 'string') message = m;
      else if (Array.isArray(m)) message = m.join('; ');
    }
    return { status, code: STATUS_CODES[status] ?? `http_${status}`, message, details: [] };
  }
  // `?? {}`: a handler may reject with null or undefined, which is still a 500, not a crash here.
  const fastifyError = (error ?? {}) as { statusCode?: number; code?: unknown };
  const status = fastifyError.statusCode;
  if (
    typeof fastifyError.code === 'string' &&
    fastifyError.code.startsWith('FST_') &&
    typeof status === 'number' &&
    status >= 400 &&
    status < 500
  ) {
    // Raised by Fastify while reading the request (size, media type, headers) and not already turned
    // into an HttpException by Nest's adapter: the conventional code of its status, no internals.
    const message =
      status === 414
        ? `The URL is too long: no path segment takes more than ${MAX_PATH_PARAM_LENGTH} characters`
        : 'Bad request';
    return { status, code: STATUS_CODES[status] ?? `http_${status}`, message, details: [] };
  }
  if (fastifyError.code === 'ECONNRESET' && (error as Error).message === 'aborted') {
    // The client closed the connection (or a timeout closed it) before its body arrived: not an outage
    // of ours. Nothing reaches the client; this keeps it out of the error log.
    return { status: 400, code: 'bad_request', message: 'The request was aborted', details: [] };
  }
  const pgCode =
    (error as { code?: unknown; driverError?: { code?: unknown } })?.driverError?.code ??
    (error as { code?: unknown })?.code;
  if (pgCode === '40P01' || pgCode === '40001') {
    // A deadlock or serialization failure: the transaction rolled back and nothing changed; retrying works.
    return {
      status: 409,
      code: 'concurrent_update',
      message: 'A concurrent change got there first; retry',
      details: [],
    };
  }
  if (isOutage(error)) {
    return {
      status: 503,
      code: 'dependency_unavailable',
      message: 'A service this request needs is unavailable; try again shortly',
      details: [],
    };
  }
  return { status: 500, code: 'internal_error', message: 'Internal server error', details: [] };
}

/** Redis or PostgreSQL unreachable: the client may retry, so 503 rather than a 500. */
function isOutage(error: unknown): boolean {
  const e = error as { name?: string; code?: string; message?: string };
  if (e?.name === 'MaxRetriesPerRequestError') return true; // ioredis gave up on a command
  if (
    e?.code &&
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P03', '08006', '08001'].includes(e.code)
  )
    return true;
  return /Connection is closed|timeout exceeded when trying to connect|Connection terminated|Stream isn't writeable|Command timed out/.test(
    e?.message ?? '',
  );
}
