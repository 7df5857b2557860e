import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsEmail, isEmail, IsString, Matches, MaxLength, ValidateBy } from 'class-validator';
import { domainToASCII, domainToUnicode } from 'node:url';
import { HIDDEN_CHARACTERS } from './plain-text';

/**
 * What an e-mail address must not hold once normalised: the characters no text shown to a person may
 * hold (HIDDEN_CHARACTERS, the one definition: controls, format characters, default-ignorables...),
 * here without the exceptions names make for joiners and emoji, and separators of any kind (a no-break
 * space inside). Two addresses that look the same must be the same address.
 */
const UNSAFE_IN_EMAIL = String.raw`${HIDDEN_CHARACTERS}\p{Z}`;

/**
 * Longest string normalised as an address: an address has at most 254 characters, and NFKC can make a
 * string 18 times longer (U+FDFA), so a longer one is refused as it came (too long), not expanded first.
 */
const MAX_NORMALISED_LENGTH = 1024;

/**
 * The one form of an e-mail address that Protobank stores and looks up: Unicode NFKC (full-width
 * "ａｌｉｃｅ" is "alice", a ligature its letters), trimmed, and lower-cased as a whole, as registration
 * always has (mailboxes are case-insensitive in practice, and one account per mailbox is the point).
 * A domain label in its ASCII form (IDNA's `xn--…`, as mail clients may show it) is written as it reads
 * (`xn--bcher-kva` is `bücher`): both spellings reach one mailbox, so they are one address (helper-133),
 * and the rules for what an address may hold judge the letters, not their encoding. A label that is not
 * valid IDNA stays as it came.
 */
export const normaliseEmail = (value: string): string => {
  const address = value.normalize('NFKC').trim().toLowerCase();
  const at = address.lastIndexOf('@');
  if (at < 0 || !address.includes('xn--', at)) return address;
  const labels = address.slice(at + 1).split('.');
  const read = `${address.slice(0, at + 1)}${labels.map(labelAsItReads).join('.')}`
    .normalize('NFKC')
    .toLowerCase();
  // Only where it is still an address: one that signed in before must not become refused (an emoji or
  // one-letter top-level label read out is not a domain name isEmail takes).
  return read === address || isEmail(read) ? read : address;
};

/**
 * An `xn--` label as it reads, when it is the IDNA encoding of letters beyond ASCII: the decoded label
 * must hold one, and encode back to exactly this label. Anything else stays as it came: a label that is
 * not valid IDNA, or one that decodes to ASCII or to another `xn--` label (`xn--xn--bcher-kva-`), which
 * would otherwise be read once here and once more when stored, the second reading unjudged (helper-135).
 */
function labelAsItReads(label: string): string {
  if (!label.startsWith('xn--')) return label;
  const read = domainToUnicode(label);
  // eslint-disable-next-line no-control-regex
  return read && /[^\x00-\x7F]/.test(read) && domainToASCII(read) === label ? read : label;
}

/**
 * An e-mail field of a request body: normalised as above before it is validated, then refused (400
 * naming the field) when it holds an invisible or control character, is not an address, or is longer
 * than 254 characters. Every route that takes an e-mail uses this, so registration and login agree on
 * what one address is.
 */
export const IsEmailAddress = () =>
  applyDecorators(
    Transform(({ value }: { value: unknown }) =>
      typeof value === 'string' && value.length <= MAX_NORMALISED_LENGTH ? normaliseEmail(value) : value,
    ),
    IsString(),
    Matches(new RegExp(`^[^${UNSAFE_IN_EMAIL}]*$`, 'u'), {
      message: '$property must not contain invisible, control or space characters',
    }),
    IsEmail(),
    MaxLength(254),
  );

/**
 * Scripts whose letters are told apart here (Unicode Script property). Latin, Greek, Cyrillic, Armenian
 * and Cherokee hold most of the letters that pass for one another ("а" Cyrillic for "a" Latin); the rest
 * are those of the languages people write addresses in. A letter of a script not listed counts as one
 * script of its own, "other".
 */
