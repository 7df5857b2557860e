import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AppConfig } from '../config/app-config';
import { AppError } from '../errors/app-error';
import type { HttpRequest } from '../http/http-types';

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * /metrics answers only a scraper holding METRICS_TOKEN (`Authorization: Bearer <token>`): its business
 * counters (transfers by outcome, deliveries, open streams) are not for the public. Production refuses to
 * start without a token; elsewhere an unset token leaves /metrics open, for development.
 */
@Injectable()
export class MetricsTokenGuard implements CanActivate {
  private readonly expected: Buffer | undefined;

  constructor(config: AppConfig) {
    if (config.isProduction && !config.metricsToken)
      throw new Error('METRICS_TOKEN (or METRICS_TOKEN_FILE) must be set in production: /metrics needs it');
    this.expected = config.metricsToken === undefined ? undefined : digest(config.metricsToken);
  }

  canActivate(ctx: ExecutionContext): boolean {
    if (!this.expected) return true;
    const header = ctx.switchToHttp().getRequest<HttpRequest>().headers.authorization;
    const given = typeof header === 'string' ? /^Bearer (\S+)$/i.exec(header)?.[1] : undefined;
    // Digests of equal length, compared in constant time: neither the token nor its length leaks.
    if (given !== undefined && timingSafeEqual(digest(given), this.expected)) return true;
    throw new AppError(
      401,
      'unauthorized',
      'A valid metrics token is required (Bearer METRICS_TOKEN)',
    ).withHeaders({
      'WWW-Authenticate': 'Bearer realm="metrics"',
    });
  }
}
