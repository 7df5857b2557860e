import { createHmac } from 'node:crypto';
import { signatureOf, signatureProblem, signHeader, SIGNATURE_TOLERANCE_SECONDS } from './signature';

const SECRET = 'whsec-current';
const OLD = 'whsec-previous';
const BODY = '{"network_transaction_id":"n1","amount":2550}';
const NOW = 1_790_000_000;
const REQ = { method: 'POST', path: '/card-network/clearings', rawBody: BODY };
/** The same request with another body. */
const withBody = (rawBody: string) => ({ ...REQ, rawBody });

describe('card network signatures', () => {
  it('accepts the HMAC-SHA256 of "<t>.<METHOD> <path>.<raw body>" in hex, as v2', () => {
    // Computed here as a network would, not by the code under test.
    const mac = createHmac('sha256', SECRET)
      .update(`${NOW}.POST /card-network/clearings.${BODY}`)
      .digest('hex');
    const header = `t=${NOW},v2=${mac}`;
    expect(signatureOf(SECRET, NOW, REQ)).toBe(mac);
    expect(signatureProblem(header, REQ, [SECRET], NOW)).toBeNull();
    expect(signHeader(SECRET, REQ, NOW)).toBe(header);
  });

  it('refuses the same bytes sent to another route (a clearing replayed as a refund) or by another method', () => {
    const header = signHeader(SECRET, REQ, NOW);
    expect(signatureProblem(header, { ...REQ, path: '/card-network/refunds' }, [SECRET], NOW)).toBe(
      'mismatch',
    );
    expect(signatureProblem(header, { ...REQ, method: 'PUT' }, [SECRET], NOW)).toBe('mismatch');
  });

  it('no longer accepts v1, the MAC of the body alone', () => {
    const v1 = createHmac('sha256', SECRET).update(`${NOW}.${BODY}`).digest('hex');
    expect(signatureProblem(`t=${NOW},v1=${v1}`, REQ, [SECRET], NOW)).toBe('malformed');
  });

  it('accepts a signature by either secret during a rotation, and several v2 values in one header', () => {
    expect(signatureProblem(signHeader(OLD, REQ, NOW), REQ, [SECRET, OLD], NOW)).toBeNull();
    const both = `t=${NOW},v2=${signatureOf(OLD, NOW, REQ)},v2=${signatureOf(SECRET, NOW, REQ)}`;
    expect(signatureProblem(both, REQ, [SECRET], NOW)).toBeNull();
    expect(signatureProblem(signHeader(OLD, REQ, NOW), REQ, [SECRET], NOW)).toBe('mismatch');
  });

  it('refuses a body changed by one byte, even one the JSON would read the same', () => {
    const header = signHeader(SECRET, REQ, NOW);
    expect(signatureProblem(header, withBody(BODY.replace('2550', '2551')), [SECRET], NOW)).toBe('mismatch');
    expect(signatureProblem(header, withBody(`${BODY} `), [SECRET], NOW)).toBe('mismatch');
  });

  it('refuses a timestamp more than five minutes old or ahead, and a signature over another timestamp', () => {
    const old = NOW - SIGNATURE_TOLERANCE_SECONDS - 1;
    expect(signatureProblem(signHeader(SECRET, REQ, old), REQ, [SECRET], NOW)).toBe('stale');
    expect(signatureProblem(signHeader(SECRET, REQ, NOW + 301), REQ, [SECRET], NOW)).toBe('stale');
    expect(signatureProblem(signHeader(SECRET, REQ, NOW - 300), REQ, [SECRET], NOW)).toBeNull();
    const moved = `t=${NOW - 10},v2=${signatureOf(SECRET, NOW, REQ)}`;
    expect(signatureProblem(moved, REQ, [SECRET], NOW)).toBe('mismatch');
  });

  it.each([
    [undefined, 'missing'],
    ['', 'missing'],
    ['garbage', 'malformed'],
    [`v2=${'a'.repeat(64)}`, 'malformed'],
    [`t=${NOW}`, 'malformed'],
    [`t=${NOW},v2=xyz`, 'malformed'],
    [`t=${NOW},t=${NOW},v2=${'a'.repeat(64)}`, 'malformed'],
    [`t=-1,v2=${'a'.repeat(64)}`, 'malformed'],
    [
      `t=${NOW},${Array(9)
        .fill(`v2=${'a'.repeat(64)}`)
        .join(',')}`,
      'malformed',
    ],
  ])('refuses header %p as %s', (header, problem) => {
    expect(signatureProblem(header, REQ, [SECRET], NOW)).toBe(problem);
  });

  it('ignores schemes it does not know beside a good v2', () => {
    const header = `t=${NOW},v0=whatever,v3=whatever,v2=${signatureOf(SECRET, NOW, REQ)}`;
    expect(signatureProblem(header, REQ, [SECRET], NOW)).toBeNull();
  });
});
