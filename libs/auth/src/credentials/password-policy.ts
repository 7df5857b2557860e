import { AppError, normaliseEmail } from '@protobank/platform';
import { COMMON_MIN_LENGTH, isCommonPassword } from './common-passwords';
import { normalised } from './passwords';

export const MIN_PASSWORD_LENGTH = COMMON_MIN_LENGTH;

/** The rule broken, said of the field it is about (new_password for a change), in message and details. */
const weak = (rule: string, field: string) => {
  const message = rule.replace(/^password/, field);
  return AppError.badRequest('weak_password', message, [{ field, message }]);
};

/** Fewest different characters a password may be made of: twelve spaces, or abcabcabcabc, are not one. */
export const MIN_DISTINCT_CHARACTERS = 5;

/**
 * At least 12 characters (counted as characters of its NFKC form, as it is hashed; not UTF-16 units) of
 * at least 5 different ones, not a common password (common-passwords.ts, loaded on first use, only by the
 * app that hosts auth), not the e-mail in any spelling NFKC folds together: 400 weak_password naming the
 * field (`password`, or the one given).
 */
export function assertPasswordPolicy(password: string, email: string, field = 'password'): void {
  // Judged as it is hashed (NFKC, passwords.ts): "e" and an accent typed apart are one character. Its
  // different characters are counted as typed too: NFKC spells out some single characters as several
  // ("\uFDFA", "\u3307"), and twelve of one are not five different ones (helper-130).
  const folded = normalised(password);
  const characters = [...folded];
  if (characters.length < MIN_PASSWORD_LENGTH)
    throw weak(`password must be at least ${MIN_PASSWORD_LENGTH} characters`, field);
  if (Math.min(new Set(characters).size, new Set(password).size) < MIN_DISTINCT_CHARACTERS)
    throw weak(`password must use at least ${MIN_DISTINCT_CHARACTERS} different characters`, field);
  const lower = folded.toLowerCase();
  // Folded first, lowered after: a letter NFKC turns into a capital (mathematical bold 𝐀) is lowered too.
  // Invisible characters (zero-width spaces and joiners, soft hyphens: default-ignorable) are left out of
  // the comparison, so the e-mail with one inside is still the e-mail.
  const visible = password.replace(/\p{Default_Ignorable_Code_Point}/gu, '');
  if (visible.normalize('NFKC').toLowerCase().includes(normaliseEmail(email)))
    throw weak('password must not contain the e-mail', field);
  if (isCommonPassword(lower)) throw weak('password is one of the most common passwords', field);
}
