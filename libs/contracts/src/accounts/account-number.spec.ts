import { accountNumberFor, checkDigit, formatSortCode, isValidAccountNumber } from './account-number';

const SORT = '990001';

describe('account numbers', () => {
  it('issues numbers that pass their own check, skipping serials whose check digit would be 10', () => {
    let issued = 0;
    for (let serial = 1; serial <= 2000; serial++) {
      const n = accountNumberFor(SORT, serial);
      if (n === undefined) {
        expect(checkDigit(SORT, String(serial).padStart(7, '0'))).toBeUndefined();
        continue;
      }
      issued++;
      expect(n).toMatch(/^\d{8}$/);
      expect(isValidAccountNumber(SORT, n)).toBe(true);
    }
    expect(issued).toBeGreaterThan(1700); // about 10 in 11
  });

  it('catches every single mistyped digit and every swap of neighbouring digits', () => {
    for (let serial = 1; serial <= 300; serial++) {
      const n = accountNumberFor(SORT, serial);
      if (!n) continue;
      for (let i = 0; i < 8; i++) {
        for (let d = 0; d <= 9; d++) {
          if (String(d) === n[i]) continue;
          const typo = n.slice(0, i) + d + n.slice(i + 1);
          expect(isValidAccountNumber(SORT, typo)).toBe(false);
        }
        if (i < 7 && n[i] !== n[i + 1]) {
          const swapped = n.slice(0, i) + n[i + 1] + n[i] + n.slice(i + 2);
          expect(isValidAccountNumber(SORT, swapped)).toBe(false);
        }
      }
    }
  });

  it('ties the number to the sort code', () => {
    const n = accountNumberFor(SORT, 42)!;
    expect(isValidAccountNumber('990002', n)).toBe(false);
    expect(formatSortCode(SORT)).toBe('99-00-01');
  });

  it('refuses anything that is not 8 digits', () => {
    expect(isValidAccountNumber(SORT, '1234567')).toBe(false);
    expect(isValidAccountNumber(SORT, '1234567a')).toBe(false);
  });
});
