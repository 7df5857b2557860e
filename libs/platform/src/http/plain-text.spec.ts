import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import isLength from 'validator/lib/isLength';
import {
  displayText,
  isPlainText,
  IsPlainText,
  IsReason,
  IsThirdPartyText,
  sanitisedText,
  validatedLength,
} from './plain-text';

class Named {
  @IsPlainText(1, 20)
  name: string;
}

class Referenced {
  @IsPlainText(1, 140)
  reference: string;
}

const check = (name: unknown) => {
  const value = plainToInstance(Named, { name });
  return {
    value: value.name,
    errors: validateSync(value).flatMap((e) => Object.values(e.constraints ?? {})),
  };
};

const checkReference = (reference: string) =>
  validateSync(plainToInstance(Referenced, { reference })).flatMap((e) => Object.values(e.constraints ?? {}));

const REFUSED =
  'name must not contain control, bidirectional or invisible characters, nor start with or stack combining marks';

describe('IsPlainText', () => {
  it('accepts ordinary names in any script, trimmed and NFC-normalised', () => {
    expect(check('  Zoë Brontë ')).toEqual({ value: 'Zoë Brontë', errors: [] });
    expect(check('Zoe\u0308').value).toBe('Zoë'); // a decomposed ë becomes the one code point
    expect(check('مهرداد\u200Cی').errors).toEqual([]); // ZWNJ, as Persian writes it
    expect(check('李小龍').errors).toEqual([]);
  });

  it.each([
    ['Latin with accents', 'François Dvořák-Øst'],
    ['Vietnamese', 'Nguyễn Thị Ánh'],
    ['Cyrillic', 'Пётр Чайковский'],
    ['Greek', 'Νίκος Καζαντζάκης'],
    ['Arabic', 'محمد بن عبد الله'],
    ['Hebrew', 'דוד בן־גוריון'],
    ['Persian with ZWNJ', 'نمی\u200Cدانم'],
    ['Devanagari with a virama and ZWJ', 'क्\u200Dष मोदी'],
    ['Zawgyi-encoded Burmese (a spacing vowel sign after a space)', 'ကို \u1031အာင္'],
    ['Tamil typed in visual order (a spacing vowel sign after a space)', 'ராஜா \u0BC6சல்வம்'],
    ['Devanagari with ZWNJ', 'क्\u200Cष'],
    ['Sinhala with ZWJ', 'ශ්\u200Dරී'],
    ['Malayalam with ZWJ', 'ന്\u200D'],
    ['Chinese', '王小明'],
    ['Japanese', 'やまだ タロウ 山田'],
    ['Korean', '김민준'],
    ['Thai', 'สมชาย'],
    ['Thai with two marks on a letter', 'ที่นี่'],
    ['Hebrew with points', 'דָּוִד'],
    ['Tibetan stacks', 'བསྒྲུབས'],
    ['Hindi conjuncts', 'स्त्री'],
    ['Vietnamese with two marks decomposed', 'Nguye\u0302\u0303n'],
    ['six different marks on a letter', 'Bo\u0300\u0301\u0302\u0303\u0304\u0305b'],
    ['Hebrew with points and a cantillation mark', 'שָּֽׁ֣ם'],
    ['Burmese medials with vowels and a tone', 'မွှို့'],
    ['a Tibetan Sanskrit stack', 'ཀྵྨྱཱི'],
    ['Devanagari with a virama and ZWJ after a vowel sign', 'क्\u200Dषि'],
    ['an apostrophe and a hyphen', "O'Brien-Smith"],
  ])('accepts a name in %s', (_what, name) => {
    expect(check(name).errors).toEqual([]);
  });

  it.each([
    ['emoji', 'Pizza 🍕🎉'],
    ['an emoji with a skin tone', 'Thanks 👍🏽'],
    ['an emoji presentation selector', 'Love \u2764\uFE0F'],
    ['a keycap', 'Room 1\uFE0F\u20E3'],
    ['a family (ZWJ sequence)', 'Family 👨\u200D👩\u200D👧'],
    ['a ZWJ sequence after a selector', 'Heart \u2764\uFE0F\u200D🔥'],
    ['a ZWJ sequence with skin tones', '🧑🏽\u200D💻 work'],
    ['a rainbow flag', 'Pride 🏳\uFE0F\u200D🌈'],
    ['a country flag', 'Trip 🇬🇧'],
    ['a text presentation selector', 'Sun \u2600\uFE0E'],
  ])('accepts %s in a reference', (_what, reference) => {
    expect(checkReference(reference)).toEqual([]);
  });

  it.each([
    ['a right-to-left override', 'Bob\u202Eevil'],
    ['a bidirectional isolate', 'Bob\u2067x\u2069'],
    ['a directional mark', 'Bob\u200F'],
    ['a zero-width space', 'Pro\u200Btobank'],
    ['a line break', 'Bob\nSmith'],
    ['a C1 control', 'Bob\u0085'],
    ['a byte-order mark', 'Bo\uFEFFb'],
    ['a soft hyphen', 'Pro\u00ADtobank'],
    ['a line separator', 'Rent\u2028URGENT'],
    ['a paragraph separator', 'Rent\u2029URGENT'],
    ['a tag character', 'Pro\u{E0020}tobank'],
    ['a tag letter', 'Rent\u{E0041}'],
    ['the cancel tag', 'Rent\u{E007F}'],
    ['an unassigned tag code point', 'Rent\u{E0002}'],
    ['the Hangul filler U+3164', 'Pro\u3164Team'],
    ['a blank that is not default-ignorable (BRAILLE PATTERN BLANK U+2800)', '\u2800'],
    ['U+2800 between letters', 'x\u2800\u2800y'],
    ['the object replacement character U+FFFC', '\uFFFC'],
    ['an accent over a space', 'Ann \u0301Lee'],
    ['an accent over an ideographic space', 'Ann\u3000\u0301Lee'],
    ['the half-width Hangul filler U+FFA0', 'Pro\uFFA0Team'],
    ['the Hangul choseong filler U+115F', 'Pro\u115FTeam'],
    ['the Hangul jungseong filler U+1160', 'Pro\u1160Team'],
    ['a variation selector after a letter', 'Pro\uFE00tobank'],
    ['an emoji selector after a letter', 'Protobank\uFE0F'],
    ['a supplementary variation selector', 'Pro\u{E0100}tobank'],
    ['a Mongolian variation selector', 'Pro\u180Btobank'],
    ['the combining grapheme joiner', 'Pro\u034Ftobank'],
    ['an interlinear annotation anchor', 'Pro\uFFF9tobank'],
    ['an interlinear annotation terminator', 'Pro\uFFFBtobank'],
    ['a musical formatting character', 'Pro\u{1D173}tobank'],
    ['a musical end-of-phrase', 'Pro\u{1D17A}tobank'],
    ['a private-use character', 'Pro\uE000tobank'],
    ['a supplementary private-use character', 'Pro\u{F0000}tobank'],
    ['a noncharacter', 'Pro\uFFFEtobank'],
    ['an unassigned code point', 'Pro\u{2FFFF}tobank'],
    ['a word joiner', 'Pro\u2060tobank'],
    ['an invisible separator', 'Pro\u2063tobank'],
    ['the Arabic letter mark', 'Pro\u061Ctobank'],
    ['the Mongolian vowel separator', 'Pro\u180Etobank'],
    ['a ZWJ between Latin letters', 'Pro\u200Dtobank'],
    ['a ZWNJ between Latin letters', 'Pro\u200Ctobank'],
    ['a ZWJ between Cyrillic letters', 'Про\u200Dтобанк'],
    ['a ZWJ between Greek letters', 'Πρω\u200Dτο'],
    ['a ZWJ between Han characters', '李\u200D小龍'],
    ['a ZWJ between Hangul syllables', '김\u200D민준'],
    ['a ZWJ after a space', 'Bob \u200Dx'],
    ['a ZWJ first', '\u200Dक्ष'],
    ['a ZWJ after a digit', 'Ref 1\u200D2'],
    ['two joiners after an Indic letter', 'क्\u200D\u200Dष'],
    ['a selector after a selector', '\u2764\uFE0F\uFE0F'],
    ['a combining mark first', '\u0301Bob'],
    ['a spacing mark first', '\u093EBob'],
    ['an enclosing mark first', '\u20DDBob'],
    ['a mark first once trimmed', ' \u0301Bob'],
    ['the same mark twice', 'Bo\u0301\u0301b'],
    ['the same mark twice over a precomposed letter', 'B\u00F3\u0301b'],
    ['seven marks on a letter', 'Bo\u0300\u0301\u0302\u0303\u0304\u0305\u0306b'],
    ['a stack split by joiners', `B${'\u0300\u0301\u0302\u0303\u200D'.repeat(3)}ob`],
    ['the same mark twice around a joiner', 'Bx\u0301\u200D\u0301b'],
    ['a ZWJ after an accented Latin letter', 'Prox\u0301\u200Dtob'],
    ['a ZWNJ after an accented Latin letter', 'Prox\u0301\u200Ctob'],
    ['an Indic mark on a Latin letter, then ZWJ', 'x\u094D\u200Dy'],
    ['a stack of marks (Zalgo)', `Bo${'\u0300\u0301\u0302\u0303\u0304\u0305'.repeat(2)}`],
  ])('refuses %s, naming the field', (_what, name) => {
    expect(check(name).errors).toEqual([REFUSED]);
  });

  it("refuses the review's reference and name", () => {
    const reference = 'Rent\u2028\u2028URGENT: Protobank Security: call 0800 123 4567\u{E0041}\u3164';
    expect(checkReference(reference)).toEqual([
      'reference must not contain control, bidirectional or invisible characters, nor start with or stack combining marks',
    ]);
    expect(check('Pro\u{E0020}tobank\u3164Fraud').errors).toEqual([REFUSED]);
  });

  it('refuses what is empty once trimmed, too long, or not a string', () => {
    expect(check('   ').errors).toEqual([
      'name must be 1 to 20 characters long, not counting spaces around it',
    ]);
    expect(check('x'.repeat(21)).errors).toHaveLength(1);
    // Too long is all that is said of a string past the limit (it is not scanned: a megabyte costs nothing).
    expect(check(`${'x'.repeat(1e6)}\u202E`).errors).toEqual([
      'name must be 1 to 20 characters long, not counting spaces around it',
    ]);
    expect(check(7).errors).toContain('name must be a string');
  });
});

