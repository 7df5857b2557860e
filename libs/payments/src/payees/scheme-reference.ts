import { AppError } from '@protobank/platform';

/**
 * What the UK's domestic schemes (Faster Payments, Bacs) carry in a payment's reference: letters and
 * digits of the Latin alphabet, the space, and / - ? : ( ) . , ' + & (SWIFT's "x" set and the ampersand).
 * An external payee's reference goes to the scheme adapter as it is (`payment.sent`), so one outside this
 * set (an emoji, an accented letter, CJK) is refused when it is set, rather than mangled or rejected by
 * the scheme after the money left the account. An internal payee's reference stays in the bank: any
 * plain text (the DTOs' rule) is fine there.
 */
const SCHEME_REFERENCE = /^[A-Za-z0-9 /\-?:().,'+&]*$/;

/** The set in words, for the API docs and the refusal. */
export const SCHEME_CHARACTERS = "letters A-Z, digits, spaces and / - ? : ( ) . , ' + &";

/** 400 naming `field` when `reference`, bound for an external payee, holds a character the schemes do not carry. */
export function assertSchemeReference(reference: string | null | undefined, field = 'reference'): void {
  if (reference == null || SCHEME_REFERENCE.test(reference)) return;
  throw AppError.badRequest('validation_failed', `Invalid request: ${field}`, [
    {
      field,
      message: `an external payee's reference is sent through the payment scheme: ${SCHEME_CHARACTERS} only`,
    },
  ]);
}
