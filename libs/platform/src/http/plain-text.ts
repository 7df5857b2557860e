import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsString, Length, ValidateBy } from 'class-validator';

/**
 * The one definition of a character that no text shown to a person may hold (as a class body, for
 * regular expressions with the `u` flag): controls (line breaks included); format characters
 * (bidirectional marks, embeddings, overrides and isolates, "Trojan Source"; zero-width space, word
 * joiner and invisible operators; BOM; interlinear annotation U+FFF9–FFFB; musical formatting
 * U+1D173–1D17A; tag characters U+E0001, U+E0020–E007F); the line and paragraph separators U+2028,
 * U+2029; private-use, surrogate and unassigned code points (unassigned ones include the noncharacters
 * and the rest of the tag block); and every other default-ignorable code point, i.e. one that renders as
 * nothing: soft hyphen, combining grapheme joiner U+034F, the Hangul fillers U+115F, U+1160, U+3164,
 * U+FFA0, variation selectors. Two strings that look the same must be the same string. Names, references
 * and reasons also refuse BLANK_SYMBOLS, the two symbols that render as a blank or as nothing without
 * being default-ignorable: BRAILLE PATTERN BLANK U+2800 and OBJECT REPLACEMENT CHARACTER U+FFFC (a name
 * of "\u2800" looked empty on staff screens and in notices, helper-125); e-mail addresses do not (one
 * registered with them before still signs in).
 */
export const HIDDEN_CHARACTERS = String.raw`\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cs}\p{Cn}\p{Default_Ignorable_Code_Point}`;

/** Symbols that render as a blank or as nothing without being default-ignorable (see above). */
const BLANK_SYMBOLS = String.raw`\u2800\uFFFC`;

/** Scripts whose writing never needs ZWNJ or ZWJ (as Persian, the Indic scripts and Sinhala do). */
const NO_JOINERS = new RegExp(
  `[${['Latin', 'Greek', 'Cyrillic', 'Armenian', 'Georgian', 'Han', 'Hiragana', 'Katakana', 'Hangul']
    .map((script) => String.raw`\p{Script=${script}}`)
    .join('')}]`,
  'u',
);
const LETTER = /\p{L}/u;
/** What an emoji ZWJ sequence joins (family, "heart on fire"): a pictograph, a skin tone, or U+FE0F. */
const EMOJI_PART = /[\p{Extended_Pictographic}\p{Emoji_Modifier}\uFE0F]/u;
const EMOJI = /\p{Emoji}/u;

/** Every hidden character: one scan of a plain class (no look-around), fast even over a megabyte. */
const HIDDEN_ALL = new RegExp(`[${HIDDEN_CHARACTERS}${BLANK_SYMBOLS}]`, 'gu');

/** The code point that ends just before `index`, or '' at the start. */
function before(text: string, index: number): string {
  if (index === 0) return '';
  const low = text.charCodeAt(index - 1);
  const high = text.charCodeAt(index - 2);
  // A low surrogate ends a pair only after a high one: a lone one is its own (unassigned) code point.
  const pair = index >= 2 && low >= 0xdc00 && low <= 0xdfff && high >= 0xd800 && high <= 0xdbff;
  return String.fromCodePoint(text.codePointAt(pair ? index - 2 : index - 1)!);
}

const MARK = /\p{M}/u;

/** The letter (or other base) that the marks just before `index` sit on, or '' when there is none. */
function baseBefore(text: string, index: number): string {
  for (let i = index; ;) {
    const prev = before(text, i);
    if (!MARK.test(prev)) return prev;
    i -= prev.length;
  }
}

/**
 * Whether the hidden character `char`, found at `index` of `text`, is one a name, reference or reason
 * may not hold. Each is, but for two exceptions that writing systems and emoji need, each only where it
 * does something visible:
 * - ZWNJ and ZWJ (U+200C, U+200D), after a letter of a script other than NO_JOINERS (or after marks
 *   on one: the letter they sit on is what counts, so a Latin letter's accent does not open the door),
 *   or inside an emoji sequence: "مهرداد\u200Cی", "क्\u200Dष" and "👨\u200D👩" pass, "Pro\u200Dtobank"
 *   and "Prox\u0301\u200Dtobank" do not;
 * - the emoji and text presentation selectors (U+FE0F, U+FE0E: "\u2764\uFE0F", "1\uFE0F\u20E3") right
 *   after an emoji.
 * Tag characters stay refused, so subdivision flags (England, Scotland, Wales) are too.
 */
function unsafeAt(text: string, index: number, char: string): boolean {
  if (char === '\u200C' || char === '\u200D') {
    const base = baseBefore(text, index);
    return !EMOJI_PART.test(before(text, index)) && !(LETTER.test(base) && !NO_JOINERS.test(base));
  }
  if (char === '\uFE0E' || char === '\uFE0F') return !EMOJI.test(before(text, index));
  return true;
}

