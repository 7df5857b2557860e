import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsEmail, IsString, Matches, MaxLength } from 'class-validator';
import { HIDDEN_CHARACTERS } from './plain-text';

/**
 * What an e-mail address must not hold once normalised: the characters no text shown to a person may
 * hold (HIDDEN_CHARACTERS, the one definition: controls, format characters, default-ignorables...),
 * here without the exceptions names make for joiners and emoji, and separators of any kind (a no-break
 * space inside). Two addresses that look the same must be the same address.
 */
const UNSAFE_IN_EMAIL = String.raw`${HIDDEN_CHARACTERS}\p{Z}`;
export const UNSAFE_EMAIL = new RegExp(`[${UNSAFE_IN_EMAIL}]`, 'u');

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
    Matches(new RegExp(`^[^${UNSAFE_IN_EMAIL}]*$`, 'u'), {
      message: '$property must not contain invisible, control or space characters',
    }),
    IsEmail(),
    MaxLength(254),
  );

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
  );
