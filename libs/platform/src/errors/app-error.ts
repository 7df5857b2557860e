/** One field problem, as listed in an error's `details`. */
export interface ErrorDetail {
  field?: string;
  message: string;
}

/** The wire form of an error: the HTTP error shape without the request id, also sent over RabbitMQ. */
export interface ErrorBody {
  status: number;
  code: string;
  message: string;
  details: ErrorDetail[];
}

/**
 * The one typed error of Protobank. Domain code throws it with the HTTP status it means; it keeps that
 * status across RabbitMQ (see messaging) and is rendered in the one error shape by the HTTP filter.
 */
export class AppError extends Error {
  /** HTTP headers the error response carries (e.g. Retry-After); not sent over RabbitMQ. */
  headers: Record<string, string> = {};

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
    this.name = 'AppError';
  }

  /** Fields of a security event the HTTP filter logs (warn) when it answers this error; none by default. */
  securityEvent?: Record<string, unknown>;

  withHeaders(headers: Record<string, string>): this {
    Object.assign(this.headers, headers);
    return this;
  }

  /** Logged as a security event when answered (a refusal an insider's probing would show up as). */
  logged(fields: Record<string, unknown>): this {
    this.securityEvent = fields;
    return this;
  }

  toBody(): ErrorBody {
    return { status: this.status, code: this.code, message: this.message, details: this.details };
  }

  static fromBody(body: ErrorBody): AppError {
    return new AppError(body.status, body.code, body.message, body.details ?? []);
  }

  static badRequest(code: string, message: string, details: ErrorDetail[] = []) {
    return new AppError(400, code, message, details);
  }
  /**
   * `what` as a noun ('account'): the message reads "Account not found", as the ledger's refusals do. With
   * `field` (the path parameter or body field that named it), details name it, as for any refusal.
   */
  static notFound(what = 'resource', field?: string) {
    return new AppError(
      404,
      'not_found',
      `${what.charAt(0).toUpperCase()}${what.slice(1)} not found`,
      field ? [{ field, message: `no such ${what}` }] : [],
    );
  }
  static conflict(code: string, message: string) {
    return new AppError(409, code, message);
  }
  static tooManyRequests(code: string, message: string, retryAfterSeconds: number) {
    return new AppError(429, code, `${message}; retry in ${retryAfterSeconds} s`).withHeaders({
      'Retry-After': String(retryAfterSeconds),
    });
  }
  static unprocessable(code: string, message: string, details: ErrorDetail[] = []) {
    return new AppError(422, code, message, details);
  }
}

/**
 * A 503 or 504 the code chose (a dependency that did not answer, a busy ledger or password check, an app
 * stopping): the client is told to try again, and an outage gives one per request. Logged at warn with its
 * code and details, not at error with a stack: the stack shows only where the refusal was thrown, and what
 * failed is logged where it was seen (e.g. the contract call that timed out). Any other 5xx is a bug or a
 * fault, logged at error with its stack.
 */
export function isChosenUnavailable(err: unknown): err is AppError {
  return err instanceof AppError && (err.status === 503 || err.status === 504);
}

/** Conventional codes for statuses raised by the framework rather than by domain code. */
export const STATUS_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'request_timeout',
  409: 'conflict',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  422: 'unprocessable_entity',
  429: 'too_many_requests',
  431: 'headers_too_large',
  500: 'internal_error',
  502: 'bad_gateway',
  503: 'service_unavailable',
  504: 'dependency_timeout',
};
