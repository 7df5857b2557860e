/**
 * What people write between the characters of a document number: spaces (any Unicode space), dashes of
 * any kind (and the minus sign, which looks like one), dots and slashes.
 */
const SEPARATORS = /[\s\p{Pd}\u2212./]/gu;

/**
 * One spelling per document number, so that the same document always gives the same lookup hash:
 * Unicode NFKC first (full-width letters and digits, ligatures, the Kelvin sign, circled and superscript
 * digits become their plain forms), then separators removed, then upper case (which also maps the
 * dotless i and the long s to I and S). What is left must be 6 to 20 ASCII letters or digits; anything
 * else (a Cyrillic or Greek look-alike, an invisible character) is refused by the DTO, not guessed at.
 */
export function normaliseDocumentNumber(value: string): string {
  return value.normalize('NFKC').replace(SEPARATORS, '').toUpperCase();
}

export const DOCUMENT_NUMBER = /^[A-Z0-9]{6,20}$/;