/**
 * Combining marks placed where they would draw on something else (as a class of alternatives, for
 * regular expressions with the `u` flag): a mark that starts the text, which would sit on whatever is
 * shown before it (the quote or label a payee's screen puts before a reference), or a nonspacing or
 * enclosing one that follows a space (an accent over nothing: "Ann \u0301Lee"; a spacing mark there is
 * how Zawgyi-encoded Burmese and Tamil typed in visual order write a vowel that is shown first, and
 * passes); and, as Unicode's
 * security mechanisms (UTS #39, 5.4) advise, the same nonspacing mark twice in a row, or a long run of
 * nonspacing or enclosing marks, which stacks over the lines above and below ("Zalgo" text). UTS #39
 * draws that line past four marks, for identifiers; names and references need more room (Burmese
 * medials with vowels and a tone, Hebrew with points and a cantillation mark, Tibetan Sanskrit stacks
 * take five), so here it is past six. Judged on the text decomposed (NFD), as UTS #39 does, so that
 * "a\u0301\u0301", stored as "\u00E1\u0301", is the doubled mark it shows, and without ZWJ and ZWNJ,
 * which may sit between marks (Indic conjuncts) and would otherwise split a run.
 */
const MISPLACED_MARKS = /^\p{M}|[\s\p{Z}][\p{Mn}\p{Me}]|(\p{Mn})\1|[\p{Mn}\p{Me}]{7}/u;
const JOINERS = /[\u200C\u200D]/g;

/**
 * The one predicate for text shown to another person (IsPlainText, displayText; e-mail addresses
 * refuse HIDDEN_CHARACTERS outright): true when `text` holds no character unsafeAt refuses and no
 * MISPLACED_MARKS.
 */
export function isPlainText(text: string): boolean {
  for (const match of text.matchAll(HIDDEN_ALL)) {
    if (unsafeAt(text, match.index, match[0])) return false;
  }
  return !MISPLACED_MARKS.test(text.normalize('NFD').replace(JOINERS, ''));
}

/** A run of more than six nonspacing or enclosing marks: the marks from the seventh on. */
const STACKED_MARKS = /(?<=[\p{Mn}\p{Me}]{6})[\p{Mn}\p{Me}]+/gu;

/**
 * Text written before IsPlainText guarded its field (or by a path that does not validate it), made safe
 * to show another person: every character IsPlainText refuses becomes U+FFFD, so a bidirectional
 * override cannot reorder what follows and an invisible character shows that it was there (dropping it
 * would turn "Pro\u200Btobank" into a clean "Protobank"); a mark that starts the text is shown on a
 * dotted circle (U+25CC, as Unicode shows a mark alone) rather than on what precedes it; a stack of more
 * than six marks keeps six and shows one U+FFFD for the rest. Rendering code applies it to names,
 * references and reasons as defence in depth; text that passed IsPlainText comes out unchanged.
 */
export const displayText = (value: string): string =>
  marked(
    marked(value)
      .replace(/^\p{M}/u, '\u25CC$&')
      .replace(STACKED_MARKS, '\uFFFD'),
  );

/**
 * Each character IsPlainText refuses as U+FFFD, until none is left. A joiner or selector is judged by the
 * character before it, and one kept for what came before (a selector after an emoji, a joiner after a
 * selector or after a stack's marks) is unsafe once that becomes U+FFFD, so the marking is repeated over
 * its own output: each pass marks at least one more character or ends, and a chain is at most a selector
 * and a joiner long (either after a joiner or selector is marked in the first pass).
 */
function marked(value: string): string {
  for (let text = value; ;) {
    const next = text.replace(HIDDEN_ALL, (char: string, index: number) =>
      unsafeAt(text, index, char) ? '\uFFFD' : char,
    );
    if (next === text) return text;
    text = next;
  }
}

/** A nonspacing or enclosing mark right after a space: the space, to be followed by a dotted circle. */
const MARK_AFTER_SPACE = /([\s\p{Z}])(?=[\p{Mn}\p{Me}])/gu;
const DRAWN_MARKS = /[\p{Mn}\p{Me}]/gu;
/** The same nonspacing mark twice or more in a row (decomposed): the first of them. */
const DOUBLED_MARK = /(\p{Mn})\1+/gu;
/** A run of nonspacing or enclosing marks (decomposed): its first six. */
const LONG_RUN = /([\p{Mn}\p{Me}]{6})[\p{Mn}\p{Me}]+/gu;

/**
 * Text a third party sends that we must take rather than refuse (a card network's merchant name and
 * city: a 400 would refuse a clearing or a refund, money owed), made to pass isPlainText. Each step only
 * when the one before did not suffice: displayText; then, decomposed, a doubled mark kept once and a run
 * of marks cut to six, and a nonspacing or enclosing mark after a space shown on a dotted circle (as
 * displayText shows one that starts the text); last, for what still fails (marks split by a joiner), the
 * text without its nonspacing and enclosing marks. Text that passes isPlainText comes out unchanged.
 */
export function sanitisedText(value: string): string {
  if (isPlainText(value)) return value;
  const shown = displayText(value);
  if (isPlainText(shown)) return shown;
  const repaired = shown
    .normalize('NFD')
    .replace(DOUBLED_MARK, '$1')
    .replace(LONG_RUN, '$1')
    .normalize('NFC')
    .replace(MARK_AFTER_SPACE, '$1\u25CC');
  if (isPlainText(repaired)) return repaired;
  return displayText(value.normalize('NFD').replace(DRAWN_MARKS, '').normalize('NFC'));
}

