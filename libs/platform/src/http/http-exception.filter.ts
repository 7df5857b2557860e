import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { requestContext } from '../context/request-context';
import { AppError } from '../errors/app-error';
import { toErrorBody } from './error-body';

/** Renders every error of every route (including unknown routes) in the one error shape. */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const res = http.getResponse<Response>();
    const req = http.getRequest<Request>();
    sendError(res, exception, this.logger, req);
  }
}

export function sendError(res: Response, exception: unknown, logger: Logger, req?: Request): void {
  const body = toErrorBody(exception);
  if (body.status >= 500)
    logger.error({ err: exception, method: req?.method, path: req?.path }, 'request failed');
  if (res.headersSent) return;
  if (exception instanceof AppError)
    for (const [name, value] of Object.entries(exception.headers)) res.setHeader(name, value);
  const requestId = requestContext.requestId() ?? String(res.getHeader('x-request-id') ?? '');
  res.status(body.status).json({ ...body, request_id: requestId });
}
