import { randomUUID } from 'node:crypto';
import { openGraceBox, sealGraceBox } from './grace-box';
import { newSecret, secretDigest } from './opaque-token';

const secret = newSecret;

describe('grace box (the pair a rotation issued, for the holder of the token it replaced)', () => {
  const sid = randomUUID();
  const old = secret();
  const pair = JSON.stringify({ access_token: 'eyJ.a.b', refresh_token: `${sid}.${secret()}` });

  it('opens with the secret and session that sealed it', () => {
    expect(openGraceBox(old, sid, sealGraceBox(old, sid, pair))).toBe(pair);
  });

  it('holds no plaintext, and two seals of one pair differ (random IV)', () => {
    const a = sealGraceBox(old, sid, pair);
    const b = sealGraceBox(old, sid, pair);
    expect(a).not.toBe(b);
    for (const box of [a, b]) {
      const raw = Buffer.from(box, 'base64url').toString('latin1');
      expect(raw).not.toContain('refresh_token');
      expect(raw).not.toContain(sid);
    }
  });

  it('does not open with another secret, another session, or the stored digest of the secret', () => {
    const box = sealGraceBox(old, sid, pair);
    expect(openGraceBox(secret(), sid, box)).toBeUndefined();
    expect(openGraceBox(old, randomUUID(), box)).toBeUndefined();
    expect(openGraceBox(secretDigest(old), sid, box)).toBeUndefined();
  });

  it('refuses an altered, truncated or garbage box', () => {
    const raw = Buffer.from(sealGraceBox(old, sid, pair), 'base64url');
    raw[raw.length - 1] ^= 1;
    expect(openGraceBox(old, sid, raw.toString('base64url'))).toBeUndefined();
    expect(openGraceBox(old, sid, raw.subarray(0, 20).toString('base64url'))).toBeUndefined();
    expect(openGraceBox(old, sid, '')).toBeUndefined();
    expect(openGraceBox(old, sid, '%%%')).toBeUndefined();
  });
});
