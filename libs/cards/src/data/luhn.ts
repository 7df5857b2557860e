/**
 * The Luhn (mod 10) check digit of card numbers (ISO/IEC 7812-1). Card networks refuse a number whose
 * last digit does not satisfy it, so every number we issue does.
 */

/** The digit that, appended to `digits`, makes a Luhn-valid number. */
export function luhnCheckDigit(digits: string): number {
  if (!/^\d+$/.test(digits)) throw new Error('luhnCheckDigit takes digits only');
  let sum = 0;
  // From the right, the payload's last digit is doubled (it sits next to the check digit).
  for (let i = digits.length - 1, double = true; i >= 0; i--, double = !double) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

/** Whether `number` (digits only) ends in its Luhn check digit. */
export function isLuhnValid(number: string): boolean {
  if (!/^\d{2,}$/.test(number)) return false;
  return luhnCheckDigit(number.slice(0, -1)) === Number(number.at(-1));
}
