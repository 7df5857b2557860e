import { HttpException } from '@nestjs/common';
import { AppError, STATUS_CODES, type ErrorBody } from '../errors/app-error';

/**
 * Maps anything thrown while serving a request to the one error shape. Domain errors keep their code;
 * framework and body-parser errors get the conventional code of their status; anything else is a 500
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
  const bodyError = error as { status?: number; statusCode?: number; type?: string; expose?: boolean };
  const status = bodyError.status ?? bodyError.statusCode;
  const clientError = typeof status === 'number' && status >= 400 && status < 500;
  if (clientError && typeof bodyError.type === 'string') {
    // body-parser errors (entity.parse.failed, entity.too.large, encoding.unsupported, ...)
    const messages: Record<string, string> = {
      'entity.parse.failed': 'Malformed JSON body',
      'entity.too.large': 'Request body too large',
      'encoding.unsupported': 'Unsupported content encoding',
      'charset.unsupported': 'Unsupported charset',
    };
    return {
      status,
      code: status === 400 ? 'malformed_body' : (STATUS_CODES[status] ?? `http_${status}`),
      message: messages[bodyError.type] ?? 'Bad request body',
      details: [],
    };
  }
  if (clientError && bodyError.expose === true) {
    // Other http-errors raised while reading the body (e.g. a Content-Encoding: gzip body that is not gzip).
    return {
      status,
      code: STATUS_CODES[status] ?? `http_${status}`,
      message: 'Bad request body',
      details: [],
    };
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
  return /Connection is closed|timeout exceeded when trying to connect|Connection terminated/.test(
    e?.message ?? '',
  );
}
