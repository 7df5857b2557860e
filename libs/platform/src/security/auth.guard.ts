import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { HttpReply, HttpRequest } from '../http/http-types';
import { AppConfig } from '../config/app-config';
import { requestContext, type Caller } from '../context/request-context';
import { AppError } from '../errors/app-error';
import { VerifiedTokens, type Role } from './access-token';
import { PUBLIC_ROUTE, ROLES, TOKEN_IN_QUERY } from './decorators';
import { RedisService } from '../redis/redis.module';
import { sessionKey } from './session-registry';
import { TokenKeys } from './token-keys';

/**
 * Global guard of every app: each request carries an access token verified here, locally, with the
 * public key (no call to auth), unless its route is @Public(), and whose session still exists in Redis
 * (see session-registry.ts). Then @Roles() is enforced: 401 without a valid token or live session, 403
 * with the wrong role.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly verified = new VerifiedTokens();

  constructor(
    private readonly reflector: Reflector,
    private readonly keys: TokenKeys,
    private readonly config: AppConfig,
    private readonly redis: RedisService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const req = ctx.switchToHttp().getRequest<HttpRequest>();
    const res = ctx.switchToHttp().getResponse<HttpReply>();
    const header = req.headers.authorization;
    const bearer = typeof header === 'string' ? /^Bearer ([A-Za-z0-9_.-]+)$/.exec(header)?.[1] : undefined;
    const query = this.reflector.getAllAndOverride<boolean>(TOKEN_IN_QUERY, targets)
      ? (req.query as Record<string, unknown>).access_token
      : undefined;
    const token =
      bearer ?? (typeof query === 'string' && /^[A-Za-z0-9_.-]+$/.test(query) ? query : undefined);
    if (!token) {
      void res.header('WWW-Authenticate', 'Bearer');
      throw new AppError(401, 'unauthorized', 'A bearer access token is required');
    }
    let claims;
    try {
      claims = this.verified.verify(token, this.keys, {
        issuer: this.config.jwtIssuer,
        audience: this.config.jwtAudience,
      });
    } catch (err) {
      void res.header('WWW-Authenticate', 'Bearer error="invalid_token"');
      throw err;
    }
    if ((await this.redis.client.exists(sessionKey(claims.sid))) === 0) {
      void res.header('WWW-Authenticate', 'Bearer error="invalid_token"');
      throw new AppError(401, 'session_ended', 'The session of this access token has ended; log in again');
    }
    const caller: Caller = { user_id: claims.sub, role: claims.role, session_id: claims.sid };
    req.caller = caller;
    req.tokenExpiresAt = claims.exp;
    requestContext.setCaller(caller);
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES, targets);
    if (roles && !roles.includes(claims.role)) {
      throw new AppError(403, 'forbidden', 'Your role does not allow this');
    }
    return true;
  }
}
