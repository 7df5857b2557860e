import { sign, type KeyObject } from 'node:crypto';
import { AppError } from '../errors/app-error';

export type Role = 'customer' | 'staff' | 'admin';
const ROLES: readonly string[] = ['customer', 'staff', 'admin'];

export interface AccessClaims {
  sub: string;
  role: Role;
  sid: string;
  iat: number;
  exp: number;
  iss: string;
  aud: string;
}

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * A compact ES256 JWT whose header names its key. Only auth holds a private key, so only auth signs (tests
 * sign with their suite's keys). The signature is the raw r||s pair JWS wants (RFC 7518 §3.4), not DER.
 */
export function signAccessToken(claims: AccessClaims, key: { privateKey: KeyObject; kid: string }): string {
  const signingInput = `${b64({ alg: 'ES256', typ: 'JWT', kid: key.kid })}.${b64(claims)}`;
  const signature = sign('sha256', Buffer.from(signingInput), {
    key: key.privateKey,
    dsaEncoding: 'ieee-p1363',
  });
  return `${signingInput}.${signature.toString('base64url')}`;
}

export const invalidToken = (why: string) =>
  new AppError(401, 'invalid_token', `Invalid access token: ${why}`);
export const tokenExpired = () => new AppError(401, 'token_expired', 'The access token has expired');

/** The claims of a token whose signature, issuer, audience and expiry passport-jwt has checked. */
export function accessClaims(payload: unknown): AccessClaims {
  const claims = payload as Partial<AccessClaims> | null;
  if (
    typeof claims !== 'object' ||
    claims === null ||
    typeof claims.sub !== 'string' ||
    typeof claims.sid !== 'string' ||
    typeof claims.exp !== 'number'
  ) {
    throw invalidToken('missing claims');
  }
  if (!ROLES.includes(claims.role as string)) throw invalidToken('unknown role');
  return claims as AccessClaims;
}

/**
 * Remembers the claims of tokens already verified, so a client's next requests with the same token skip
 * the ES256 check (several times the cost of the rest of the guard). Only the strategy writes it, after
 * jsonwebtoken accepted the token. Expiry and the signing key's presence in the ring are still checked on
 * every use, and the session in Redis is still asked. Bounded: the oldest entries go first.
 */
export class VerifiedTokens {
  private readonly entries = new Map<string, { claims: AccessClaims; kid: string }>();

  constructor(private readonly capacity = 10000) {}

  get(token: string): { claims: AccessClaims; kid: string } | undefined {
    return this.entries.get(token);
  }

  remember(token: string, claims: AccessClaims, kid: string): void {
    if (this.entries.has(token)) return;
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(token, { claims, kid });
  }

  forget(token: string): void {
    this.entries.delete(token);
  }
}
