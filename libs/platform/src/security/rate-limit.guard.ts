import { Injectable, SetMetadata, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { HttpRequest } from '../http/http-types';
import { AppConfig } from '../config/app-config';
import { ConfigSource, type ConfigSection, type SectionClass } from '../config/config-section';
import { AppError } from '../errors/app-error';
import { rateLimitAddress } from './client-address';
import { RateLimiter } from './rate-limiter';

export interface RateLimitOptions {
  /** Counter name, e.g. "login-ip". */
  bucket: string;
  /** Requests allowed per window, or read from the route's module's configuration (configuredLimit). */
  limit: number | ConfiguredLimit<unknown>;
  windowSeconds: number;
  /** Count per client IP, or per signed-in user (falls back to the IP on public routes). */
  by: 'ip' | 'user';
  /**
   * false: a request refused as malformed (any 400) is given back, so that the limit counts what the
   * route does (payees saved, statements made), not a client's mistakes. Only where a 400 looks nothing
   * up; left out (counted) where every attempt must count (logins, codes, resets: guesses are what they
   * limit).
   */
  countMalformed?: false;
}

export interface ConfiguredLimit<T> {
  section: SectionClass<T>;
  read: (config: T) => number;
}

/** A limit read from a module's configuration class (a ConfigSection its module provides). */
export const configuredLimit = <T>(
  section: SectionClass<T>,
  read: (config: T) => number,
): ConfiguredLimit<unknown> => ({ section, read: read as (config: unknown) => number });

export const RATE_LIMIT = Symbol('RATE_LIMIT');

/** Limits a route with Redis counters shared by all instances: 429 with Retry-After past the limit. */
export const RateLimit = (options: RateLimitOptions) => SetMetadata(RATE_LIMIT, options);

@Injectable()
export class RateLimitGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly limiter: RateLimiter,
    private readonly configs: ConfigSource,
    private readonly config: AppConfig,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    const options = this.reflector.getAllAndOverride<RateLimitOptions | undefined>(RATE_LIMIT, [
      ctx.getHandler(),
      ctx.getClass(),
    ]);
    if (!options) return true;
    const req = ctx.switchToHttp().getRequest<HttpRequest>();
    const key =
      options.by === 'user' && req.caller
        ? `user:${req.caller.user_id}`
        : `ip:${rateLimitAddress(req.ip, this.config.rateLimitIpv6Prefix)}`;
    const limit =
      typeof options.limit === 'number'
        ? options.limit
        : // The section the module provides, read once (at boot) by the app's ConfigSource.
          options.limit.read(this.configs.load(options.limit.section as ConfigSection<unknown>));
    const hit = await this.limiter.hit(options.bucket, key, limit, options.windowSeconds);
    if (!hit.allowed) throw AppError.tooManyRequests('rate_limited', 'Too many requests', hit.retryAfter);
    if (options.countMalformed === false)
      req.onMalformed = () => this.limiter.release(options.bucket, key).catch(() => undefined);
    return true;
  }
}
