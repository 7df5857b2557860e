import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { IsPersonName } from './person-name';

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
  it('stores styled and full-width letters as the letters they are drawn from', () => {
    expect(check('  𝐉ones ')).toEqual({ value: 'Jones', errors: [] });
    expect(check('Ａｌｉｃｅ Ｊｏｎｅｓ')).toEqual({ value: 'Alice Jones', errors: [] });
    expect(check('ﬁona')).toEqual({ value: 'fiona', errors: [] });
    // Accented letters stay accented, composed (NFC is part of NFKC).
    expect(check('Zoe\u0308 Brontë')).toEqual({ value: 'Zoë Brontë', errors: [] });
  });

  it('refuses a word mixing scripts, as a Cyrillic "а" in a Latin name', () => {
    expect(check('Iv\u0430n Petrov').errors).toEqual(['isSingleScriptName']);
    expect(check('Ivan P\u0435tr\u043ev').errors).toEqual(['isSingleScriptName']);
    expect(check('Ρaul').errors).toEqual(['isSingleScriptName']); // a Greek capital rho
  });

  it('takes a name wholly in one script, words in different scripts, and the mixes Asian names use', () => {
    for (const name of [
      'Иван Петров',
      'Ελένη Παππά',
      '山田 太郎',
      '김민준',
      'Anna Иванова',
      "O'Neill-Brontë",
    ]) {
      expect(check(name)).toEqual({ value: name, errors: [] });
    }
  });

  it('reports the first thing wrong only: hidden characters and length before scripts', () => {
    expect(check('Iv\u0430n\u200b').errors).toEqual(['isPlainText']);
    expect(check('Iv\u0430n'.repeat(6)).errors).toEqual(['isLength']);
  });
});
