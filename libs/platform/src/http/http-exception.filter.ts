import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Logger } from 'pino';
import { AppError, isChosenUnavailable } from '../errors/app-error';
import type { AllowedMethods } from './allowed-methods';
import { toErrorBody } from './error-body';
import type { HttpReply, HttpRequest } from './http-types';

/**
 * Renders every error of every route (including unknown routes) in the one error shape. A request no
 * route took whose path takes other methods is 405 with Allow, not Fastify's 404.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  constructor(
    private readonly logger: Logger,
    private readonly allowedMethods?: AllowedMethods,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<HttpRequest>();
    const refusal = req.is404 ? this.allowedMethods?.refusal(req.method, req.url) : undefined;
    sendError(http.getResponse<HttpReply>(), refusal ?? exception, this.logger, req);
  }
}

export function sendError(reply: HttpReply, exception: unknown, logger: Logger, req?: HttpRequest): void {
  const body = toErrorBody(exception);
  // The path only: a query string may carry an access token (the notifications stream).
  const path = req?.url.split('?')[0];
  if (isChosenUnavailable(exception))
    logger.warn(
      {
        status: body.status,
        code: body.code,
        ...(body.details.length > 0 && { details: body.details }),
        // Fields the thrower marked (e.g. whose password change could not open a session).
        ...exception.securityEvent,
        method: req?.method,
        path,
      },
      `unavailable: ${body.message}`,
    );
  else if (body.status >= 500) logger.error({ err: exception, method: req?.method, path }, 'request failed');
  else if (exception instanceof AppError && exception.securityEvent)
    logger.warn(
      { security_event: body.code, ...exception.securityEvent, method: req?.method, path },
      `refused: ${body.message}`,
    );
  // A route that counts only well-formed requests against its limit gives this one back (RateLimitGuard).
  if (body.status === 400) void req?.onMalformed?.();
  if (reply.sent) return;
  if (exception instanceof AppError)
    for (const [name, value] of Object.entries(exception.headers)) void reply.header(name, value);
  // The id stored on the request, not the async context: errors raised while the body is parsed run
  // outside any request's context.
  const requestId = req?.requestId ?? String(reply.getHeader('x-request-id') ?? '');
  void reply
    .code(body.status)
    // Even on a route whose answers may be cached (the JWKS): an error never is.
    .header('Cache-Control', 'no-store')
    .type('application/json; charset=utf-8')
    .send({ ...body, request_id: requestId });
}
