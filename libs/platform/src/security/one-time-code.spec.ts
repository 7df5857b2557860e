import { codeMatches, codeRefused, newCode } from './one-time-code';

describe('one-time codes', () => {
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

  it('match only the same code, for the same user and target (a phone number, an e-mail address)', () => {
    const { code, stored } = newCode(user, phone);
    const other = code === '000000' ? '000001' : '000000';
    expect(codeMatches(stored, user, phone, code)).toBe(true);
    expect(codeMatches(stored, user, phone, other)).toBe(false);
    expect(codeMatches(stored, user, '+447700900124', code)).toBe(false);
    expect(codeMatches(stored, '0190f0c2-0000-7000-8000-000000000002', phone, code)).toBe(false);
    expect(codeMatches({ ...stored, hash: 'abcd' }, user, phone, code)).toBe(false);
  });

  it('are refused with 422 naming code: none waiting, or wrong with the tries left', () => {
    expect(codeRefused({ kind: 'none' }).toBody()).toMatchObject({
      status: 422,
      code: 'code_expired',
      details: [{ field: 'code' }],
    });
    expect(codeRefused({ kind: 'wrong', triesLeft: 1 }).toBody()).toMatchObject({
      status: 422,
      code: 'code_invalid',
      details: [{ field: 'code', message: 'wrong code: 1 try left' }],
    });
    expect(codeRefused({ kind: 'wrong', triesLeft: 0 }).details[0].message).toBe(
      'wrong code: ask for a new one',
    );
  });
});