class Reasoned {
  @IsReason()
  reason: string;
}

const checkReason = (reason: unknown) =>
  validateSync(plainToInstance(Reasoned, { reason })).flatMap((e) => Object.values(e.constraints ?? {}));

describe('IsReason', () => {
  it.each([
    ['a sentence', 'Suspected account takeover: reported by phone'],
    ['three digits', '123'],
    ['a short word in another script', '李小龍'],
    ['letters among punctuation', '... yes!'],
  ])('accepts %s', (_what, reason) => {
    expect(checkReason(reason)).toEqual([]);
  });

  it.each([
    ['dots', '...'],
    ['accents over punctuation', '.\u0301.\u0300.\u0302'],
    ['two letters among punctuation', 'ok!!'],
    ['symbols', '★★★★'],
  ])('refuses %s, saying why', (_what, reason) => {
    expect(checkReason(reason)).toContain('reason must say why in at least three letters or digits');
  });

  it('refuses accents over nothing as IsPlainText does (a mark first)', () => {
    expect(checkReason('\u0301\u0300\u0302')).toEqual([
      'reason must not contain control, bidirectional or invisible characters, nor start with or stack combining marks',
    ]);
  });

  it('still refuses what IsPlainText refuses', () => {
    expect(checkReason('abc\u202Edef')).toEqual([
      'reason must not contain control, bidirectional or invisible characters, nor start with or stack combining marks',
    ]);
    expect(checkReason('ab')).toEqual([expect.stringContaining('must be 3 to 500 characters long')]);
  });
});

