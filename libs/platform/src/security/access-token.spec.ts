import { generateKeyPairSync } from 'node:crypto';
import { AppError } from '../errors/app-error';
import { signAccessToken, VerifiedTokens, verifyAccessToken, type AccessClaims } from './access-token';
import { TokenKeys } from './token-keys';

const pair = generateKeyPairSync('ed25519');
const keys = new TokenKeys(pair.publicKey, pair.privateKey);
const expected = { issuer: 'protobank', audience: 'protobank-api' };
const now = 1_800_000_000;
const claims: AccessClaims = {
  sub: 'u1',
  role: 'customer',
  sid: 's1',
  iat: now,
  exp: now + 900,
  iss: 'protobank',
  aud: 'protobank-api',
};
const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return `${(err as AppError).status} ${(err as AppError).code}`;
  }
  return 'accepted';
}

describe('access tokens', () => {
  it('round-trips the claims', () => {
    expect(verifyAccessToken(signAccessToken(claims, keys), keys, expected, now + 10)).toEqual(claims);
  });

  it('refuses expiry, issuer, audience and role problems', () => {
    expect(codeOf(() => verifyAccessToken(signAccessToken(claims, keys), keys, expected, now + 900))).toBe(
      '401 token_expired',
    );
    expect(
      codeOf(() => verifyAccessToken(signAccessToken({ ...claims, iss: 'x' }, keys), keys, expected, now)),
    ).toBe('401 invalid_token');
    expect(
      codeOf(() => verifyAccessToken(signAccessToken({ ...claims, aud: 'x' }, keys), keys, expected, now)),
    ).toBe('401 invalid_token');
    expect(
      codeOf(() =>
        verifyAccessToken(signAccessToken({ ...claims, role: 'root' as never }, keys), keys, expected, now),
      ),
    ).toBe('401 invalid_token');
  });

  it('refuses alg "none", another key id and a changed payload', () => {
    const [h, , s] = signAccessToken(claims, keys).split('.');
    const none = `${b64({ alg: 'none', typ: 'JWT', kid: keys.kid })}.${b64(claims)}.`;
    expect(codeOf(() => verifyAccessToken(none, keys, expected, now))).toBe('401 invalid_token');
    const otherKid = `${b64({ alg: 'EdDSA', typ: 'JWT', kid: 'other' })}.${b64(claims)}.${s}`;
    expect(codeOf(() => verifyAccessToken(otherKid, keys, expected, now))).toBe('401 invalid_token');
    const changed = `${h}.${b64({ ...claims, role: 'admin' })}.${s}`;
    expect(codeOf(() => verifyAccessToken(changed, keys, expected, now))).toBe('401 invalid_token');
    expect(codeOf(() => verifyAccessToken('a.b', keys, expected, now))).toBe('401 invalid_token');
    expect(codeOf(() => verifyAccessToken('%%%.%%%.%%%', keys, expected, now))).toBe('401 invalid_token');
    expect(codeOf(() => verifyAccessToken('bnVsbA.e30.AAAA', keys, expected, now))).toBe('401 invalid_token'); // header: null
  });

  it('cannot be signed without the private key', () => {
    expect(() => signAccessToken(claims, new TokenKeys(pair.publicKey, undefined))).toThrow(
      /only auth signs/,
    );
  });
});

describe('verified tokens', () => {
  it('remembers a verified token, still expires it, and never remembers a bad one', () => {
    const verified = new VerifiedTokens(2);
    const token = signAccessToken(claims, keys);
    expect(verified.verify(token, keys, expected, now)).toEqual(claims);
    expect(verified.verify(token, keys, expected, now + 10)).toEqual(claims);
    expect(codeOf(() => verified.verify(token, keys, expected, now + 900))).toBe('401 token_expired');
    const forged = `${token.slice(0, token.lastIndexOf('.'))}.${Buffer.alloc(64).toString('base64url')}`;
    expect(codeOf(() => verified.verify(forged, keys, expected, now))).toBe('401 invalid_token');
    expect(codeOf(() => verified.verify(forged, keys, expected, now))).toBe('401 invalid_token');
  });

  it('keeps at most its capacity, dropping the oldest', () => {
    const verified = new VerifiedTokens(2);
    const tokens = ['a', 'b', 'c'].map((sid) => signAccessToken({ ...claims, sid }, keys));
    for (const t of tokens) verified.verify(t, keys, expected, now);
    // The oldest was dropped, so a changed key now refuses it while the newer two are still known.
    const other = new TokenKeys(generateKeyPairSync('ed25519').publicKey, undefined);
    expect(codeOf(() => verified.verify(tokens[0], other, expected, now))).toBe('401 invalid_token');
    expect(verified.verify(tokens[2], other, expected, now).sid).toBe('c');
  });
});
