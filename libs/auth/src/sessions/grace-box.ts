import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * The token pair a rotation issued, sealed so that only the holder of the refresh token it replaced can
 * read it back during the reuse grace window (two tabs refreshing with one token get the same new pair).
 * The key is derived from that old token's secret with HKDF; Redis keeps only the secret's SHA-256 (a
 * different function of it), so nothing stored there opens the box. AES-256-GCM, bound to the session id.
 */
const INFO = Buffer.from('protobank refresh grace v1');

const keyOf = (oldSecret: string, sid: string) =>
  Buffer.from(hkdfSync('sha256', Buffer.from(oldSecret, 'base64url'), Buffer.from(sid), INFO, 32));

export function sealGraceBox(oldSecret: string, sid: string, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyOf(oldSecret, sid), iv);
  cipher.setAAD(Buffer.from(sid));
  const sealed = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url');
}

/** The sealed text, or undefined when this secret (or session) did not seal it or the box was altered. */
export function openGraceBox(oldSecret: string, sid: string, box: string): string | undefined {
  const raw = Buffer.from(box, 'base64url');
  if (raw.length < 28) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyOf(oldSecret, sid), raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(sid));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}
