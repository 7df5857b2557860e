import { applyDecorators } from '@nestjs/common';
import { ValidateBy } from 'class-validator';
import { mixesScripts, scriptsOf } from './email';
import { IsPlainText, passedPlainText } from './plain-text';

/**
 * Styled letters: the Mathematical Alphanumeric Symbols (bold, italic, script, …), the Letterlike Symbols
 * that hold the letters those alphabets leave out (ℎ, ℯ, ℴ: helper-161), the full-width forms of ASCII and
 * half-width Katakana. Only these are folded (NFKC, one character at a time): NFKC of the whole name also
 * changes letters names are written with (Thai "ำ" taken apart, "Ĳ" as "IJ", "ª" as "a", "´" as a space
 * and a combining accent: helper-159).
 */
const STYLED = /[\u{1D400}-\u{1D7FF}\u2100-\u214F\uFF01-\uFF5E\uFF61-\uFF9F]/gu;
const SPACES = /\p{Zs}+/gu;
/** What keyboards give for an apostrophe in "O´Brien": the acute accent, the grave and the prime. */
const APOSTROPHES = /[\u00B4\u0060\u2032]/gu;

/**
 * A person's name as stored: NFC, styled letters as the letters they are drawn from ("𝐉ones" and "Ｊｏｎｅｓ"
 * as "Jones"), an accent or prime typed for an apostrophe as one ("O´Brien" as "O'Brien"), every run of
 * spaces of any kind as one space, trimmed. A styled name is the same name drawn otherwise: staff search
 * for it, and payees read it.
 */
export const normaliseName = (value: unknown): unknown =>
  typeof value === 'string'
    ? value
        .normalize('NFC')
        .replace(STYLED, (c) => c.normalize('NFKC'))
        // Composed again: a folded letter may take an accent that follows it ("Ｊｏｓｅ\u0301" is "José").
        .normalize('NFC')
        .replace(APOSTROPHES, "'")
        .replace(SPACES, ' ')
        .trim()
    : value;

/**
 * What a name is written with: letters with their marks, digits, spaces and the punctuation names use
 * (apostrophes, hyphens and the en dash, full stop, comma, middle dots, the kana sound marks, Hebrew geresh
 * and gershayim), and ZWNJ and ZWJ, which Persian, Indic and Sinhala names need (علی‌رضا, ශ්‍රී; plain text
 * already judges where they stand: helper-161). Symbols are not: "Iv∧n P℮tr○v" reads as "Ivan Petrov" and
 * no search finds it (helper-159).
 */
const NAME_CHARACTERS =
  /^[\p{L}\p{M}\p{Nd} '\u2018\u2019\-\u2010\u2011\u2013.,\u00B7\u30FB\u309B\u309C\u05F3\u05F4\u200C\u200D]*$/u;
/**
 * Marks that draw a symbol over or around a letter (enclosing marks, overlays: "Petr⃝v", "Iv̸an"), which
 * NAME_CHARACTERS' \p{M} would let back in (helper-161).
 */
const DRAWING_MARKS = /[\p{Me}\u0334-\u0338\u20D0-\u20FF]/u;

/**
 * Why `name` (as normaliseName stores it) is not a name we take, or null. Each word (between spaces) is
 * written in one script, as the parts of an e-mail address are (mixesScripts: Latin may go with the
 * scripts Japanese, Chinese and Korean are written in), and in a script of SCRIPTS (email.ts): the
 * scripts of the world's identity documents. A letter of another (Lisu's capitals are drawn as Latin
 * ones) is refused. A name wholly in one of them is a name; one that passes for a Latin name (all
 * Cyrillic "Аре") is left to KYC, whose staff compare it with the document.
 */
export function nameProblem(name: string): string | null {
  if (!NAME_CHARACTERS.test(name) || DRAWING_MARKS.test(name)) {
    return "must hold letters (with their accents), digits, spaces and the punctuation names use (' ’ - . , ·) only";
  }
  if (!/\p{L}/u.test(name)) return 'must hold at least one letter';
  const words = name.split(' ');
  if (words.some((word) => scriptsOf(word).has('other'))) {
    return 'must be written in a script identity documents are written in (Latin, Greek, Cyrillic, Arabic, Hebrew, the Indic scripts, Thai, Chinese, Japanese, Korean, …)';
  }
  if (words.some(mixesScripts)) {
    return 'must write each word in one script: mixed, as a Cyrillic "а" among Latin letters, it passes for another name';
  }
  return null;
}

/**
 * A person's legal name (registration, profile, KYC): IsPlainText(1, `max`), stored as normaliseName
 * stores it, and passing nameProblem. A Cyrillic "а" in "Ivаn" looks like "Ivan": other customers would
 * read it in their payment notices, and a staff search for "ivan" would not find it (helper-158).
 */
export const IsPersonName = (max: number) =>
  applyDecorators(
    IsPlainText(1, max, normaliseName),
    ValidateBy({
      name: 'isPersonName',
      validator: {
        // Judged only on what IsPlainText passed: one error per field, the first thing wrong with it.
        validate: (value: unknown) =>
          typeof value !== 'string' || !passedPlainText(value, 1, max) || nameProblem(value) === null,
        defaultMessage: (args) => `$property ${nameProblem(String(args?.value)) ?? 'is not a name'}`,
      },
    }),
  );
