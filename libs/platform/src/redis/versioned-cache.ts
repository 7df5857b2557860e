import { Injectable } from '@nestjs/common';
import { RedisScript } from './redis-script';
import { RedisService } from './redis.module';

/** Writes each value only if the key is absent or holds an older version. KEYS: the keys; ARGV: ttl, then (json, version) pairs. */
const SET_IF_NEWER = new RedisScript(`
local ttl = tonumber(ARGV[1])
local written = 0
for i, key in ipairs(KEYS) do
  local value, version = ARGV[i * 2], tonumber(ARGV[i * 2 + 1])
  local current = redis.call('GET', key)
  local ok = true
  if current then
    local held = tonumber(cjson.decode(current).version)
    if held and held >= version then ok = false end
  end
  if ok then
    redis.call('SET', key, value, 'EX', ttl)
    written = written + 1
  end
end
return written`);

/**
 * A cache whose JSON values carry a `version` (e.g. a row's version): a write never replaces a newer
 * value. This closes the classic race where a reader fetches a value, a writer updates the source and
 * the cache, and the reader then caches its now stale value over the writer's.
 */
@Injectable()
export class VersionedCache {
  constructor(private readonly redis: RedisService) {}

  async get<T>(key: string): Promise<T | undefined> {
    const raw = await this.redis.client.get(key);
    return raw ? (JSON.parse(raw) as T) : undefined;
  }

  async delete(keys: string[]): Promise<void> {
    if (keys.length) await this.redis.client.del(...keys);
  }

  async setIfNewer(
    entries: { key: string; value: { version: string } }[],
    ttlSeconds: number,
  ): Promise<void> {
    if (entries.length === 0) return;
    await SET_IF_NEWER.run(
      this.redis.client,
      entries.map((e) => e.key),
      [ttlSeconds, ...entries.flatMap((e) => [JSON.stringify(e.value), e.value.version])],
    );
  }
}
