import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-jwt';
import type { Logger } from 'pino';
import { AppConfig } from '../config/app-config';
import type { Caller } from '../context/request-context';
import type { HttpRequest } from '../http/http-types';
import { RedisService } from '../redis/redis.module';
import { LOGGER } from '../logging/logging.tokens';
import { accessClaims, invalidToken, tokenExpired, VerifiedTokens, type AccessClaims } from './access-token';
import { KeyRing } from './key-ring';
import { sessionAdmits, sessionKey } from './session-registry';
import { sessionEnded } from './live-session';

/** The key id a token's header names, for secretOrKeyProvider; ES256 only (no "none", no HMAC). */
export function tokenKid(token: string): string {
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString('utf8'));
  } catch {
    throw invalidToken('malformed');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw invalidToken('malformed');
  const { alg, kid } = header as { alg?: unknown; kid?: unknown };
  if (alg !== 'ES256' || typeof kid !== 'string') throw invalidToken('unknown key or algorithm');
  return kid;
}

type PassportRequest = Parameters<Strategy['authenticate']>[0];

/**
 * passport-jwt over our key ring: jsonwebtoken verifies the ES256 signature with the key the token's
 * `kid` names, and the issuer, audience and expiry; validate() then checks the claims and that the
 * session still exists in Redis, and yields the Caller. The guard (auth.guard.ts) has already taken the
 * token from the request (header, or the query on @TokenInQuery routes) into `req.accessToken`.
 *
 * A token verified once skips jsonwebtoken on its next requests (VerifiedTokens): authenticate() answers
 * from the cache when it can (expiry, the key still in the ring, and the session still checked) and
 * falls through to passport-jwt otherwise. The cache is written only in validate(), which passport-jwt
 * calls after jsonwebtoken accepted the token.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  private readonly verified = new VerifiedTokens();

  constructor(
    private readonly ring: KeyRing,
    config: AppConfig,
    private readonly redis: RedisService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    super({
      jwtFromRequest: (req: HttpRequest) => req.accessToken ?? null,
      secretOrKeyProvider: (_req: unknown, raw: string, done: (err: unknown, key?: Buffer) => void) => {
        let kid: string;
        try {
          kid = tokenKid(raw);
        } catch (err) {
          done(err);
          return;
        }
        ring.keyFor(kid).then(
          // jsonwebtoken takes a KeyObject as it is (a PEM string would be parsed again on every call).
          (key) => (key ? done(null, key as unknown as Buffer) : done(invalidToken('unknown key'))),
          (err: unknown) => done(err),
        );
      },
      algorithms: ['ES256'],
      issuer: config.jwtIssuer,
      audience: config.jwtAudience,
      passReqToCallback: true,
    });
  }

  override authenticate(req: PassportRequest, options?: unknown): void {
    const token = (req as unknown as HttpRequest).accessToken;
    const known = token ? this.verified.get(token) : undefined;
    if (!known || !this.ring.known(known.kid)) {
      super.authenticate(req, options);
      return;
    }
    if (known.claims.exp <= Math.floor(Date.now() / 1000)) {
      this.verified.forget(token!);
      this.fail(tokenExpired(), 401);
      return;
    }
    this.admit(req as unknown as HttpRequest, known.claims).then(
      (caller) => this.success(caller),
      (err: Error) => this.error(err),
    );
  }

  /** Called by passport-jwt once jsonwebtoken has verified the token. */
  async validate(req: HttpRequest, payload: unknown): Promise<Caller> {
    const claims = accessClaims(payload);
    this.verified.remember(req.accessToken!, claims, tokenKid(req.accessToken!));
    return this.admit(req, claims);
  }

  private async admit(req: HttpRequest, claims: AccessClaims): Promise<Caller> {
    // The session must exist and be the token's user's, with the token's role: with a signing key leaked,
    // a token naming any user (an admin), or one's own user as an admin, with one's own live session id
    // would otherwise pass. (Sessions opened before sessions kept their role have none to compare.)
    const [userId, role, resetHoldUntil] = await this.redis.client.hmget(
      sessionKey(claims.sid),
      'user_id',
      'role',
      'reset_hold_until',
    );
    if (!sessionAdmits({ userId, role }, { user_id: claims.sub, role: claims.role })) {
      if (userId === claims.sub) {
        this.logger.error(
          {
            security_event: 'token_role_mismatch',
            user_id: claims.sub,
            session_id: claims.sid,
            role: claims.role,
          },
          "an access token's role is not its session's: was a signing key leaked?",
        );
      }
      throw sessionEnded();
    }
    req.tokenExpiresAt = claims.exp;
    return {
      user_id: claims.sub,
      role: claims.role,
      session_id: claims.sid,
      ...(resetHoldUntil && { reset_hold_until: resetHoldUntil }),
    };
  }
}
