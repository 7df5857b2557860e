import { Injectable } from '@nestjs/common';
import { chunksOf, RedisScript, RedisService, sessionKey, type Role } from '@protobank/platform';
import { randomUUID } from 'node:crypto';
import { openGraceBox, sealGraceBox } from './grace-box';
import { newSecret, parseOpaqueToken, secretDigest } from './opaque-token';
import type { TokenPair } from './token-issuer';
import { AuthConfig } from '../auth.config';

export interface SessionMeta {
  ip?: string;
  user_agent?: string;
}

export interface SessionView {
  id: string;
  created_at: string;
  last_used_at: string;
  expires_at: string;
  ip: string | null;
  user_agent: string | null;
}

export type RotateOutcome =
  /** The presented token was current: `pair` is the new one, and the presented token is now used. */
  | { kind: 'rotated'; userId: string; sid: string; pair: TokenPair }
  /** The presented token was rotated less than the grace window ago: `pair` is what that rotation issued. */
  | { kind: 'grace'; userId: string; sid: string; pair: TokenPair }
  | { kind: 'reused'; userId: string; sid: string }
  | { kind: 'invalid' };

const usedKey = (sid: string) => `auth:session:${sid}:used`;
const userKey = (userId: string) => `auth:user-sessions:${userId}`;
/** Bumped by every revokeAll: a login that read the user's profile before it cannot add a session after it. */
const generationKey = (userId: string) => `auth:user-generation:${userId}`;

/**
 * Creates a session only if no revokeAll happened since the caller read the generation (ARGV[1]).
 * KEYS: session hash, user's session set, user's generation. ARGV: generation, ttl, sid, fields...
 */
const CREATE = new RedisScript(`
if (redis.call('GET', KEYS[3]) or '') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[2])
return 1
`);

/**
 * Compare-and-rotate in one step, so two concurrent refreshes with one token cannot both rotate: the
 * current token is swapped for the new one and remembered as used. The token it replaced (`prev`) may be
 * presented again until `prev_until` (Redis's clock, shared by every auth instance) and gets the sealed
 * pair that rotation issued; a used token outside that window, or one rotated twice since, is a replay.
 * KEYS: session hash, used set. ARGV: presented digest, new digest, sealed new pair, grace ms, now (ISO).
 */
const ROTATE = new RedisScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return {'invalid'} end
local uid = redis.call('HGET', KEYS[1], 'user_id')
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'token', ARGV[2], 'prev', ARGV[1], 'prev_until', tostring(now + tonumber(ARGV[4])),
    'prev_box', ARGV[3], 'last_used_at', ARGV[5])
  redis.call('SADD', KEYS[2], ARGV[1])
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
  return {'rotated', uid}
end
if redis.call('HGET', KEYS[1], 'prev') == ARGV[1] and now < tonumber(redis.call('HGET', KEYS[1], 'prev_until')) then
  return {'grace', uid, redis.call('HGET', KEYS[1], 'prev_box')}
