import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { CURRENCIES } from '@protobank/contracts';
import { IsIn, IsInt, IsPositive, Max } from 'class-validator';
import { AppError } from '../errors/app-error';

/**
 * An amount in a request body: a JSON integer of minor units, above zero. Strings, fractions,
 * negatives and zero fail validation (400 naming the field); the configured maximum is checked by
 * assertAmountWithin, since it is configuration.
 */
export const IsAmount = (example = 2550) =>
  applyDecorators(
    ApiProperty({
      type: 'integer',
      minimum: 1,
      example,
      description: 'Minor units (pence, cents; yen for JPY), a JSON integer',
    }),
    IsInt({ message: '$property must be an integer number of minor units' }),
    IsPositive({ message: '$property must be above zero' }),
    // Only what a JSON number holds exactly; MAX_AMOUNT, configuration, is checked by assertAmountWithin.
    Max(Number.MAX_SAFE_INTEGER, { message: '$property is too large' }),
  );

export const IsCurrency = () =>
  applyDecorators(
    ApiProperty({ enum: CURRENCIES, example: 'GBP', description: 'ISO 4217 code' }),
    IsIn(CURRENCIES, { message: `$property must be one of ${CURRENCIES.join(', ')}` }),
  );

export function assertAmountWithin(amount: number, max: number, field = 'amount'): void {
  if (amount > max) {
    throw AppError.badRequest('validation_failed', `Invalid request: ${field}`, [
      { field, message: `${field} must not exceed ${max} minor units` },
    ]);
  }
}

/**
 * A bigint amount as a JSON integer. One movement stays below 2^53 (MAX_AMOUNT), but a total of many
 * need not: rather than round it, the answer is refused (422), since a JSON number beyond 2^53 would
 * reach most clients as a float that has lost pennies.
 */
export function jsonAmount(value: bigint | string | number): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) {
    throw AppError.unprocessable(
      'amount_out_of_range',
      'A figure in this answer is too large to send exactly in JSON; ask for a shorter period',
    );
  }
  return n;
}
