import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The card network's signature header: `t=<unix seconds>,v2=<hex HMAC-SHA256>[,v2=…]`. The MAC covers the
 * timestamp, the method and path, and the raw body: `<t>.<METHOD> <path>.<raw body>`. The route is in it
 * because the routes' bodies overlap: a clearing's body is a valid refund's, so a MAC of the body alone
 * (scheme v1, no longer accepted) let a captured clearing be replayed to /refunds within the tolerance,
 * crediting what had just been debited (the two routes' ids are idempotent per route, not across them).
 */
export const SIGNATURE_HEADER = 'x-card-network-signature';
/** How old (or how far ahead) a signature's timestamp may be: replays after it are refused. */
export const SIGNATURE_TOLERANCE_SECONDS = 5 * 60;

export type SignatureProblem = 'missing' | 'malformed' | 'stale' | 'mismatch';

/** What is signed: the request's method, its path (no query) and its exact body. */
export interface SignedRequest {
  method: string;
  path: string;
  rawBody: string;
}

/** The HMAC-SHA256 of `<t>.<METHOD> <path>.<raw body>` with `secret`, in hex: what `v2=` carries. */
export function signatureOf(secret: string, t: number, req: SignedRequest): string {
  return createHmac('sha256', secret)
    .update(`${t}.${req.method.toUpperCase()} ${req.path}.${req.rawBody}`, 'utf8')
    .digest('hex');
}

/** A header value for `req` signed now with `secret` (for clients of the network API and its tests). */
export function signHeader(secret: string, req: SignedRequest, t = Math.floor(Date.now() / 1000)): string {
  return `t=${t},v2=${signatureOf(secret, t, req)}`;
}

/**
 * Checks a signature header against the request received (its exact bytes): null when one `v2=` matches
 * the HMAC of `<t>.<METHOD> <path>.<raw body>` under one of `secrets` (several during a rotation) and `t`
 * is within the tolerance of `nowSeconds`; otherwise why not. Every candidate is compared in constant
 * time, so how far a forged signature matched does not show in the time taken.
 */
export function signatureProblem(
  header: string | undefined,
  req: SignedRequest,
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
    } else if (name === 'v2') {
      if (!/^[0-9a-f]{64}$/i.test(value)) return 'malformed';
      candidates.push(Buffer.from(value, 'hex'));
    }
    // Other schemes (v1, a future v3) are ignored, as a receiver that does not know them should.
  }
  if (t === undefined || candidates.length === 0 || candidates.length > 8) return 'malformed';
  if (Math.abs(nowSeconds - t) > SIGNATURE_TOLERANCE_SECONDS) return 'stale';
  let matched = false;
  for (const secret of secrets) {
    const expected = Buffer.from(signatureOf(secret, t, req), 'hex');
    for (const candidate of candidates) matched = timingSafeEqual(expected, candidate) || matched;
  }
  return matched ? null : 'mismatch';
}
