import { randomInt } from 'node:crypto';
import { isLuhnValid, luhnCheckDigit } from '@protobank/platform';

/** Every number we issue has 16 digits: the BIN, random account digits, the Luhn check digit. */
export const PAN_LENGTH = 16;

export type CardBrand = 'visa' | 'mastercard';

/** The brand a BIN belongs to, from its first digit (CARD_BIN is validated to start with 2, 4 or 5). */
export function brandOf(bin: string): CardBrand {
  if (bin.startsWith('4')) return 'visa';
  if (bin.startsWith('5') || bin.startsWith('2')) return 'mastercard';
  throw new Error('CARD_BIN must start with 4 (Visa), or 2 or 5 (Mastercard)');
}

/**
 * A fresh Luhn-valid card number under `bin`. The account digits come from the CSPRNG, so numbers cannot
 * be predicted from one another; uniqueness is the database's (pan_hash UNIQUE, the caller retries).
 */
export function generatePan(bin: string, random: (max: number) => number = randomInt): string {
  if (!/^\d{6,8}$/.test(bin)) throw new Error('a BIN has 6 to 8 digits');
  let body = bin;
  while (body.length < PAN_LENGTH - 1) body += String(random(10));
  return `${body}${luhnCheckDigit(body)}`;
}

/** A number of ours: 16 digits, Luhn-valid, under `bin`. */
export function isPanOf(bin: string, pan: string): boolean {
  return pan.length === PAN_LENGTH && pan.startsWith(bin) && isLuhnValid(pan);
}

/**
 * The card's expiry: the month of `today` (a bank date, YYYY-MM-DD, in BANK_TIME_ZONE), `years` years on
 * (a card is valid through its expiry month).
 */
export function expiryFrom(today: string, years = 3): { month: number; year: number } {
  const [y, m] = today.split('-').map(Number);
  return { month: m, year: y + years };
}

/** Whether a card expiring at the end of month/year has expired on `today` (a bank date, YYYY-MM-DD). */
export function hasExpired(month: number, year: number, today: string): boolean {
  const [y, m] = today.split('-').map(Number);
  return y > year || (y === year && m > month);
}
