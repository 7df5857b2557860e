import { AppError } from '@protobank/platform';
import { COMMON_MIN_LENGTH, isCommonPassword } from './common-passwords';

export const MIN_PASSWORD_LENGTH = COMMON_MIN_LENGTH;

const weak = (message: string) =>
  AppError.badRequest('weak_password', message, [{ field: 'password', message }]);

/**
 * At least 12 characters, not a common password (common-passwords.ts, loaded on first use, only by the
 * app that hosts auth), not the e-mail: 400 weak_password naming the field.
 */
export function assertPasswordPolicy(password: string, email: string): void {
  if (password.length < MIN_PASSWORD_LENGTH)
    throw weak(`password must be at least ${MIN_PASSWORD_LENGTH} characters`);
  const lower = password.toLowerCase();
  if (lower.includes(email.trim().toLowerCase())) throw weak('password must not contain the e-mail');
  if (isCommonPassword(lower)) throw weak('password is one of the most common passwords');
}
