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

export interface AuthApi {
  /**
   * Ends every session of the user at once: their refresh tokens stop working and, since every app's guard
   * checks the session in Redis, so do their access tokens, everywhere, from the moment this returns. A
   * login racing it cannot open a session that outlives it. Idempotent.
   */
  revokeSessions(input: RevokeSessionsInput): Promise<{ revoked: number }>;
}

export const AUTH_API = Symbol('AUTH_API');

export const AuthContract = defineContract<AuthApi>({
  service: 'auth',
  token: AUTH_API,
  patterns: { revokeSessions: 'auth.revoke-sessions' },
});