describe('displayText', () => {
  it('leaves plain text alone and marks each unsafe character with U+FFFD', () => {
    expect(displayText('Zoë Brontë, مهرداد\u200Cی')).toBe('Zoë Brontë, مهرداد\u200Cی');
    expect(displayText('Bob\u202Eevil\u202C')).toBe('Bob\uFFFDevil\uFFFD');
    expect(displayText('Pro\u200Btobank Fraud Team')).toBe('Pro\uFFFDtobank Fraud Team');
    expect(displayText('Dinner\nCall 0800 now')).toBe('Dinner\uFFFDCall 0800 now');
  });

  it('marks what IsPlainText refuses, and only that', () => {
    expect(displayText('Rent\u2028\u2028URGENT: call 0800\u{E0041}\u3164')).toBe(
      'Rent\uFFFD\uFFFDURGENT: call 0800\uFFFD\uFFFD',
    );
    expect(displayText('Pro\u{E0020}tobank\u3164Fraud Team')).toBe('Pro\uFFFDtobank\uFFFDFraud Team');
    expect(displayText('Pro\u200Dtobank \u115F\u1160\uFFA0\u034F\uFE0F')).toBe(
      'Pro\uFFFDtobank \uFFFD\uFFFD\uFFFD\uFFFD\uFFFD',
    );
    expect(displayText('a\uD800b\uDC00')).toBe('a\uFFFDb\uFFFD'); // lone surrogates
    const fine = 'क्\u200Dष 👨\u200D👩\u200D👧 \u2764\uFE0F 1\uFE0F\u20E3 김민준 ที่ བསྒྲུབས';
    expect(displayText(fine)).toBe(fine);
  });

  it('shows a mark that starts the text on a dotted circle, and a stack of marks as six and U+FFFD', () => {
    expect(displayText('\u0301Rent')).toBe('\u25CC\u0301Rent');
    expect(displayText(`Rent${'\u0300\u0301\u0302\u0303\u0304\u0305'.repeat(3)} due`)).toBe(
      'Rent\u0300\u0301\u0302\u0303\u0304\u0305\uFFFD due',
    );
    const six = 'Bo\u0300\u0301\u0302\u0303\u0304\u0305b';
    expect(displayText(six)).toBe(six);
    // A joiner after a Latin letter's accent shows, and splits nothing it could hide behind.
    expect(displayText('Prox\u0301\u200Dtob')).toBe('Prox\u0301\uFFFDtob');
  });

  it('marks a joiner kept only for what came before it, once that is marked (idempotent)', () => {
    expect(displayText('क\uFE0E\u200D❤')).toBe('क\uFFFD\uFFFD❤');
    expect(displayText('Pro\uFE0F\u200Dtobank')).toBe('Pro\uFFFD\uFFFDtobank');
    expect(displayText('\u{1FC00}\u200D')).toBe('\uFFFD\uFFFD');
    for (const text of ['क\uFE0E\u200D❤', `क${'\u093F\u0947'.repeat(4)}\u200Dष`, '\u0301\u200D']) {
      expect(displayText(displayText(text))).toBe(displayText(text));
    }
  });
});

