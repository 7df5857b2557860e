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

/**
 * Whether `text` holds what may be a card number, passing the Luhn check: 13 to 19 digits between
 * non-digits, or four-digit groups joined by one separator between characters that are not letters or
 * digits (so no UUID, whose digit runs stop at 12, matches either form). For text a client chose that we
 * would log or echo (a request id): a card number must not reach a log line, whoever sent it. The edges
 * apply the same rule (docker/nginx/edge.mjs).
 */
export function mayHoldCardNumber(text: string): boolean {
  for (const [, digits] of text.matchAll(/(?<!\d)(\d{13,19})(?!\d)/g)) if (isLuhnValid(digits)) return true;
  for (const [, grouped] of text.matchAll(
    /(?<![0-9A-Za-z])(\d{4}([-_.:])\d{4}\2\d{4}\2\d{1,7})(?![0-9A-Za-z])/g,
  ))
    if (isLuhnValid(grouped.replace(/\D/g, ''))) return true;
  return false;
}
