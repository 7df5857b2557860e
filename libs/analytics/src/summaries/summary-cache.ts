import { Inject, Injectable } from '@nestjs/common';
import { AppConfig, LOGGER, RedisScript, RedisService } from '@protobank/platform';
import type { Logger } from 'pino';
import { addDays, today } from './calendar';
import { decodeDay, encodeDay, type DaySummary, type SummaryVersion } from './day-summary';

/** A user's hash goes a week after its last write. */
export const DAILY_TTL_SECONDS = 8 * 86_400;
/** Days kept in a hash, back from today: at least this month and the last two (what insights read). */
export const CACHED_DAYS_BACK = 92;
/** The lowest generation still valid; raised by a rebuild before it commits. */
export const GENERATION_KEY = 'analytics:generation';
export const dailyKey = (userId: string) => `analytics:${userId}:daily`;

/**
 * Writes each (field, value) unless the field holds a newer copy: generation first, then version. A
 * copy older than the generation floor is refused whole. Then drops days before the oldest kept, so
 * an active user's hash (whose TTL never runs out) stays small. KEYS: hash, floor; ARGV: ttl,
 * generation, version, oldest day kept, then field/value pairs. The race VersionedCache closes, per field.
 */
const SET_DAYS_IF_NEWER = new RedisScript(`
local g, v = tonumber(ARGV[2]), tonumber(ARGV[3])
if g < tonumber(redis.call('GET', KEYS[2]) or '0') then return 0 end
local written = 0
for i = 5, #ARGV, 2 do
  local current = redis.call('HGET', KEYS[1], ARGV[i])
  local ok = true
  if current then
    local ok_decode, held = pcall(cjson.decode, current)
    if ok_decode and type(held) == 'table' then
      local hg, hv = tonumber(held.g) or 0, tonumber(held.v) or 0
      if hg > g or (hg == g and hv >= v) then ok = false end
    end
  end
  if ok then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
    written = written + 1
  end
end
if written > 0 then
  for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
    if field < ARGV[4] then redis.call('HDEL', KEYS[1], field) end
  end
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return written`);

/** Sets the floor to ARGV[1] if it is higher, or back to ARGV[2] if it still is ARGV[1] (ARGV[3] = 'lower'). */
const MOVE_FLOOR = new RedisScript(`
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local target, previous = tonumber(ARGV[1]), tonumber(ARGV[2])
if ARGV[3] == 'lower' then
  if current == target then redis.call('SET', KEYS[1], previous) end
elseif target > current then
  redis.call('SET', KEYS[1], target)
end
return current`);

/**
 * The Redis copy of day summaries: one hash per user (`analytics:{user_id}:daily`, field YYYY-MM-DD).
 * Postgres is the truth; a failed read is a miss and a failed write is logged, never an error.
 */
@Injectable()
export class SummaryCache {
  constructor(
    private readonly redis: RedisService,
    private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * The cached days among `days`, leaving out copies from before the last rebuild. Days outside the
   * kept window are not read at all (a day leaves it a day earlier here than for writers, so a clock
   * apart between processes cannot read a day that writers have stopped keeping up).
   */
  async read(userId: string, days: string[], now = new Date()): Promise<Map<string, DaySummary>> {
    const found = new Map<string, DaySummary>();
    const oldest = addDays(today(this.config.bankTimeZone, now), 1 - CACHED_DAYS_BACK);
    const kept = days.filter((d) => d >= oldest);
    if (kept.length === 0) return found;
    try {
      const [floor, values] = await Promise.all([
        this.redis.client.get(GENERATION_KEY),
        this.redis.client.hmget(dailyKey(userId), ...kept),
      ]);
      kept.forEach((day, i) => {
        const summary = decodeDay(day, values[i], Number(floor ?? 0));
        if (summary) found.set(day, summary);
      });
    } catch (err) {
      this.logger.warn({ err }, 'analytics cache unreadable; answering from Postgres');
    }
    return found;
  }

  /**
   * Writes days computed at `at`, those of the last CACHED_DAYS_BACK days only (a day to come has nothing
   * to keep yet). When Redis refuses, drops those fields instead so readers go to
   * Postgres; only if it takes neither can a day be stale, until the key's TTL or the day's next event.
   */
  async write(userId: string, at: SummaryVersion, summaries: DaySummary[], now = new Date()): Promise<void> {
    const last = today(this.config.bankTimeZone, now);
    const oldest = addDays(last, -CACHED_DAYS_BACK);
    const days = summaries.filter((d) => d.day >= oldest && d.day <= last);
    const key = dailyKey(userId);
    // A day after this process's today (another's clock is ahead, around midnight) is not written, and
    // any copy of it is dropped, so it cannot stay behind what the rollups now say.
    const ahead = summaries.filter((d) => d.day > last).map((d) => d.day);
    if (ahead.length) {
      await this.redis.client
        .hdel(key, ...ahead)
        .catch((err: unknown) =>
          this.logger.warn({ err, user_id: userId }, 'analytics cache: days ahead not dropped'),
        );
    }
    if (days.length === 0) return;
    try {
      await SET_DAYS_IF_NEWER.run(
        this.redis.client,
        [key, GENERATION_KEY],
        [
          DAILY_TTL_SECONDS,
          at.generation,
          at.version,
          oldest,
          ...days.flatMap((d) => [d.day, encodeDay(d, at)]),
        ],
      );
    } catch (err) {
      try {
        await this.redis.client.hdel(key, ...days.map((d) => d.day));
        this.logger.warn({ err, user_id: userId }, 'analytics cache not updated; days dropped instead');
      } catch (again) {
        this.logger.error(
          { err: again, user_id: userId, days: days.map((d) => d.day) },
          'analytics cache neither updated nor dropped: these days may be stale until the TTL',
        );
      }
    }
  }

  /** Makes copies of generations below `generation` invisible and unwritable. Throws when Redis fails. */
  async raiseFloor(generation: number): Promise<void> {
    await MOVE_FLOOR.run(this.redis.client, [GENERATION_KEY], [generation, 0, 'raise']);
  }

  /** Undoes raiseFloor after a rebuild that did not commit (unless another has moved it since). */
  async lowerFloor(generation: number, previous: number): Promise<void> {
    await MOVE_FLOOR.run(this.redis.client, [GENERATION_KEY], [generation, previous, 'lower']);
  }

  /**
   * Deletes every user's day hash. SCAN sees full key names and its MATCH is not prefixed by ioredis,
   * while DEL is: match with the prefix, delete without it.
   */
  async deleteAll(): Promise<number> {
    const prefix = this.config.redisKeyPrefix;
    const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}analytics:*:daily`;
    let cursor = '0';
    let deleted = 0;
    do {
      const [next, keys] = await this.redis.client.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      if (keys.length) deleted += await this.redis.client.del(...keys.map((k) => k.slice(prefix.length)));
      cursor = next;
    } while (cursor !== '0');
    return deleted;
  }
}
