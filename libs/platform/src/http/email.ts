import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsEmail, IsString, Matches, MaxLength } from 'class-validator';

/**
 * What an e-mail address must not hold once normalised: controls, format characters (zero-width space
 * and joiners, bidirectional marks and overrides, tags, BOM), separators of any kind (a no-break space
 * inside), unassigned, private-use and lone surrogate code points, and every other default-ignorable
 * code point, i.e. one that renders as nothing (soft hyphen, Hangul fillers, variation selectors, the
 * combining grapheme joiner). Two addresses that look the same must be the same address.
 */
export const UNSAFE_EMAIL = /[\p{Cc}\p{Cf}\p{Z}\p{Cn}\p{Co}\p{Cs}\p{Default_Ignorable_Code_Point}]/u;

/**
 * Longest string normalised as an address: an address has at most 254 characters, and NFKC can make a
 * string 18 times longer (U+FDFA), so a longer one is refused as it came (too long), not expanded first.
 */
const MAX_NORMALISED_LENGTH = 1024;

/**
 * The one form of an e-mail address that Protobank stores and looks up: Unicode NFKC (full-width
 * "ａｌｉｃｅ" is "alice", a ligature its letters), trimmed, and lower-cased as a whole, as registration
 * always has (mailboxes are case-insensitive in practice, and one account per mailbox is the point).
 */
export const normaliseEmail = (value: string): string => value.normalize('NFKC').trim().toLowerCase();

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
    Matches(new RegExp(`^(?:(?!${UNSAFE_EMAIL.source})[^])*$`, 'u'), {
      message: '$property must not contain invisible, control or space characters',
    }),
    IsEmail(),
    MaxLength(254),
  );
