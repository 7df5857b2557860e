import { AppError } from '@protobank/platform';

/** The set, as a character class body: SCHEME_TEXT and NOT_CARRIED are built from it. */
const CARRIED = String.raw`A-Za-z0-9 /\-?:().,'+&`;

/**
 * What Faster Payments carries in a payment's reference and payee name: letters and digits of the Latin
 * alphabet, the space, and / - ? : ( ) . , ' + & (SWIFT's "x" set and the ampersand), with at least one
 * letter or digit. An external payee's name and reference go to the scheme adapter as they are
 * (`payment.sent`), so a value is mapped to this set when it is set (schemeText: what banks map), or
 * refused when it cannot be (an emoji, CJK), rather than mangled or rejected by the scheme after the
 * money left the account. (Bacs carries fewer: capitals, digits, . & / - and space; an adapter routing
 * a payment through it converts.) An internal payee's stay in the bank: any plain text (the DTOs' rule)
 * is fine there.
 */
const SCHEME_TEXT = new RegExp(`^(?=.*[A-Za-z0-9])[${CARRIED}]+$`);

/** The set in words, for the API docs and the refusal. */
export const SCHEME_CHARACTERS = "letters A-Z, digits, spaces and / - ? : ( ) . , ' + &";

/** What the API docs add: what is mapped into the set rather than refused. */
export const SCHEME_MAPPING =
  'accents on Latin letters are dropped, Ø Ł Đ ı and the like made plain letters, and typographic apostrophes, dashes and spaces made ASCII (kept so); Æ, Œ, ß, Þ, other scripts and symbols such as £ are refused';

/**
 * What a phone keyboard types that the scheme carries another way: typographic apostrophes and primes
 * (iOS writes "O’Neill"), hyphens and dashes, and spaces other than U+0020 (no-break, figure, thin).
 */
const APOSTROPHES = /[\u2018\u2019\u201A\u201B\u2032\u00B4\u02BC\uFF07]/g;
const DASHES = /[\u2010-\u2015\u2212\uFE58\uFE63\uFF0D]/g;
const SPACES = /[^\S\n\r\t\v\f ]/gu;
/** A Latin letter and the accents it carries (NFD), which the scheme drops ("Zoë" → "Zoe"); linear. */
const LATIN_ACCENTS = /([A-Za-z])[\u0300-\u036F]+/g;
/**
 * Latin letters with a stroke or without a dot, which no decomposition takes apart, mapped one for one as
 * banks map them ("Søren" → "Soren", "Łukasz" → "Lukasz"). Letters that would map to two (Æ, Œ, ß, Þ)
 * stay refused: the field's length bound would no longer hold.
 */
const ONE_FOR_ONE: Record<string, string> = {
  Ø: 'O',
  ø: 'o',
  Ł: 'L',
  ł: 'l',
  Đ: 'D',
  đ: 'd',
  Ð: 'D',
  ð: 'd',
  Ħ: 'H',
  ħ: 'h',
  Ŧ: 'T',
  ŧ: 't',
  ı: 'i',
};
const STROKED = new RegExp(`[${Object.keys(ONE_FOR_ONE).join('')}]`, 'g');

const mapped = (value: string): string =>
  value
    .normalize('NFD')
    // Before the accents: a stroked letter may carry one too ("Ǿ" is Ø and an acute).
    .replace(STROKED, (letter) => ONE_FOR_ONE[letter])
    .replace(LATIN_ACCENTS, '$1')
    .normalize('NFC')
    .replace(APOSTROPHES, "'")
    .replace(DASHES, '-')
    .replace(SPACES, ' ');

/**
 * `value` as the scheme will carry it, with the substitutions every UK bank makes (accents off Latin
 * letters, typographic apostrophes and dashes as ASCII, every space a space), or a 400 naming `field`
 * (`name`, `reference`) when a character is still outside SCHEME_CHARACTERS. Only ever shorter or as long
 * (in characters, NFC), so the field's length bound still holds. Nothing to check when there is no value.
 */
export function schemeText<T extends string | null | undefined>(
  value: T,
  field: 'name' | 'reference',
  whose = `an external payee's ${field}`,
): T {
  if (value == null || SCHEME_TEXT.test(value)) return value;
  const carried = mapped(value);
  if (SCHEME_TEXT.test(carried)) return carried as T;
  throw AppError.badRequest('validation_failed', `Invalid request: ${field}`, [
    { field, message: `${whose} is sent through the payment scheme: ${SCHEME_CHARACTERS} only` },
  ]);
}

/**
 * An external payee's name and reference through schemeText, each given one; one 400 names every field the
 * scheme cannot carry (schemeText alone named the first, and a client fixed one per round trip).
 */
export function schemeFields<T extends string | null | undefined, U extends string | null | undefined>(
  name: T,
  reference: U,
): { name: T; reference: U } {
  const refused: AppError[] = [];
  const carried = <V extends string | null | undefined>(value: V, field: 'name' | 'reference'): V => {
    try {
      return schemeText(value, field);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      refused.push(err);
      return value;
    }
  };
  const kept = { name: carried(name, 'name'), reference: carried(reference, 'reference') };
  if (refused.length === 1) throw refused[0];
  if (refused.length > 1) {
    throw AppError.badRequest(
      'validation_failed',
      'Invalid request: name, reference',
      refused.flatMap((err) => err.details),
    );
  }
  return kept;
}

/** What payment.sent carries when nothing of a saved name or reference can be (see schemeCarried). */
export const SCHEME_FALLBACK = { name: 'PAYEE', reference: 'PAYMENT' } as const;

/** A character the scheme does not carry. */
const NOT_CARRIED = new RegExp(`[^${CARRIED}]`, 'gu');

/**
 * What `payment.sent` hands the scheme adapter: text saved before the rule above (2026-12-06) may hold
 * what the scheme cannot carry, and the money has left the account by then, so it is not refused but
 * made carriable: mapped as schemeText maps, every character still outside the set dropped, spaces
 * collapsed; `fallback` when no letter or digit is left ("家賃 ☕"). Text saved since passes unchanged.
 */
export function schemeCarried(value: string, fallback: string): string {
  if (SCHEME_TEXT.test(value)) return value;
  const carried = mapped(value).replace(NOT_CARRIED, '').replace(/ {2,}/g, ' ').trim();
  return SCHEME_TEXT.test(carried) ? carried : fallback;
}
