/** What a card can carry embossed: Latin letters, spaces, apostrophes, dots and hyphens, 26 at most. */
export const CARDHOLDER_NAME = /^[A-Z][A-Z .'-]{0,25}$/;

/**
 * A profile name as a card can carry it: accents taken off, only Latin letters, spaces, apostrophes,
 * dots and hyphens kept, upper-cased, at most 26 characters. A name with none of those gives CARDHOLDER.
 */
export function embossable(fullName: string): string {
  const plain = fullName
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toUpperCase()
    .replace(/[^A-Z .'-]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^[^A-Z]+/, '')
    .slice(0, 26)
    .trim();
  return CARDHOLDER_NAME.test(plain) ? plain : 'CARDHOLDER';
}
