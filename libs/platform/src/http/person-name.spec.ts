import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { IsPersonName, nameProblem, normaliseName } from './person-name';

class WithName {
  @IsPersonName(20)
  full_name: string;
}

const check = (full_name: unknown) => {
  const value = plainToInstance(WithName, { full_name });
  return {
    value: value.full_name,
    errors: validateSync(value).flatMap((e) => Object.keys(e.constraints ?? {})),
  };
};

describe('person names', () => {
  it('stores styled and full-width letters as the letters they are drawn from, and spaces as one space', () => {
    expect(check('  𝐉ones ')).toEqual({ value: 'Jones', errors: [] });
    expect(check('Ａｌｉｃｅ Ｊｏｎｅｓ')).toEqual({ value: 'Alice Jones', errors: [] });
    expect(check('Alice\u00A0\u3000 Jones')).toEqual({ value: 'Alice Jones', errors: [] });
    // Accented letters stay accented, composed (NFC).
    expect(check('Zoe\u0308 Brontë')).toEqual({ value: 'Zoë Brontë', errors: [] });
    // An accent or prime typed for an apostrophe is one.
    expect(check('Seán O´Brien')).toEqual({ value: "Seán O'Brien", errors: [] });
  });

  it('keeps the letters names are written with as they are (no NFKC of the whole name)', () => {
    for (const name of ['คำดี น้ำฝน', 'Ĳsbrand', 'Mª Lopez', 'Mµller', 'ﬁona', 'Jean-Luc Picard']) {
      expect(check(name)).toEqual({ value: name, errors: [] });
    }
  });

  it('refuses a word mixing scripts, as a Cyrillic "а" in a Latin name', () => {
    expect(check('Iv\u0430n Petrov').errors).toEqual(['isPersonName']);
    expect(check('Ivan P\u0435tr\u043ev').errors).toEqual(['isPersonName']);
    expect(check('Ρaul').errors).toEqual(['isPersonName']); // a Greek capital rho
    expect(nameProblem('Iv\u0430n')).toContain('one script');
  });

  it('refuses symbols, and letters of scripts no identity document is written in', () => {
    expect(check('Iv∧n P℮tr○v').errors).toEqual(['isPersonName']);
    expect(nameProblem('Ⓘvan')).toContain('letters (with their accents)');
    // Lisu capitals drawn as Latin ones ("IVAN PETROV"), and Tifinagh.
    expect(nameProblem('ꓲꓦꓮꓠ ꓑꓰꓔꓣꓳꓦ')).toContain('a script identity documents are written in');
    expect(nameProblem('ⵉⵖⵔⴰⵎ')).toContain('a script identity documents are written in');
    // The Ogham space mark is a space like any other: stored as one, the words judged apart.
    expect(normaliseName('Iv\u1680\u0430n')).toBe('Iv \u0430n');
  });

  it('takes a name wholly in one script, words in different scripts, and the mixes Asian names use', () => {
    for (const name of [
      'Иван Петров',
      'Ελένη Παππά',
      '山田 太郎',
      'やまだ・たろう',
      '김민준',
      'Anna Иванова',
    ]) {
      expect(check(name)).toEqual({ value: name, errors: [] });
    }
    expect(check("O'Neill-Brontë Jr.")).toEqual({ value: "O'Neill-Brontë Jr.", errors: [] });
  });

  it('takes the joiners Persian, Indic and Sinhala names need, the en dash and the Hebrew geresh', () => {
    for (const name of ['علی\u200Cرضا', 'ශ්\u200Dරී', 'Smith–Jones', 'ג׳ורג׳']) {
      expect(check(name)).toEqual({ value: name, errors: [] });
    }
  });

  it('folds the letterlike symbols and half-width kana, and composes accents after a folded letter', () => {
    expect(check('\u{1D43D}\u{1D45C}\u210E\u{1D45B}')).toEqual({ value: 'John', errors: [] });
    expect(check('Petr\u2134v')).toEqual({ value: 'Petrov', errors: [] });
    expect(check('Ｊｏｓｅ\u0301')).toEqual({ value: 'José', errors: [] });
    expect(check('ﾔﾏﾀﾞ･ﾀﾛｳ')).toEqual({ value: 'ヤマダ・タロウ', errors: [] });
  });

  it('refuses marks that draw symbols over letters, and a name with no letter', () => {
    expect(nameProblem('Petr\u20DDv')).toContain('letters (with their accents)');
    expect(nameProblem('Iv\u0338an')).toContain('letters (with their accents)');
    expect(nameProblem('12345')).toBe('must hold at least one letter');
    expect(nameProblem('...')).toBe('must hold at least one letter');
  });

  it('reports the first thing wrong only: hidden characters and length before the name rules', () => {
    expect(check('Iv\u0430n\u200b').errors).toEqual(['isPlainText']);
    expect(check('Iv\u0430n'.repeat(6)).errors).toEqual(['isLength']);
    expect(check('  ').errors).toEqual(['isLength']);
  });
});
