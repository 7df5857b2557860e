import { generateKeyPairSync } from 'node:crypto';
import { signingKey } from './key-files';
import { keySchedule, RETIREMENT_MARGIN_SECONDS } from './key-schedule';

const key = (createdAt: number) =>
  signingKey(
    generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString(),
    createdAt,
    'test key',
  );
const policy = { accessTokenTtlSeconds: 900, refreshSeconds: 30 };
const T = 1_800_000_000_000;

describe('keySchedule', () => {
  it('signs with the newest key and keeps the older one verifying until its last token has expired', () => {
    const [old, fresh] = [key(T - 3_600_000), key(T)];
    const retiredFor = 30 + 900 + RETIREMENT_MARGIN_SECONDS;
    const now = keySchedule([old, fresh], T + 1000, policy);
    expect(now.signing).toBe(fresh);
    expect(now.verifying).toEqual([
      { key: old, verifyUntil: T / 1000 + retiredFor },
      { key: fresh, verifyUntil: null },
    ]);
    // One second before the end the old key still verifies; at the end it is gone.
    expect(keySchedule([old, fresh], T + (retiredFor - 1) * 1000, policy).verifying).toHaveLength(2);
    expect(keySchedule([old, fresh], T + retiredFor * 1000, policy).verifying).toEqual([
      { key: fresh, verifyUntil: null },
    ]);
  });

  it('publishes a key dated in the future at once and signs with it from its date', () => {
    const [current, staged] = [key(T - 1000), key(T + 60_000)];
    const before = keySchedule([current, staged], T, policy);
    expect(before.signing).toBe(current);
    expect(before.verifying.map((v) => v.key)).toEqual([current, staged]);
    expect(keySchedule([current, staged], T + 60_000, policy).signing).toBe(staged);
  });
});
