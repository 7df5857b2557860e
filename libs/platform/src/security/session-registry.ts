/**
 * Where refresh sessions live in Redis. The auth module writes them; every app's guard checks that the
 * session of an access token still exists, so logout, logout-all, a disabled user or a changed role take
 * effect at once everywhere, at the cost of one Redis lookup per request and no call to auth.
 */
export const sessionKey = (sid: string) => `auth:session:${sid}`;