const SCRIPTS = (
  'Latin Greek Cyrillic Armenian Cherokee Georgian Hebrew Arabic Syriac Thaana Devanagari Bengali Gurmukhi ' +
  'Gujarati Oriya Tamil Telugu Kannada Malayalam Sinhala Thai Lao Tibetan Myanmar Khmer Ethiopic Mongolian ' +
  'Han Hiragana Katakana Bopomofo Hangul'
)
  .split(' ')
  .map((name) => ({ name, re: new RegExp(`\\p{Script=${name}}`, 'u') }));
const LETTER = /[\p{L}\p{M}\p{N}]/u;
const SHARED = /[\p{Script=Common}\p{Script=Inherited}]/u;

/**
 * Scripts that one part may mix, as UTS #39's "highly restrictive" level allows: Latin with the scripts
 * Japanese, Chinese and Korean are written in together.
 */
const MIXES = [
  ['Latin', 'Han', 'Hiragana', 'Katakana'],
  ['Latin', 'Han', 'Bopomofo'],
  ['Latin', 'Han', 'Hangul'],
];

/**
 * Whether a part of an address (its local part, or one label of its domain) writes its letters in more
 * than one script, beyond MIXES: "pаypal" with a Cyrillic "а" looks like "paypal" and is another
 * address. Digits and punctuation (Common) and combining marks (Inherited) belong to every script.
 */
export function mixesScripts(part: string): boolean {
  const seen = scriptsOf(part);
  return seen.size > 1 && !MIXES.some((mix) => [...seen].every((s) => mix.includes(s)));
}

/**
 * The scripts `text`'s letters are written in: SCRIPTS' names, and `other` for any script not among them.
 * Digits and punctuation (Common) and combining marks (Inherited) belong to every script.
 */
export function scriptsOf(text: string): Set<string> {
  const seen = new Set<string>();
  for (const ch of text) {
    if (!LETTER.test(ch) || SHARED.test(ch)) continue;
    seen.add(SCRIPTS.find((s) => s.re.test(ch))?.name ?? 'other');
  }
  return seen;
}

/** The parts of an address judged apart by mixesScripts: the local part and each label of the domain. */
const addressParts = (address: string): string[] => {
  const at = address.lastIndexOf('@');
  return at < 0 ? [address] : [address.slice(0, at), ...address.slice(at + 1).split('.')];
};

/**
 * An address a new account is registered under (IsEmailAddress, and more): no quoted local part and no
 * `%` or `!`. RFC 5321 allows them, but relays refuse quoted ones (the account could then never verify its
 * address nor reset its password) and route `%` and `!` onwards to another host on some legacy setups, so
 * mail for the account could reach someone else (helper-119). Logins keep IsEmailAddress alone: an
 * account registered before this still signs in.
 */
export const IsNewEmailAddress = () =>
  applyDecorators(
    IsEmailAddress(),
    Matches(/^[^"%!]*$/, { message: '$property must be a plain address: no quotes, % or !' }),
    // The ideographic full stop, which IDNA and mailers read as a dot in a domain: "alice@a.test。" is
    // sent to "a.test." and would be a second account for a mailbox that has one (helper-125). Refused at
    // registration only, so an account registered with one before still signs in as it was stored.
    Matches(/^[^\u3002]*$/, { message: '$property must write its dots as "." (not "。")' }),
    // A look-alike of another address (helper-125): one script per part, as browsers judge a domain
    // before showing it in Unicode. Registration only, as above.
    ValidateBy({
      name: 'isSingleScript',
      validator: {
        // Not judged when MaxLength refuses it: a megabyte body is not read letter by letter.
        validate: (value: unknown) =>
          typeof value !== 'string' || value.length > 254 || !addressParts(value).some(mixesScripts),
        defaultMessage: () =>
          '$property must write each part (before the @, and each name between dots after it) in one script: mixed, as a Cyrillic "а" among Latin letters, it passes for another address',
      },
    }),
  );
