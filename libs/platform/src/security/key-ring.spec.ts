import type { VerificationKeys } from '@protobank/contracts';
import { generateKeyPairSync } from 'node:crypto';
import type { Logger } from 'pino';
import { publicJwk } from './key-files';
import { KeyRing } from './key-ring';

const logger = { info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as Logger;
const p256 = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
const entry = (key = p256(), verifyUntil: number | null = null) => ({
  key,
  jwk: publicJwk(key),
  verifyUntil,
});
const set = (...keys: { key: ReturnType<typeof p256>; until?: number | null }[]): VerificationKeys => ({
  keys: keys.map(({ key, until }) => ({ ...publicJwk(key), verify_until: until ?? null })),
});

describe('KeyRing', () => {
  it('knows its boot keys, and a key past its window no longer', () => {
    const [a, b] = [entry(), entry(p256(), 2_000)];
    const ring = new KeyRing([a, b], 30, logger);
    expect(ring.known(a.jwk.kid, 1_000)).toBe(a.key);
    expect(ring.known(b.jwk.kid, 1_999)).toBe(b.key);
    expect(ring.known(b.jwk.kid, 2_000)).toBeUndefined();
  });

  it('asks its source about an unknown kid, and a kid it finds in no answer costs a second ask at most', async () => {
    const [a, b] = [p256(), p256()];
    const ring = new KeyRing([entry(a)], 30, logger);
    let asked = 0;
    ring.useSource(() => {
      asked++;
      return Promise.resolve(set({ key: a }, { key: b }));
    });
    const kidB = publicJwk(b).kid;
    const forged = () => publicJwk(p256()).kid; // shaped like ours, known to nobody
    const results = await Promise.all([ring.keyFor(kidB), ring.keyFor(kidB), ring.keyFor(forged())]);
    expect(results.slice(0, 2).every((k) => k?.equals(b))).toBe(true);
    expect(results[2]).toBeUndefined();
    // The forged kid waited for a second refresh (its first answer may have predated it), no more.
    expect(asked).toBeLessThanOrEqual(2);
  });

  it('asks its source at most four times a second however many unknown kids arrive', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    try {
      const ring = new KeyRing([entry()], 30, logger);
      const askedAt: number[] = [];
      ring.useSource(() => {
        askedAt.push(Date.now());
        return Promise.resolve(set({ key: p256() }));
      });
      // A forged kid every 10 ms for one second: 100 of them.
      const answers: Promise<unknown>[] = [];
      for (let i = 0; i < 100; i++) {
        answers.push(ring.keyFor(publicJwk(p256()).kid));
        await jest.advanceTimersByTimeAsync(10);
      }
      await jest.advanceTimersByTimeAsync(1_000);
      expect((await Promise.all(answers)).every((k) => k === undefined)).toBe(true);
      // One ask at once, then one per 250 ms while they keep coming: about 5 in that second, not 100.
      expect(askedAt.length).toBeGreaterThanOrEqual(4);
      expect(askedAt.length).toBeLessThanOrEqual(6);
      for (let i = 1; i < askedAt.length; i++)
        expect(askedAt[i] - askedAt[i - 1]).toBeGreaterThanOrEqual(250);
    } finally {
      jest.useRealTimers();
    }
  });

  it('refuses a kid that is not a thumbprint without asking its source', async () => {
    const ring = new KeyRing([entry()], 30, logger);
    let asked = 0;
    ring.useSource(() => {
      asked++;
      return Promise.resolve(set({ key: p256() }));
    });
    for (const kid of ['forged', '../../etc/passwd', 'x'.repeat(44), `${'a'.repeat(42)}=`, ''])
      expect(await ring.keyFor(kid)).toBeUndefined();
    expect(asked).toBe(0);
  });

  it("replaces its set with auth's (a key left out has retired), refuses a kid that is not the thumbprint, keeps its keys when auth fails", async () => {
    const [a, b] = [p256(), p256()];
    const ring = new KeyRing([entry(a)], 30, logger);
    ring.apply(set({ key: b }));
    expect(ring.kids()).toEqual([publicJwk(b).kid]);
    const lying = set({ key: a });
    lying.keys[0].kid = publicJwk(b).kid;
    expect(() => ring.apply(lying)).toThrow('the key set holds no usable key');
    expect(ring.kids()).toEqual([publicJwk(b).kid]);
    ring.useSource(() => Promise.reject(new Error('auth unreachable')));
    await ring.refresh();
    expect(ring.kids()).toEqual([publicJwk(b).kid]);
  });
});
