import { codeMatches, codeMessage, newCode } from './phone-code';

describe('phone codes', () => {
  const user = '0190f0c2-0000-7000-8000-000000000001';
  const phone = '+447700900123';

  it('are six digits, kept only as a salted hash', () => {
    const { code, stored } = newCode(user, phone);
    expect(code).toMatch(/^\d{6}$/);
    expect(JSON.stringify(stored)).not.toContain(code);
    expect(stored.hash).toMatch(/^[0-9a-f]{64}$/);
    // Each code has its own salt: the same code twice is kept differently.
    expect(newCode(user, phone).stored.salt).not.toBe(stored.salt);
  });

  it('match only the same code, for the same user and number', () => {
    const { code, stored } = newCode(user, phone);
    const other = code === '000000' ? '000001' : '000000';
    expect(codeMatches(stored, user, phone, code)).toBe(true);
    expect(codeMatches(stored, user, phone, other)).toBe(false);
    expect(codeMatches(stored, user, '+447700900124', code)).toBe(false);
    expect(codeMatches(stored, '0190f0c2-0000-7000-8000-000000000002', phone, code)).toBe(false);
    expect(codeMatches({ ...stored, hash: 'abcd' }, user, phone, code)).toBe(false);
  });

  it('say how long the code lasts and that the bank never asks for it', () => {
    expect(codeMessage('012345')).toBe(
      'Your Protobank code is 012345. It confirms this number for your account and expires in 10 minutes. We will never ask you for it.',
    );
  });
});
