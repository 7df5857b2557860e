/**
 * The balance cache's version rule against the real Redis: a write never replaces a newer value. The
 * race it closes (a reader fetches a ledger row, a posting commits and caches the new balance, then the
 * reader caches its older row) has no place in the app where a test could pause it, so the rule is shown
 * here by making the writes in that order.
 */
import { VersionedCache, type RedisService } from '@protobank/platform';
import type Redis from 'ioredis';
import { createTestEnv, type TestEnv } from '../support/test-env';

describe('VersionedCache.setIfNewer on Redis', () => {
  let t: TestEnv;
  let redis: Redis;
  let cache: VersionedCache;
  let prefixed: Redis;
  let prefix: string;
  beforeAll(async () => {
    t = await createTestEnv('vcache');
    redis = await t.redis();
    prefix = t.env.REDIS_KEY_PREFIX;
    // The app's client is a prefixed ioredis; the test's own client with the same prefix stands in for it.
    prefixed = redis.duplicate({ keyPrefix: prefix });
    cache = new VersionedCache({ client: prefixed } as unknown as RedisService);
  });
  afterAll(async () => {
    await prefixed?.quit();
    await t?.cleanup();
  });

  const entry = (key: string, version: number, balance: number) => ({
    key,
    value: { version: String(version), balance: String(balance) },
  });
  const stored = async (key: string) =>
    JSON.parse((await redis.get(prefix + key))!) as Record<string, string>;

  it('keeps a newer balance when an older row is cached after it (the reader that lost the race)', async () => {
    await cache.setIfNewer([entry('balance:a', 7, 500)], 60);
    await cache.setIfNewer([entry('balance:a', 6, 900)], 60);
    expect(await stored('balance:a')).toEqual({ version: '7', balance: '500' });
    expect(await cache.get('balance:a')).toEqual({ version: '7', balance: '500' });
  });

  it('does not rewrite the same version, writes a newer one, and sets the TTL', async () => {
    await cache.setIfNewer([entry('balance:b', 3, 100)], 60);
    await cache.setIfNewer([entry('balance:b', 3, 999)], 60);
    expect(await stored('balance:b')).toEqual({ version: '3', balance: '100' });
    await cache.setIfNewer([entry('balance:b', 4, 250)], 45);
    expect(await stored('balance:b')).toEqual({ version: '4', balance: '250' });
    const ttl = await redis.ttl(prefix + 'balance:b');
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(45);
  });

  it('decides each key of one write on its own: the older one kept, the absent and the newer written', async () => {
    await cache.setIfNewer([entry('balance:c', 10, 1), entry('balance:d', 2, 2)], 60);
    await cache.setIfNewer(
      [entry('balance:c', 9, 111), entry('balance:d', 5, 222), entry('balance:e', 1, 333)],
      60,
    );
    expect(await stored('balance:c')).toEqual({ version: '10', balance: '1' });
    expect(await stored('balance:d')).toEqual({ version: '5', balance: '222' });
    expect(await stored('balance:e')).toEqual({ version: '1', balance: '333' });
  });
});