describe('sanitisedText', () => {
  const hostile = [
    'Bob\u202Eevil\u202C',
    'Pro\u200Btobank',
    '\u2800',
    '\u0301Cafe',
    'Ann \u0301Lee',
    'Cafe\u0301\u0301',
    'e\u0301\u0300\u0302\u0303\u0304\u0305\u0306', // seven marks once decomposed, six as stored
    'TESCO\tSTORES\u0000 3321', // NUL for the function; over HTTP the body check refuses it first
    'Caf\u00e9 \u{E0041}\u20DD',
    'Ann \u0301Lee Cafe\u0301\u0301',
    '\u{1FC00}\u200D', // an unassigned code point before a joiner
  ];

  it('turns whatever a third party sends into text that passes isPlainText', () => {
    for (const text of hostile) {
      expect({ text, plain: isPlainText(text) }).toEqual({ text, plain: false });
      expect({ text, plain: isPlainText(sanitisedText(text)) }).toEqual({ text, plain: true });
    }
  });

  it('leaves plain text unchanged and keeps what it can of the rest', () => {
    const fine = 'Café Müller, क्\u200Dष, 👨\u200D👩 \u2764\uFE0F, நீ';
    expect(sanitisedText(fine)).toBe(fine);
    expect(sanitisedText('Bob\u202Eevil\u202C')).toBe('Bob\uFFFDevil\uFFFD');
    expect(sanitisedText('Ann \u0301Lee')).toBe('Ann \u25CC\u0301Lee');
    // A doubled mark is kept once, a run cut to six, and nothing else in the text is touched.
    expect(sanitisedText('Cafe\u0301\u0301')).toBe('Café');
    expect(sanitisedText('Ann \u0301Lee Cafe\u0301\u0301 क्षत्रिय')).toBe('Ann \u25CC\u0301Lee Café क्षत्रिय');
    expect(sanitisedText(`Bar${'\u0300\u0301\u0302\u0303\u0304\u0305\u0306'.repeat(2)}`)).toBe(
      'Bar\u0300\u0301\u0302\u0303\u0304\u0305\uFFFD',
    );
  });
});

