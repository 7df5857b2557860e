import { signatureOf, signatureProblem, signHeader, SIGNATURE_TOLERANCE_SECONDS } from './signature';

const SECRET = 'whsec-current';
const OLD = 'whsec-previous';
const BODY = '{"network_transaction_id":"n1","amount":2550}';
const NOW = 1_790_000_000;

describe('card network signatures', () => {
  it('accepts the HMAC-SHA256 of "<t>.<raw body>" in hex', () => {
    const header = `t=${NOW},v1=${signatureOf(SECRET, NOW, BODY)}`;
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(signatureProblem(header, BODY, [SECRET], NOW)).toBeNull();
    expect(signHeader(SECRET, BODY, NOW)).toBe(header);
  });

  it('accepts a signature by either secret during a rotation, and several v1 values in one header', () => {
    expect(signatureProblem(signHeader(OLD, BODY, NOW), BODY, [SECRET, OLD], NOW)).toBeNull();
    const both = `t=${NOW},v1=${signatureOf(OLD, NOW, BODY)},v1=${signatureOf(SECRET, NOW, BODY)}`;
    expect(signatureProblem(both, BODY, [SECRET], NOW)).toBeNull();
    expect(signatureProblem(signHeader(OLD, BODY, NOW), BODY, [SECRET], NOW)).toBe('mismatch');
  });

  it('refuses a body changed by one byte, even one the JSON would read the same', () => {
    const header = signHeader(SECRET, BODY, NOW);
    expect(signatureProblem(header, BODY.replace('2550', '2551'), [SECRET], NOW)).toBe('mismatch');
    expect(signatureProblem(header, `${BODY} `, [SECRET], NOW)).toBe('mismatch');
  });

  it('refuses a timestamp more than five minutes old or ahead, and a signature over another timestamp', () => {
    const old = NOW - SIGNATURE_TOLERANCE_SECONDS - 1;
    expect(signatureProblem(signHeader(SECRET, BODY, old), BODY, [SECRET], NOW)).toBe('stale');
    expect(signatureProblem(signHeader(SECRET, BODY, NOW + 301), BODY, [SECRET], NOW)).toBe('stale');
    expect(signatureProblem(signHeader(SECRET, BODY, NOW - 300), BODY, [SECRET], NOW)).toBeNull();
    const moved = `t=${NOW - 10},v1=${signatureOf(SECRET, NOW, BODY)}`;
    expect(signatureProblem(moved, BODY, [SECRET], NOW)).toBe('mismatch');
  });

  it.each([
    [undefined, 'missing'],
    ['', 'missing'],
    ['garbage', 'malformed'],
    [`v1=${'a'.repeat(64)}`, 'malformed'],
    [`t=${NOW}`, 'malformed'],
    [`t=${NOW},v1=xyz`, 'malformed'],
    [`t=${NOW},t=${NOW},v1=${'a'.repeat(64)}`, 'malformed'],
    [`t=-1,v1=${'a'.repeat(64)}`, 'malformed'],
    [
      `t=${NOW},${Array(9)
        .fill(`v1=${'a'.repeat(64)}`)
        .join(',')}`,
      'malformed',
    ],
  ])('refuses header %p as %s', (header, problem) => {
    expect(signatureProblem(header, BODY, [SECRET], NOW)).toBe(problem);
  });

  it('ignores schemes it does not know beside a good v1', () => {
    const header = `t=${NOW},v0=whatever,v1=${signatureOf(SECRET, NOW, BODY)}`;
    expect(signatureProblem(header, BODY, [SECRET], NOW)).toBeNull();
  });
});
