import type { Logger } from 'pino';
import type { AppConfig } from '../config/app-config';
import { AppError } from '../errors/app-error';
import { DestinationMisses } from './destination-misses';
import type { Hit, RateLimiter } from './rate-limiter';

/** RateLimiter's counting, in memory: every window runs for its whole length within a test. */
class CountingLimiter {
  readonly counts = new Map<string, number>();

  async hit(bucket: string, key: string, limit: number, windowSeconds: number): Promise<Hit> {
    const count = (this.counts.get(`${bucket}:${key}`) ?? 0) + 1;
    this.counts.set(`${bucket}:${key}`, count);
    return { allowed: count <= limit, count, retryAfter: windowSeconds };
  }

  async release(bucket: string, key: string): Promise<void> {
    const count = this.counts.get(`${bucket}:${key}`) ?? 0;
    if (count > 0) this.counts.set(`${bucket}:${key}`, count - 1);
  }
}

const LIMIT = 3;
const WINDOW = 3600;
const notFound = () => AppError.notFound('account');
const missing = () => new AppError(404, 'not_found', 'No account has this number');

function setUp() {
  const limiter = new CountingLimiter();
  const config = { transferMissLimit: LIMIT, transferMissWindowSeconds: WINDOW } as AppConfig;
  const logger = { warn: () => undefined } as unknown as Logger;
  const misses = new DestinationMisses(limiter as unknown as RateLimiter, config, logger);
  return { limiter, misses };
}

/** A lookup that answers when `settle` is called: found, or a 404. */
function pending() {
  let settle!: (found: boolean) => void;
  const answer = new Promise<string>((resolve, reject) => {
    settle = (found) => (found ? resolve('account') : reject(notFound()));
  });
  return { find: () => answer, settle };
}

const refusal = async (p: Promise<unknown>) => {
  const err = (await p.then(
    () => undefined,
    (e: unknown) => e,
  )) as AppError;
  return { status: err.status, code: err.code, retryAfter: Number(err.headers['Retry-After']) };
};

describe('DestinationMisses', () => {
  it('blocks for the window once the misses reach the limit (rate_limited)', async () => {
    const { misses } = setUp();
    for (let i = 0; i < LIMIT; i++) {
      expect((await refusal(misses.lookUp('u', () => Promise.reject(notFound()), missing))).status).toBe(404);
    }
    expect(await refusal(misses.lookUp('u', async () => 'account', missing))).toEqual({
      status: 429,
      code: 'rate_limited',
      retryAfter: WINDOW,
    });
  });

  it('tells a lookup beyond the limit of those in flight to retry in a second (lookups_busy), and blocks nothing after', async () => {
    const { limiter, misses } = setUp();
    const running = Array.from({ length: LIMIT }, () => pending());
    const answers = running.map((r) => misses.lookUp('u', r.find, missing));
    await new Promise((resolve) => setImmediate(resolve));
    expect(await refusal(misses.lookUp('u', async () => 'account', missing))).toEqual({
      status: 429,
      code: 'lookups_busy',
      retryAfter: 1,
    });
    for (const r of running) r.settle(true);
    expect(await Promise.all(answers)).toEqual(Array(LIMIT).fill('account'));
    expect(await misses.lookUp('u', async () => 'account', missing)).toBe('account');
    expect([...limiter.counts.values()].every((n) => n === 0)).toBe(true);
  });

  it('still blocks when misses kept fill the limit while others run', async () => {
    const { misses } = setUp();
    for (let i = 0; i < LIMIT - 1; i++) {
      await refusal(misses.lookUp('u', () => Promise.reject(notFound()), missing));
    }
    const running = pending();
    const answer = refusal(misses.lookUp('u', running.find, missing));
    await new Promise((resolve) => setImmediate(resolve));
    // One more would pass the limit only because of the lookup in flight: busy, not blocked.
    expect((await refusal(misses.lookUp('u', async () => 'account', missing))).code).toBe('lookups_busy');
    running.settle(false);
    expect((await answer).status).toBe(404);
    // That one missed too: now the limit is reached by misses alone.
    expect((await refusal(misses.lookUp('u', async () => 'account', missing))).code).toBe('rate_limited');
  });
  it('counts a miss found after the lookup without touching the lookups in flight', async () => {
    const { limiter, misses } = setUp();
    const running = Array.from({ length: LIMIT }, () => pending());
    const answers = running.map((r) => misses.lookUp('u', r.find, missing));
    await new Promise((resolve) => setImmediate(resolve));
    await misses.record('u');
    expect(limiter.counts.get('transfer-lookups:u')).toBe(LIMIT);
    for (const r of running) r.settle(true);
    await Promise.all(answers);
    expect(limiter.counts.get('transfer-lookups:u')).toBe(0);
    expect(limiter.counts.get('transfer-misses:u')).toBe(1);
  });

  it('gives back what one counter took when Redis fails the other, and fails as Redis did', async () => {
    const { limiter, misses } = setUp();
    const down = new Error('redis down');
    const hit = limiter.hit.bind(limiter);
    limiter.hit = async (bucket, key, limit, windowSeconds) =>
      bucket === 'transfer-lookups' ? Promise.reject(down) : hit(bucket, key, limit, windowSeconds);
    await expect(misses.lookUp('u', async () => 'account', missing)).rejects.toBe(down);
    expect(limiter.counts.get('transfer-misses:u')).toBe(0);
  });

  it("counts an order's refusal once per key, and past the limit refuses it 429 (a retry of a refused key too)", async () => {
    const { limiter, misses } = setUp();
    await misses.refusedOnce('u', 'k1');
    await misses.refusedOnce('u', 'k1');
    expect(limiter.counts.get('transfer-misses:u')).toBe(1);
    for (let i = 2; i <= LIMIT; i++) await misses.refusedOnce('u', `k${i}`);
    expect(await refusal(misses.refusedOnce('u', 'late'))).toEqual({
      status: 429,
      code: 'rate_limited',
      retryAfter: WINDOW,
    });
    expect((await refusal(misses.refusedOnce('u', 'late'))).code).toBe('rate_limited');
    // Counted before the block: answered as before, counting nothing more.
    await misses.refusedOnce('u', 'k1');
    expect(limiter.counts.get('transfer-misses:u')).toBe(LIMIT);
  });
});