describe('IsThirdPartyText', () => {
  class Merchant {
    @IsThirdPartyText(1, 25)
    name: string;
  }
  const take = (name: unknown) => {
    const value = plainToInstance(Merchant, { name });
    return {
      value: value.name,
      errors: validateSync(value).flatMap((e) => Object.values(e.constraints ?? {})),
    };
  };

  it('takes hidden characters and misplaced marks as shown, rather than refusing them', () => {
    expect(take('  STARBUCKS\u200B 123 ')).toEqual({ value: 'STARBUCKS\uFFFD 123', errors: [] });
    expect(take('Ann \u0301Lee')).toEqual({ value: 'Ann \u25CC\u0301Lee', errors: [] });
  });

  it('cuts text to its first max characters, also when sanitising lengthened it, and to at most 2 × max UTF-16 units', () => {
    expect(take('x'.repeat(26))).toEqual({ value: 'x'.repeat(25), errors: [] });
    expect(take(`${'x'.repeat(24)} tail`)).toEqual({ value: 'x'.repeat(24), errors: [] }); // no space left at the end
    expect(take(`${'X'.repeat(23)} \u0301`)).toEqual({ value: `${'X'.repeat(23)} \u25CC`, errors: [] });
    const emoji = take('😀\uFE0F'.repeat(100));
    expect(emoji.errors).toEqual([]);
    expect(emoji.value.length).toBeLessThanOrEqual(50);
    expect(take('x'.repeat(1_000_000)).value).toBe('x'.repeat(25));
  });

  it('still refuses what is not a name: no string, or empty once trimmed', () => {
    expect(take(42).errors).toEqual(expect.arrayContaining([expect.stringContaining('must be a string')]));
    expect(take('   ').errors).toEqual([expect.stringContaining('must be 1 to 25 characters long')]);
  });
});

describe('validatedLength', () => {
  it('counts as Length (validator.js isLength) counts: a surrogate pair and a presentation selector are no extra', () => {
    for (const text of [
      'abc',
      '😀',
      '😀\uFE0F',
      'a\uFE0F\uFE0F\uFE0F',
      '\u{E0041}x',
      '\uD800',
      'é',
      '👨\u200D👩',
    ]) {
      const n = validatedLength(text);
      expect({ text, fits: isLength(text, { min: n, max: n }) }).toEqual({ text, fits: true });
    }
  });

  it('lets no text of max characters but more UTF-16 units past the hidden-character check', () => {
    expect(check('Bob\u202E' + '🙂'.repeat(15)).errors).toEqual([REFUSED]);
    expect(check('Bob' + '\u{E0041}'.repeat(17)).errors).toEqual([REFUSED]);
    // Nor a reason of symbols alone past the word check.
    expect(checkReason('🙂'.repeat(251))).toEqual([
      'reason must say why in at least three letters or digits',
    ]);
  });
});
