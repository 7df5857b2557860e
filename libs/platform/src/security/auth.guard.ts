import { Injectable, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard as PassportAuthGuard } from '@nestjs/passport';
import type { HttpRequest } from '../http/http-types';
import { requestContext, type Caller } from '../context/request-context';
import { AppError } from '../errors/app-error';
import { invalidToken, tokenExpired, type Role } from './access-token';
import { PUBLIC_ROUTE, ROLES, TOKEN_IN_QUERY } from './decorators';

const TOKEN = /^[A-Za-z0-9_.-]+$/;

/** jsonwebtoken's refusals (passport-jwt's `info`), in our error codes; no detail of what was expected. */
function refusal(info: unknown): AppError {
  if (info instanceof AppError) return info;
  const { name, message } = (info ?? {}) as { name?: string; message?: string };
  if (name === 'TokenExpiredError') return tokenExpired();
  if (message === 'invalid signature') return invalidToken('bad signature');
  if (/audience|issuer/.test(message ?? '')) return invalidToken('wrong issuer or audience');
  if (/algorithm/.test(message ?? '')) return invalidToken('unknown key or algorithm');
  return invalidToken('malformed');
}

/**
 * Global guard of every app, on passport's AuthGuard('jwt') (jwt.strategy.ts): each request carries an
 * access token verified locally, unless its route is @Public(), and whose session still exists in Redis
 * (see session-registry.ts). Then @Roles() is enforced: 401 without a valid token or live session, 403
 * with the wrong role. Contexts other than HTTP (contract calls, events) carry their caller in headers
 * and pass.
 */
@Injectable()
export class AuthGuard extends PassportAuthGuard('jwt') {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const req = ctx.switchToHttp().getRequest<HttpRequest>();
    const header = req.headers.authorization;
    // The scheme's name is case-insensitive (RFC 9110 §11.1): `bearer` and `BEARER` are Bearer.
    const bearer = typeof header === 'string' ? /^Bearer ([A-Za-z0-9_.-]+)$/i.exec(header)?.[1] : undefined;
    const query = this.reflector.getAllAndOverride<boolean>(TOKEN_IN_QUERY, targets)
      ? (req.query as Record<string, unknown>).access_token
      : undefined;
    // RFC 6750 §3.1: a repeated parameter is invalid_request, a 400, not a missing token.
    if (Array.isArray(query)) {
      throw AppError.badRequest('validation_failed', 'Invalid request: access_token', [
        { field: 'access_token', message: 'access_token is given more than once' },
      ]);
    }
    req.accessToken = bearer ?? (typeof query === 'string' && TOKEN.test(query) ? query : undefined);
    if (!req.accessToken) {
      const err = new AppError(401, 'unauthorized', 'A bearer access token is required');
      err.headers['WWW-Authenticate'] = 'Bearer';
      throw err;
    }
    await super.canActivate(ctx); // sets req.caller (getAuthenticateOptions) or throws handleRequest's error
    const caller = req.caller!;
    requestContext.setCaller(caller);
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES, targets);
    if (roles && !roles.includes(caller.role as Role)) {
      throw new AppError(403, 'forbidden', 'Your role does not allow this');
    }
    return true;
  }

  override getAuthenticateOptions() {
    return { session: false, property: 'caller' };
  }

  override handleRequest<TUser = Caller>(err: unknown, user: unknown, info: unknown): TUser {
    if (err || !user) {
      const error = err instanceof Error && !(err instanceof AppError) ? err : refusal(err ?? info);
      if (error instanceof AppError && error.status === 401) {
        error.headers['WWW-Authenticate'] = 'Bearer error="invalid_token"';
      }
      throw error;
    }
    return user as TUser;
  }
}
