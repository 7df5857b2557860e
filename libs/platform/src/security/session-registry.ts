/**
 * Where refresh sessions live in Redis. The auth module writes them; every app's guard checks that the
 * session of an access token still exists, so logout, logout-all, a disabled user or a changed role take
 * effect at once everywhere, at the cost of one Redis lookup per request and no call to auth. Nothing in a
 * process remembers that a session exists (VerifiedTokens remembers signatures only): once auth deletes
 * the key, the next request with any of its tokens, in any app, is 401 session_ended.
 */
export const sessionKey = (sid: string) => `auth:session:${sid}`;
