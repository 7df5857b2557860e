import { accountNumberFor } from '@protobank/contracts';
import { randomInt } from 'node:crypto';

/** Serials are the 7 digits before the check digit: 0000001..9999999. */
const MAX_SERIAL = 9_999_999;

/**
 * A fresh account number: a serial drawn uniformly by the CSPRNG, with its modulus-11 check digit (a
 * serial whose check digit would be 10 is drawn again: about 1 in 11). Numbers carry no order, so one
 * number tells nothing of the next, and walking a range finds an account about as often as the bank is
 * full (the transfer path also limits how many wrong numbers one customer may try).
 */
export function randomAccountNumber(
  sortCode: string,
  draw: (min: number, max: number) => number = randomInt,
): string {
  for (;;) {
    const number = accountNumberFor(sortCode, draw(1, MAX_SERIAL + 1));
    if (number) return number;
  }
}

/** Tries before giving up on finding a free number; each collides with probability (accounts / 9.1M). */
export const NUMBER_ATTEMPTS = 8;

/** Postgres unique_violation on the (sort_code, account_number) constraint. */
export const isNumberTaken = (err: unknown): boolean => {
  const e = err as {
    code?: unknown;
    constraint?: unknown;
    driverError?: { code?: unknown; constraint?: unknown };
  };
  const code = e.driverError?.code ?? e.code;
  const constraint = e.driverError?.constraint ?? e.constraint;
  return code === '23505' && constraint === 'accounts_number_unique';
};

/**
 * Inserts with a fresh random number, drawing again while the unique index on (sort_code,
 * account_number) refuses it: the index, not a read beforehand, decides, so two openings that draw the
 * same number at once cannot both get it.
 */
export async function withFreshNumber<T>(
  next: () => string,
  insert: (number: string) => Promise<T>,
  attempts = NUMBER_ATTEMPTS,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await insert(next());
    } catch (err) {
      if (!isNumberTaken(err) || attempt >= attempts) throw err;
    }
  }
}
