import { Injectable } from '@nestjs/common';
import { RedisScript } from '../redis/redis-script';
import { RedisService } from '../redis/redis.module';

export interface Hit {
  allowed: boolean;
  count: number;
  /** Seconds until the window resets: the Retry-After of a refusal. */
  retryAfter: number;
}

/** One counter a request is counted against: `limit` hits per `windowSeconds` of `bucket` and `key`. */
export interface Limit {
  bucket: string;
  key: string;
  limit: number;
  windowSeconds: number;
}

/** INCR, and start the window's clock on the first hit. Returns {count, ms left}. */
const HIT = new RedisScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
`);

/**
 * Takes back one hit of a window that still runs: never below zero, and never on a key that has expired
 * (a DECR there would leave a counter without a TTL).
 */
const RELEASE = new RedisScript(`
if redis.call('GET', KEYS[1]) and tonumber(redis.call('GET', KEYS[1])) > 0 then
  return redis.call('DECR', KEYS[1])
end
return 0
`);

/**
 * Fixed-window counters in Redis, shared by every instance of every app. Used through @RateLimit() on
 * routes, or directly (login lockout).
 */
@Injectable()
export class RateLimiter {
  constructor(private readonly redis: RedisService) {}

  async hit(bucket: string, key: string, limit: number, windowSeconds: number): Promise<Hit> {
    const [count, ttl] = (await HIT.run(
      this.redis.client,
      [`ratelimit:${bucket}:${key}`],
      [windowSeconds * 1000],
    )) as [number, number];
    return { allowed: count <= limit, count, retryAfter: Math.max(1, Math.ceil(ttl / 1000)) };
  }

  /**
   * Hits each limit in turn, stopping at the first that refuses: its Hit is the answer, and the hits taken
   * before it are given back (a request refused by one cap spends none of the others). Allowed, the answer
   * carries `taken`, for a caller that finds afterwards the request should not count after all.
   */
  async hitAll(limits: readonly Limit[]): Promise<Hit & { taken: readonly Limit[] }> {
    const taken: Limit[] = [];
    let last: Hit = { allowed: true, count: 0, retryAfter: 0 };
    for (const limit of limits) {
      last = await this.hit(limit.bucket, limit.key, limit.limit, limit.windowSeconds);
      if (!last.allowed) {
        await Promise.all(taken.map((t) => this.release(t.bucket, t.key).catch(() => undefined)));
        return { ...last, taken: [] };
      }
      taken.push(limit);
    }
    return { ...last, taken };
  }

  /** Gives back the hits hitAll took. */
  async releaseAll(limits: readonly Limit[]): Promise<void> {
    await Promise.all(limits.map((l) => this.release(l.bucket, l.key).catch(() => undefined)));
  }

  /**
   * hit(), answering only whether it is allowed, and allowing it when Redis cannot answer: for a cap on
   * telling someone something (a security notice), where one too many beats one lost.
   */
  async allowsFailingOpen(
    bucket: string,
    key: string,
    limit: number,
    windowSeconds: number,
  ): Promise<boolean> {
    return this.hit(bucket, key, limit, windowSeconds).then(
      (hit) => hit.allowed,
      () => true,
    );
  }

  /**
   * Takes back a hit that turned out not to count: a caller can then hit first (so parallel requests
   * cannot all pass the check before any is counted) and release when the outcome is a harmless one.
   * A release that lands in the next window takes back one of that window's hits instead: at most one
   * extra try per request in flight at the boundary.
   */
  async release(bucket: string, key: string): Promise<void> {
    await RELEASE.run(this.redis.client, [`ratelimit:${bucket}:${key}`]);
  }

  async reset(bucket: string, key: string): Promise<void> {
    await this.redis.client.del(`ratelimit:${bucket}:${key}`);
  }

  /** Blocks `key` for `seconds` (a lockout). */
  async lock(bucket: string, key: string, seconds: number): Promise<void> {
    await this.redis.client.set(`lock:${bucket}:${key}`, '1', 'EX', seconds);
  }

  /** Seconds left on a lock, 0 when there is none. */
  async lockedFor(bucket: string, key: string): Promise<number> {
    const ttl = await this.redis.client.ttl(`lock:${bucket}:${key}`);
    return ttl > 0 ? ttl : 0;
  }
}
