import { defineContract } from '../contract';

export interface RevokeSessionsInput {
  user_id: string;
  /**
   * The events (`user.disabled`, `user.role_changed`) that asked for this, already committed to the
   * caller's outbox. Auth records them as handled, so their later delivery (the at-least-once safety net
   * when this call fails) does not end sessions the user opened after the call.
   */
  event_ids: string[];
}

/**
 * A public key that verifies access tokens: a JWK (RFC 7517) of an ES256 key on P-256, `kid` its RFC 7638
 * thumbprint, and the end of its window in seconds since the epoch (null while it is the newest key).
 */
export interface VerificationKey {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  kid: string;
  alg: 'ES256';
  use: 'sig';
  verify_until: number | null;
}

export interface VerificationKeys {
  keys: VerificationKey[];
}

/** A password to check again for a signed-in user (a sensitive action such as revealing card details). */
export interface VerifyPasswordInput {
  user_id: string;
  password: string;
}

export interface AuthApi {
  /**
   * Ends every session of the user at once: their refresh tokens stop working and, since every app's guard
   * checks the session in Redis, so do their access tokens, everywhere, from the moment this returns. A
   * login racing it cannot open a session that outlives it. Idempotent.
   */
  revokeSessions(input: RevokeSessionsInput): Promise<{ revoked: number }>;

  /**
   * Every key that verifies access tokens now, read afresh from auth's key directory: the other apps ask
   * on a key id they do not know and periodically, so they follow a rotation without a restart. The set
   * is complete: a key it leaves out has retired past every token it signed.
   */
  verificationKeys(): Promise<VerificationKeys>;

  /**
   * Whether `password` is the user's current password (an active credential). Costs one argon2id
   * verification whether or not the user exists. It counts nothing: the caller rate-limits its own route.
   * The password is never logged or kept.
   */
  verifyPassword(input: VerifyPasswordInput): Promise<{ valid: boolean }>;
}

export const AUTH_API = Symbol('AUTH_API');

export const AuthContract = defineContract<AuthApi>({
  service: 'auth',
  token: AUTH_API,
  patterns: {
    revokeSessions: 'auth.revoke-sessions',
    verificationKeys: 'auth.verification-keys',
    verifyPassword: 'auth.verify-password',
  },
});
