import { AppError } from '@protobank/platform';

/**
 * What Faster Payments carries in a payment's reference and payee name: letters and digits of the Latin
 * alphabet, the space, and / - ? : ( ) . , ' + & (SWIFT's "x" set and the ampersand), with at least one
 * letter or digit. An external payee's name and reference go to the scheme adapter as they are
 * (`payment.sent`), so a value outside this set (an emoji, an accented letter, CJK) is refused when it is
 * set, rather than mangled or rejected by the scheme after the money left the account. (Bacs carries
 * fewer: capitals, digits, . & / - and space; an adapter routing a payment through it converts.) An
 * internal payee's stay in the bank: any plain text (the DTOs' rule) is fine there.
 */
const SCHEME_TEXT = /^(?=.*[A-Za-z0-9])[A-Za-z0-9 /\-?:().,'+&]+$/;

/** The set in words, for the API docs and the refusal. */
export const SCHEME_CHARACTERS = "letters A-Z, digits, spaces and / - ? : ( ) . , ' + &";

/**
 * 400 naming `field` (`name`, `reference`) when `value`, bound for an external payee through the scheme,
 * holds a character the scheme does not carry. Nothing to check when there is no value.
 */
export function assertSchemeText(
  value: string | null | undefined,
  field: 'name' | 'reference',
  whose = `an external payee's ${field}`,
): void {
  if (value == null || SCHEME_TEXT.test(value)) return;
  throw AppError.badRequest('validation_failed', `Invalid request: ${field}`, [
    { field, message: `${whose} is sent through the payment scheme: ${SCHEME_CHARACTERS} only` },
  ]);
}