/**
 * A string's length as class-validator's Length counts it (validator.js isLength: UTF-16 units, less one
 * per surrogate pair and per presentation selector U+FE0E/U+FE0F after something else), so that a check
 * skipped for text Length refuses is skipped for exactly that text. Counting UTF-16 units instead let
 * text of `max` characters but more units (emoji, tag characters) skip the hidden-character scan
 * (helper-129).
 */
export function validatedLength(value: string): number {
  const selector = (unit: number) => unit === 0xfe0e || unit === 0xfe0f;
  let length = value.length;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    // isLength's /[^\uFE0F\uFE0E][\uFE0F\uFE0E]/g: a selector counts nothing after anything but a selector.
    if (selector(unit) && i > 0 && !selector(value.charCodeAt(i - 1))) length--;
  }
  // Its /[\uD800-\uDBFF][\uDC00-\uDFFF]/g, scanned apart: each pair is one.
  for (let i = 0; i < value.length - 1; i++) {
    const unit = value.charCodeAt(i);
    const next = value.charCodeAt(i + 1);
    if (unit >= 0xd800 && unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      length--;
      i++;
    }
  }
  return length;
}

/** The first `max` code points of `value` (a surrogate pair is never split). */
function firstCodePoints(value: string, max: number): string {
  let end = 0;
  for (let n = 0; n < max && end < value.length; n++) end += value.codePointAt(end)! > 0xffff ? 2 : 1;
  return value.slice(0, end);
}

const LENGTH_MESSAGE =
  '$property must be $constraint1 to $constraint2 characters long, not counting spaces around it';

/** The text as stored: Unicode NFC (one spelling of each accented letter) and trimmed. */
export const normaliseText = (value: unknown): unknown =>
  typeof value === 'string' ? value.normalize('NFC').trim() : value;

/**
 * A human-readable string field (a name, a reference, a reason): a string of `min`–`max` characters once
 * trimmed and NFC-normalised (or as `normalise` stores it), refusing control, bidirectional-override and
 * invisible characters (isPlainText) with a 400 that names the field. Other parties see these strings (a
 * payee reads the payer's name), so none may be made to display something other than what it holds.
 */
export const IsPlainText = (min: number, max: number, normalise = normaliseText) =>
  applyDecorators(
    Transform(({ value }) => normalise(value)),
    IsString(),
    Length(min, max, { message: LENGTH_MESSAGE }),
    ValidateBy({
      name: 'isPlainText',
      validator: {
        // A string Length refuses is not scanned (counted as Length counts: validatedLength).
        validate: (value: unknown) =>
          typeof value !== 'string' || validatedLength(value) > max || isPlainText(value),
        defaultMessage: () =>
          '$property must not contain control, bidirectional or invisible characters, nor start with or stack combining marks',
      },
    }),
  );

/**
 * A human-readable string field written by a third party whose message we must take (see
 * sanitisedText): trimmed, NFC-normalised, cut to its first `max` characters (code points) and made plain
 * rather than refused, then cut again (sanitising may add a dotted circle) and trimmed at its end (a cut
 * may end on a space); only text empty once trimmed, or no string, is refused. At most `max` code points
 * is at most 2 × `max` UTF-16 units, which the ledger's own bound on a merchant name (200) allows for 100.
 */
export const IsThirdPartyText = (min: number, max: number) =>
  applyDecorators(
    Transform(({ value }) => {
      const text = normaliseText(value);
      if (typeof text !== 'string') return text;
      return firstCodePoints(sanitisedText(firstCodePoints(text, max)), max).trimEnd();
    }),
    IsString(),
    Length(min, max, { message: LENGTH_MESSAGE }),
  );

/**
 * `min`–`max` characters (code points, as Length counts them here: validatedLength) of plain text: what
 * IsPlainText(min, max) passes, for a rule added after it to judge only that (one error per field).
 */
export const passedPlainText = (value: string, min: number, max: number): boolean => {
  const length = validatedLength(value);
  return length >= min && length <= max && isPlainText(value);
};

/** Letters and digits, of any script. */
const WORD_CHARACTER = /[\p{L}\p{N}]/gu;

/**
 * A reason kept in the audit trail (or shown to a customer): IsPlainText(3, 500), and at least three
 * letters or digits, so that it says something when read back: not "...", nor symbols alone ("★★★"),
 * nor accents over punctuation.
 */
export const IsReason = () =>
  applyDecorators(
    IsPlainText(3, 500),
    ValidateBy({
      name: 'isReason',
      validator: {
        // Judged only on what IsPlainText passed: one error per field, the first thing wrong with it.
        validate: (value: unknown) =>
          typeof value !== 'string' ||
          !passedPlainText(value, 3, 500) ||
          (value.match(WORD_CHARACTER)?.length ?? 0) >= 3,
        defaultMessage: () => '$property must say why in at least three letters or digits',
      },
    }),
  );
