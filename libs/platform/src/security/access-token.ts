import { sign, verify } from 'node:crypto';
import { AppError } from '../errors/app-error';
import type { TokenKeys } from './token-keys';

export type Role = 'customer' | 'staff' | 'admin';

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

/** A compact EdDSA JWT. Only the auth module calls this (the other apps have no private key). */
export function signAccessToken(claims: AccessClaims, keys: TokenKeys): string {
  if (!keys.privateKey) throw new Error('this app has no JWT private key: only auth signs access tokens');
  const signingInput = `${b64({ alg: 'EdDSA', typ: 'JWT', kid: keys.kid })}.${b64(claims)}`;
  return `${signingInput}.${sign(null, Buffer.from(signingInput), keys.privateKey).toString('base64url')}`;
}

const invalid = (why: string) => new AppError(401, 'invalid_token', `Invalid access token: ${why}`);

/**
 * Verifies an access token locally: EdDSA only (no "none", no HMAC confusion), our key id, the signature,
 * issuer, audience and expiry. Every failure is a 401; an expired token says so.
 */
export function verifyAccessToken(
  token: string,
  keys: TokenKeys,
  expected: { issuer: string; audience: string },
  nowSeconds = Math.floor(Date.now() / 1000),
): AccessClaims {
  const parts = token.split('.');
  if (parts.length !== 3) throw invalid('malformed');
  let header: { alg?: unknown; kid?: unknown };
  let claims: Partial<AccessClaims>;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) as typeof header;
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Partial<AccessClaims>;
  } catch {
    throw invalid('malformed');
  }
  const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(header) || !isObject(claims)) throw invalid('malformed');
  if (header.alg !== 'EdDSA' || header.kid !== keys.kid) throw invalid('unknown key or algorithm');
  const signature = Buffer.from(parts[2], 'base64url');
  if (!verify(null, Buffer.from(`${parts[0]}.${parts[1]}`), keys.publicKey, signature))
    throw invalid('bad signature');
  if (claims.iss !== expected.issuer || claims.aud !== expected.audience)
    throw invalid('wrong issuer or audience');
  if (typeof claims.sub !== 'string' || typeof claims.sid !== 'string' || typeof claims.exp !== 'number') {
    throw invalid('missing claims');
  }
  if (!['customer', 'staff', 'admin'].includes(claims.role as string)) throw invalid('unknown role');
  if (claims.exp <= nowSeconds) throw new AppError(401, 'token_expired', 'The access token has expired');
  return claims as AccessClaims;
}

/**
 * Remembers the claims of tokens whose signature and claims have been verified, so a client's next
 * requests with the same token skip the Ed25519 check (a tenth of a transfer's CPU). Expiry is still
 * checked on every use, and the guard still asks Redis whether the session exists. Bounded: the oldest
 * entries go first.
 */
export class VerifiedTokens {
  private readonly entries = new Map<string, AccessClaims>();

  constructor(private readonly capacity = 10000) {}

  verify(
    token: string,
    keys: TokenKeys,
    expected: { issuer: string; audience: string },
    nowSeconds = Math.floor(Date.now() / 1000),
  ): AccessClaims {
    const known = this.entries.get(token);
    if (known) {
      if (known.exp <= nowSeconds) {
        this.entries.delete(token);
        throw new AppError(401, 'token_expired', 'The access token has expired');
      }
      return known;
    }
    const claims = verifyAccessToken(token, keys, expected, nowSeconds);
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(token, claims);
    return claims;
  }
}
