import { AppError, normaliseEmail } from '@protobank/platform';
import { COMMON_MIN_LENGTH, isCommonPassword } from './common-passwords';

export const MIN_PASSWORD_LENGTH = COMMON_MIN_LENGTH;

const weak = (message: string) =>
  AppError.badRequest('weak_password', message, [{ field: 'password', message }]);

/** Fewest different characters a password may be made of: twelve spaces, or abcabcabcabc, are not one. */
export const MIN_DISTINCT_CHARACTERS = 5;

/**
 * At least 12 characters (counted as characters, not UTF-16 units) of at least 5 different ones, not a
 * common password (common-passwords.ts, loaded on first use, only by the app that hosts auth), not the
 * e-mail in any spelling NFKC folds together: 400 weak_password naming the field.
 */
export function assertPasswordPolicy(password: string, email: string): void {
  const characters = [...password];
  if (characters.length < MIN_PASSWORD_LENGTH)
    throw weak(`password must be at least ${MIN_PASSWORD_LENGTH} characters`);
  if (new Set(characters).size < MIN_DISTINCT_CHARACTERS)
    throw weak(`password must use at least ${MIN_DISTINCT_CHARACTERS} different characters`);
  const lower = password.toLowerCase();
  // Folded first, lowered after: a letter NFKC turns into a capital (mathematical bold 𝐀) is lowered too.
  if (password.normalize('NFKC').toLowerCase().includes(normaliseEmail(email)))
    throw weak('password must not contain the e-mail');
  if (isCommonPassword(lower)) throw weak('password is one of the most common passwords');
}
