/**
 * Where refresh sessions live in Redis. The auth module writes them; every app's guard checks that the
 * session of an access token still exists, so logout, logout-all, a disabled user or a changed role take
 * effect at once everywhere, at the cost of one Redis lookup per request and no call to auth. Nothing in a
 * process remembers that a session exists (VerifiedTokens remembers signatures only): once auth deletes
 * the key, the next request with any of its tokens, in any app, is 401 session_ended.
 */
export const sessionKey = (sid: string) => `auth:session:${sid}`;

/**
 * Whether a session's stored user and role (`HMGET user_id role` of sessionKey) admit a token's user and
 * role: the session exists, is that user's, and has that role (sessions opened before sessions kept their
 * role have none to compare).
 */
export function sessionAdmits(
  stored: { userId: string | null; role: string | null },
  token: { user_id: string; role: string },
): boolean {
  return stored.userId === token.user_id && (stored.role === null || stored.role === token.role);
}
