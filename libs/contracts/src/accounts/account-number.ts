/**
 * Account numbers: 8 digits, the last a check digit over the sort code and the first 7 (modulus 11,
 * weights 2 7 6 5 4 3 | 2 7 6 5 4 3 2 | 1). Every weight is below 11 and neighbours differ, so any one
 * mistyped digit and any swap of two neighbouring digits fails the check.
 */
const WEIGHTS = [2, 7, 6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1];

function weightedSum(digits: string): number {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) sum += Number(digits[i]) * WEIGHTS[i];
  return sum;
}

/** The check digit for a 7-digit serial, or undefined when the serial cannot carry one (remainder 10). */
export function checkDigit(sortCode: string, serial: string): number | undefined {
  const digit = (11 - (weightedSum(sortCode + serial) % 11)) % 11;
  return digit === 10 ? undefined : digit;
}

/** The account number for a serial (1..9999999), or undefined when the serial is skipped. */
export function accountNumberFor(sortCode: string, serial: number): string | undefined {
  const body = String(serial).padStart(7, '0');
  const digit = checkDigit(sortCode, body);
  return digit === undefined ? undefined : `${body}${digit}`;
}

export function isValidAccountNumber(sortCode: string, accountNumber: string): boolean {
  return (
    /^\d{6}$/.test(sortCode) &&
    /^\d{8}$/.test(accountNumber) &&
    weightedSum(sortCode + accountNumber) % 11 === 0
  );
}

/** 990001 -> 99-00-01 */
export const formatSortCode = (s: string) => `${s.slice(0, 2)}-${s.slice(2, 4)}-${s.slice(4, 6)}`;
