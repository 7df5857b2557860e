import { RateLimiter, type Hit } from './rate-limiter';

/** The real hitAll over stand-ins of hit and release, each recording its calls. */
function limiter(answers: boolean[]) {
  const calls: string[] = [];
  const left = [...answers];
  const rl = Object.assign(Object.create(RateLimiter.prototype) as RateLimiter, {
    hit: async (bucket: string, key: string): Promise<Hit> => {
      calls.push(`hit ${bucket} ${key}`);
      return { allowed: left.shift() ?? true, count: 1, retryAfter: 30 };
    },
    release: async (bucket: string, key: string) => {
      calls.push(`release ${bucket} ${key}`);
    },
  });
  return { rl, calls };
}

const LIMITS = [
  { bucket: 'minute', key: 'k', limit: 1, windowSeconds: 60 },
  { bucket: 'day', key: 'k', limit: 10, windowSeconds: 86400 },
  { bucket: 'other', key: 'j', limit: 5, windowSeconds: 86400 },
];

describe('RateLimiter.hitAll', () => {
  it('hits every limit and hands back what it took', async () => {
    const { rl, calls } = limiter([]);
    const hit = await rl.hitAll(LIMITS);
    expect(hit.allowed).toBe(true);
    expect(hit.taken).toEqual(LIMITS);
    expect(calls).toEqual(['hit minute k', 'hit day k', 'hit other j']);
    await rl.releaseAll(hit.taken);
    expect(calls.slice(3)).toEqual(['release minute k', 'release day k', 'release other j']);
  });

  it('stops at the first refusal, answers with its Retry-After, and gives back the hits before it', async () => {
    const { rl, calls } = limiter([true, false]);
    const hit = await rl.hitAll(LIMITS);
    expect(hit).toMatchObject({ allowed: false, retryAfter: 30, taken: [] });
    expect(calls).toEqual(['hit minute k', 'hit day k', 'release minute k']);
  });
});
