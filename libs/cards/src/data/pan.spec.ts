import { isLuhnValid, todayIn } from '@protobank/platform';
import { brandOf, expiryFrom, generatePan, hasExpired, isPanOf } from './pan';

describe('card numbers', () => {
  it('makes 16-digit Luhn-valid numbers under the BIN, different each time', () => {
    const seen = new Set<string>();
    for (const bin of ['535522', '4000123', '22334455']) {
      for (let i = 0; i < 200; i++) {
        const pan = generatePan(bin);
        expect(pan).toMatch(/^\d{16}$/);
        expect(pan.startsWith(bin)).toBe(true);
        expect(isLuhnValid(pan)).toBe(true);
        expect(isPanOf(bin, pan)).toBe(true);
        seen.add(pan);
      }
    }
    expect(seen.size).toBe(600);
  });

  it('takes its account digits from the random source it is given', () => {
    expect(generatePan('535522', () => 0)).toBe('5355220000000004');
    expect(isLuhnValid('5355220000000004')).toBe(true);
  });

  it('refuses a malformed BIN, and tells numbers of another BIN or with a bad check digit', () => {
    expect(() => generatePan('12345')).toThrow();
    expect(isPanOf('535522', '5355220000000003')).toBe(false);
    expect(isPanOf('535522', '5355220000000004')).toBe(true);
    expect(isPanOf('535523', '5355220000000004')).toBe(false);
    expect(isPanOf('535522', '535522000000002')).toBe(false);
  });

  it('reads the brand from the first digit', () => {
    expect(brandOf('411111')).toBe('visa');
    expect(brandOf('535522')).toBe('mastercard');
    expect(brandOf('222100')).toBe('mastercard');
    expect(() => brandOf('601100')).toThrow();
  });

  it('expires three years on, valid through the expiry month', () => {
    expect(expiryFrom('2026-01-31')).toEqual({ month: 1, year: 2029 });
    expect(hasExpired(1, 2029, '2029-01-31')).toBe(false);
    expect(hasExpired(1, 2029, '2029-02-01')).toBe(true);
    expect(hasExpired(12, 2028, '2029-01-01')).toBe(true);
    // On the bank's calendar: 00:30 London on 1 August in summer is still 31 July in UTC.
    const earlyAugust = new Date('2026-07-31T23:30:00Z');
    expect(expiryFrom(todayIn('Europe/London', earlyAugust))).toEqual({ month: 8, year: 2029 });
    expect(hasExpired(7, 2026, todayIn('Europe/London', earlyAugust))).toBe(true);
    expect(hasExpired(7, 2026, todayIn('UTC', earlyAugust))).toBe(false);
  });
});
