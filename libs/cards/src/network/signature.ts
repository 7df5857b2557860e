import { createHmac, timingSafeEqual } from 'node:crypto';

/** The card network's signature header: `t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=…]`. */
export const SIGNATURE_HEADER = 'x-card-network-signature';
/** How old (or how far ahead) a signature's timestamp may be: replays after it are refused. */
export const SIGNATURE_TOLERANCE_SECONDS = 5 * 60;

export type SignatureProblem = 'missing' | 'malformed' | 'stale' | 'mismatch';

/** The HMAC-SHA256 of `<t>.<raw body>` with `secret`, in hex: what `v1=` carries. */
export function signatureOf(secret: string, t: number, rawBody: string): string {
  return createHmac('sha256', secret).update(`${t}.${rawBody}`, 'utf8').digest('hex');
}

/** A header value for `rawBody` signed now with `secret` (for clients of the network API and its tests). */
export function signHeader(secret: string, rawBody: string, t = Math.floor(Date.now() / 1000)): string {
  return `t=${t},v1=${signatureOf(secret, t, rawBody)}`;
}

/**
 * Checks a signature header against the exact bytes received: null when one `v1=` matches the HMAC of
 * `<t>.<raw body>` under one of `secrets` (several during a rotation) and `t` is within the tolerance
 * of `nowSeconds`; otherwise why not. Every candidate is compared in constant time, so how far a forged
 * signature matched does not show in the time taken.
 */
export function signatureProblem(
  header: string | undefined,
  rawBody: string,
  secrets: readonly string[],
  nowSeconds: number,
): SignatureProblem | null {
  if (!header) return 'missing';
  let t: number | undefined;
  const candidates: Buffer[] = [];
  for (const part of header.split(',')) {
    const at = part.indexOf('=');
    if (at < 0) return 'malformed';
    const name = part.slice(0, at).trim();
    const value = part.slice(at + 1).trim();
    if (name === 't') {
      if (t !== undefined || !/^\d{1,12}$/.test(value)) return 'malformed';
      t = Number(value);
    } else if (name === 'v1') {
      if (!/^[0-9a-f]{64}$/i.test(value)) return 'malformed';
      candidates.push(Buffer.from(value, 'hex'));
    }
    // Other schemes (v0, a future v2) are ignored, as a receiver that does not know them should.
  }
  if (t === undefined || candidates.length === 0 || candidates.length > 8) return 'malformed';
  if (Math.abs(nowSeconds - t) > SIGNATURE_TOLERANCE_SECONDS) return 'stale';
  let matched = false;
  for (const secret of secrets) {
    const expected = Buffer.from(signatureOf(secret, t, rawBody), 'hex');
    for (const candidate of candidates) matched = timingSafeEqual(expected, candidate) || matched;
  }
  return matched ? null : 'mismatch';
}
