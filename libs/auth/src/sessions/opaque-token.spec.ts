import { randomUUID } from 'node:crypto';
import { newSecret, OPAQUE_TOKEN_PATTERN, parseOpaqueToken, secretDigest } from './opaque-token';
import { DEVICE_TOKEN_PATTERN } from './device-tokens';

describe('opaque tokens (refresh tokens and device tokens)', () => {
  it('are a UUID and a 43-character secret, and parse back into both', () => {
    const id = randomUUID();
    const secret = newSecret();
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(parseOpaqueToken(`${id}.${secret}`)).toEqual({ id, secret });
    expect(DEVICE_TOKEN_PATTERN).toBe(OPAQUE_TOKEN_PATTERN);
  });

  it.each([
    ['no secret', `${randomUUID()}.`],
    ['a short secret', `${randomUUID()}.${newSecret().slice(1)}`],
    ['a long secret', `${randomUUID()}.${newSecret()}x`],
    ['a secret outside base64url', `${randomUUID()}.${'+'.repeat(43)}`],
    ['no id', `.${newSecret()}`],
    ['text around it', ` ${randomUUID()}.${newSecret()}`],
  ])('refuse %s', (_what, token) => {
    expect(parseOpaqueToken(token)).toBeUndefined();
  });

  it('store the SHA-256 of the secret in hex, never the secret', () => {
    const secret = newSecret();
    expect(secretDigest(secret)).toMatch(/^[0-9a-f]{64}$/);
    expect(secretDigest(secret)).toBe(secretDigest(secret));
    expect(secretDigest(secret)).not.toBe(secretDigest(newSecret()));
  });
});
