/**
 * Money is an integer number of minor units with its ISO 4217 code: `{ amount: 2550, currency: 'GBP' }`
 * is £25.50 and `{ amount: 2550, currency: 'JPY' }` is ¥2,550. Never a float. Amounts in JSON are
 * integers; the ledger keeps them as Postgres bigint.
 */
export const CURRENCIES = ['GBP', 'EUR', 'USD', 'JPY'] as const;
export type Currency = (typeof CURRENCIES)[number];

/** Digits after the decimal point, per ISO 4217. */
export const MINOR_UNITS: Record<Currency, number> = { GBP: 2, EUR: 2, USD: 2, JPY: 0 };

export function isCurrency(value: unknown): value is Currency {
  return typeof value === 'string' && (CURRENCIES as readonly string[]).includes(value);
}

/** "2550" GBP -> "25.50", "-5" GBP -> "-0.05", "2550" JPY -> "2550": exact, from the integer. */
export function formatMinorUnits(amount: bigint | number, currency: Currency): string {
  const digits = MINOR_UNITS[currency];
  const value = BigInt(amount);
  const sign = value < 0n ? '-' : '';
  const abs = (value < 0n ? -value : value).toString().padStart(digits + 1, '0');
  return digits === 0 ? `${sign}${abs}` : `${sign}${abs.slice(0, -digits)}.${abs.slice(-digits)}`;
}
