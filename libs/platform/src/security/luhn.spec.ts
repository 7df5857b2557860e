import { isLuhnValid, luhnCheckDigit } from './luhn';

describe('Luhn', () => {
  it('gives the check digit of published test numbers', () => {
    expect(luhnCheckDigit('7992739871')).toBe(3); // the textbook example: 79927398713
    expect(luhnCheckDigit('411111111111111')).toBe(1); // Visa's test card 4111 1111 1111 1111
    expect(luhnCheckDigit('555555555555444')).toBe(4); // Mastercard's 5555 5555 5555 4444
  });

  it('accepts valid numbers and refuses any single changed digit or a swap of neighbours', () => {
    const valid = '4111111111111111';
    expect(isLuhnValid(valid)).toBe(true);
    for (let i = 0; i < valid.length; i++) {
      const d = Number(valid[i]);
      const changed = `${valid.slice(0, i)}${(d + 1) % 10}${valid.slice(i + 1)}`;
      expect(isLuhnValid(changed)).toBe(false);
    }
    expect(isLuhnValid('79927398713')).toBe(true);
    expect(isLuhnValid('79927398731')).toBe(false);
  });

  it('refuses what is not a string of digits', () => {
    expect(isLuhnValid('')).toBe(false);
    expect(isLuhnValid('4111 1111 1111 1111')).toBe(false);
    expect(() => luhnCheckDigit('41x1')).toThrow();
  });
});