end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return {'reused', uid} end
return {'invalid'}
`);

/** Keys or sessions in one command: each bounded, however many sessions a user's set lists. */
const PER_CALL = 500;
/** Members of a user's set each login checks for sessions that ended on their own (see forgetEnded). */
const PRUNE_SAMPLE = 16;

/**
 * Bumps the generation and reads the session set in one step. KEYS: generation, set. ARGV: ttl. The set
 * is left as it is: its ids leave it only once their sessions are deleted, so a run whose reply was lost
 * (ioredis sends it again after a reconnect), or a retry after a failure part way, finds them again.
 */
export const REVOKE_ALL = new RedisScript(`
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return redis.call('SMEMBERS', KEYS[2])
`);

/**
 * Refresh sessions in Redis, one per login. A refresh token is `<session id>.<secret>`; only the
 * secret's SHA-256 is stored (and, for the grace window, the pair it was rotated into, sealed under a key
 * only that secret yields). Sessions end absolutely REFRESH_TOKEN_TTL_SECONDS after login.
 */
@Injectable()
export class SessionStore {
  constructor(
    private readonly redis: RedisService,
    private readonly config: AuthConfig,
  ) {}

  /** Read before deciding a login (its profile): `create` refuses if a revokeAll happened since. */
  async generation(userId: string): Promise<string> {
    return (await this.redis.client.get(generationKey(userId))) ?? '';
  }

  /**
   * A new session, or undefined when the user's sessions were revoked after `generation` was read.
   * `resetHoldUntil`: the session is held until then (every app's guard puts it on the caller).
   */
  async create(
    userId: string,
    role: string,
    meta: SessionMeta,
    generation: string,
    resetHoldUntil?: Date,
  ): Promise<{ sid: string; refreshToken: string } | undefined> {
    const sid = randomUUID();
    const secret = newSecret();
    const now = new Date();
    const ttl = this.config.refreshTokenTtlSeconds;
    const fields = {
      user_id: userId,
      // The role every access token of this session must carry (a role change ends the sessions): the
      // guard compares, so a token signed with a leaked key cannot raise its own session's role.
      role,
      token: secretDigest(secret),
      created_at: now.toISOString(),
      last_used_at: now.toISOString(),
      expires_at: new Date(now.getTime() + ttl * 1000).toISOString(),
      ip: meta.ip ?? '',
      user_agent: (meta.user_agent ?? '').slice(0, 200),
      ...(resetHoldUntil && { reset_hold_until: resetHoldUntil.toISOString() }),
    };
    await this.forgetEnded(userId);
    const created = await CREATE.run(
      this.redis.client,
      [sessionKey(sid), userKey(userId), generationKey(userId)],
      [generation, ttl, sid, ...Object.entries(fields).flat()],
    );
    if (created !== 1) return undefined;
    await this.keepAtMost(userId, this.config.sessionsPerUserMax, { sid, created_at: fields.created_at });
    return { sid, refreshToken: `${sid}.${secret}` };
  }

  /**
   * A user's set names every session since it was last empty, and sessions expire on their own, which
   * the set does not see. Each login checks a random sample of it and forgets the ended ones, so the set
   * stays within about a fifteenth of the live sessions instead of growing by one a login for as long as
   * the user logs in at least once a session lifetime. (A session's hash is written before its id joins
   * the set, in one script: an id without a hash has ended.)
   */
  private async forgetEnded(userId: string): Promise<void> {
    const sample = await this.redis.client.srandmember(userKey(userId), PRUNE_SAMPLE);
    const hashes = await Promise.all(sample.map((sid) => this.redis.client.exists(sessionKey(sid))));
    const ended = sample.filter((_, i) => hashes[i] === 0);
    if (ended.length > 0) await this.redis.client.srem(userKey(userId), ...ended);
  }

  /**
   * SESSIONS_PER_USER_MAX: past it, the least recently used sessions end, as logging out of them would.
   * Bounds what one user (or a client that logs in without ever logging out) can keep in Redis and what
   * GET /auth/sessions lists. A login ends only sessions made before its own (`made`): of logins at once,
   * each spares the later ones, so the latest always survives (with a cap of 1, the others end), where
   * each sparing only itself could end them all.
   */
  private async keepAtMost(
    userId: string,
    max: number,
    made: { sid: string; created_at: string },
  ): Promise<void> {
    if ((await this.redis.client.scard(userKey(userId))) <= max) return;
    const sessions = await this.read(await this.redis.client.smembers(userKey(userId)));
    const live = sessions.filter((s) => s.hash.user_id);
    await this.forget(
      userId,
      sessions.filter((s) => !s.hash.user_id).map((s) => s.sid),
    );
    const madeBefore = ({ sid, hash }: { sid: string; hash: Record<string, string> }) =>
      hash.created_at < made.created_at || (hash.created_at === made.created_at && sid < made.sid);
    const oldest = live
      .filter(madeBefore)
      .sort((a, b) => (a.hash.last_used_at ?? '').localeCompare(b.hash.last_used_at ?? ''))
      .slice(0, Math.max(0, live.length - max));
    await this.end(
      userId,
      oldest.map((s) => s.sid),
    );
  }

  /** Each session's hash ({} once it has ended), PER_CALL reads at a time. */
  private async read(sids: string[]): Promise<{ sid: string; hash: Record<string, string> }[]> {
    const out: { sid: string; hash: Record<string, string> }[] = [];
    for (const chunk of chunksOf(sids, PER_CALL)) {
      const hashes = await Promise.all(chunk.map((sid) => this.redis.client.hgetall(sessionKey(sid))));
      chunk.forEach((sid, i) => out.push({ sid, hash: hashes[i] }));
    }
    return out;
  }

  /** Ends sessions: their hashes and used-token sets, and their ids in the user's set. */
  private async end(userId: string, sids: string[]): Promise<void> {
    await this.drop(sids);
    await this.forget(userId, sids);
  }

  /**
   * Deletes sessions' hashes and used-token sets in bounded DELs: one DEL spread over tens of thousands
   * of ids exceeds the arguments one call can take (a RangeError before it reaches Redis).
   */
  private async drop(sids: string[]): Promise<void> {
    for (const chunk of chunksOf(sids, PER_CALL)) {
      await this.redis.client.del(...chunk.flatMap((sid) => [sessionKey(sid), usedKey(sid)]));
    }
  }

  /** Takes ids out of the user's set. */
  private async forget(userId: string, sids: string[]): Promise<void> {
    for (const chunk of chunksOf(sids, PER_CALL)) await this.redis.client.srem(userKey(userId), ...chunk);
  }

  /**
   * The session a refresh token names (its id, user, role: none for one opened before sessions kept it,
   * and reset hold, if any), without rotating anything; undefined if none.
   */
  async peek(
    refreshToken: string,
  ): Promise<{ sid: string; userId: string; role?: string; resetHoldUntil?: string } | undefined> {
    const sid = parseOpaqueToken(refreshToken)?.id;
    if (!sid) return undefined;
    const [userId, role, hold] = await this.redis.client.hmget(
      sessionKey(sid),
      'user_id',
      'role',
      'reset_hold_until',
    );
    return userId
      ? { sid, userId, role: role ?? undefined, ...(hold && { resetHoldUntil: hold }) }
      : undefined;
  }

  /**
   * Rotates `refreshToken`. `issue` makes the pair for the new refresh token (it is sealed for the grace
   * window before the swap, so the swap and the sealed pair are one atomic write); a presentation within
   * the grace window returns the pair sealed by the rotation that used it, not a new one.
   */
  async rotate(
    refreshToken: string,
    issue: (sid: string, newRefreshToken: string) => TokenPair,
  ): Promise<RotateOutcome> {
    const parsed = parseOpaqueToken(refreshToken);
    if (!parsed) return { kind: 'invalid' };
    const { id: sid, secret } = parsed;
    const pair = issue(sid, `${sid}.${newSecret()}`);
    const next = pair.refresh_token.slice(sid.length + 1);
    const sealed = sealGraceBox(
      secret,
      sid,
      JSON.stringify({ access_token: pair.access_token, refresh_token: pair.refresh_token }),
    );
    const [outcome, userId, box] = (await ROTATE.run(
      this.redis.client,
      [sessionKey(sid), usedKey(sid)],
      [
        secretDigest(secret),
        secretDigest(next),
        sealed,
        this.config.refreshReuseGraceSeconds * 1000,
        new Date().toISOString(),
      ],
    )) as [string, string?, string?];
    if (outcome === 'rotated') return { kind: 'rotated', userId: userId!, sid, pair };
    if (outcome === 'reused') return { kind: 'reused', userId: userId!, sid };
    if (outcome === 'grace') {
      const opened = openGraceBox(secret, sid, box ?? '');
      if (!opened) return { kind: 'invalid' }; // cannot happen with a matching digest; refuse rather than guess
      const earlier = JSON.parse(opened) as Pick<TokenPair, 'access_token' | 'refresh_token'>;
      return {
        kind: 'grace',
        userId: userId!,
        sid,
        pair: { ...pair, ...earlier, expires_in: expiresIn(earlier.access_token) },
      };
    }
    return { kind: 'invalid' };
  }

  /** Ends a session; true when this call ended it (it was there), false when it had ended already. */
  async revoke(userId: string, sid: string): Promise<boolean> {
    const results = await this.redis.client
      .multi()
      .del(sessionKey(sid))
      .del(usedKey(sid))
      .srem(userKey(userId), sid)
      .exec();
    return Number(results?.[0]?.[1] ?? 0) > 0;
  }

  /** Ends one of the user's sessions; false when they have no such session (someone else's counts as none). */
  async revokeOwn(userId: string, sid: string): Promise<boolean> {
    const owner = await this.redis.client.hget(sessionKey(sid), 'user_id');
    if (owner !== userId) return false;
    await this.revoke(userId, sid);
    return true;
  }

  /**
   * Ends every session of the user. The generation is bumped first, in the same step that takes the set:
   * a login that read the profile before this cannot add a session afterwards (create refuses), and one
   * that added it before is in the set taken here.
   */
  async revokeAll(userId: string): Promise<number> {
    const sids = (await REVOKE_ALL.run(
      this.redis.client,
      [generationKey(userId), userKey(userId)],
      [this.config.refreshTokenTtlSeconds],
    )) as string[];
    // Deleted before they leave the set (end): the script used to empty the set itself, and a second
    // run (a lost reply sent again, a retry after a failure) found nothing left to end.
    await this.end(userId, sids);
    return sids.length;
  }

  async list(userId: string): Promise<SessionView[]> {
    const sessions = await this.read(await this.redis.client.smembers(userKey(userId)));
    await this.forget(
      userId,
      sessions.filter((s) => !s.hash.user_id).map((s) => s.sid), // expired: tidy the index
    );
    const views: SessionView[] = [];
    for (const { sid, hash: s } of sessions) {
      if (!s.user_id) continue;
      views.push({
        id: sid,
        created_at: s.created_at,
        last_used_at: s.last_used_at,
        expires_at: s.expires_at,
        ip: s.ip || null,
        user_agent: s.user_agent || null,
      });
    }
    return views.sort((a, b) => b.last_used_at.localeCompare(a.last_used_at));
  }
}

/** Seconds the access token has left (from its own `exp`). */
function expiresIn(accessToken: string): number {
  const claims = JSON.parse(Buffer.from(accessToken.split('.')[1], 'base64url').toString('utf8')) as {
    exp: number;
  };
  return Math.max(0, claims.exp - Math.floor(Date.now() / 1000));
}

export type { Role };
