import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsString, Length, Matches } from 'class-validator';

/**
 * Characters a name, reference or reason must not hold: C0/C1 controls (line breaks included), the
 * bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069: "Trojan Source"),
 * the directional marks, and the invisible characters that make two strings look alike (zero-width
 * space, word joiner and invisible operators, BOM, soft hyphen). ZWJ and ZWNJ (U+200C, U+200D) stay
 * allowed: scripts such as Persian and Devanagari need them in names.
 */
export const UNSAFE_TEXT =
  /[\p{Cc}\u00AD\u061C\u180E\u200B\u200E\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF]/u;

const UNSAFE_TEXT_ALL = new RegExp(UNSAFE_TEXT.source, 'gu');

/**
 * Text written before IsPlainText guarded its field (or by a path that does not validate it), made safe
 * to show another person: every character IsPlainText refuses becomes U+FFFD, so a bidirectional
 * override cannot reorder what follows and an invisible character shows that it was there (dropping it
 * would turn "Pro\u200Btobank" into a clean "Protobank"). Rendering code applies it to names, references
 * and reasons as defence in depth; text that passed IsPlainText comes out unchanged.
 */
export const displayText = (value: string): string => value.replace(UNSAFE_TEXT_ALL, '\uFFFD');

/** The text as stored: Unicode NFC (one spelling of each accented letter) and trimmed. */
export const normaliseText = (value: unknown): unknown =>
  typeof value === 'string' ? value.normalize('NFC').trim() : value;

/**
 * A human-readable string field (a name, a reference, a reason): a string of `min`–`max` characters once
 * trimmed and NFC-normalised, refusing control, bidirectional-override and invisible characters with a
 * 400 that names the field. Other parties see these strings (a payee reads the payer's name), so none may
 * be made to display something other than what it holds.
 */
export const IsPlainText = (min: number, max: number) =>
  applyDecorators(
    Transform(({ value }) => normaliseText(value)),
    IsString(),
    Length(min, max),
    // A negative look over the whole string: class-validator has no "does not match".
    Matches(new RegExp(`^(?:(?!${UNSAFE_TEXT.source})[^])*$`, 'u'), {
      message: '$property must not contain control, bidirectional or invisible characters',
    }),
  );
