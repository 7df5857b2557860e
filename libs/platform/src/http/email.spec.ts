import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { IsEmailAddress, IsNewEmailAddress, mixesScripts, normaliseEmail } from './email';

class WithEmail {
  @IsEmailAddress()
  email: string;
}

class WithNewEmail {
  @IsNewEmailAddress()
  email: string;
}

const check = (email: unknown) => {
  const value = plainToInstance(WithEmail, { email });
  return {
    value: value.email,
    errors: validateSync(value).flatMap((e) =>
      Object.keys(e.constraints ?? {}).map((k) => `${e.property}:${k}`),
    ),
  };
};

describe('e-mail addresses', () => {
  it('normalises full-width letters, case and surrounding space to one form', () => {
    expect(normaliseEmail(' ＡＬＩＣＥ@Example.COM ')).toBe('alice@example.com');
    expect(normaliseEmail('ａｌｉｃｅ@ｅｘａｍｐｌｅ．ｃｏｍ')).toBe('alice@example.com');
    expect(normaliseEmail('ﬁona@example.com')).toBe('fiona@example.com'); // the ligature, as its letters
    expect(check('  Alice@Example.com')).toEqual({ value: 'alice@example.com', errors: [] });
    expect(check('ａｌｉｃｅ@example.com')).toEqual({ value: 'alice@example.com', errors: [] });
  });

  it("writes a domain's IDNA labels (xn--…) as they read, so both spellings of a mailbox are one address", () => {
    expect(normaliseEmail('Ann@XN--BCHER-KVA.test')).toBe('ann@bücher.test');
    expect(normaliseEmail('ann@mail.xn--bcher-kva.xn--p1ai')).toBe('ann@mail.bücher.рф');
    expect(check('ann@xn--bcher-kva.test')).toEqual({ value: 'ann@bücher.test', errors: [] });
    // The local part is not a domain: its text is kept as typed.
    expect(normaliseEmail('xn--bcher-kva@example.com')).toBe('xn--bcher-kva@example.com');
    // A label that is not valid IDNA stays as it came.
    expect(normaliseEmail('ann@xn--.test')).toBe('ann@xn--.test');
    for (const email of ['ann@xn--bcher-kva.test', 'Ann@Bücher.test', 'ann@xn--zzz.example']) {
      expect(normaliseEmail(normaliseEmail(email))).toBe(normaliseEmail(email));
    }
    // Read only where the label is the IDNA encoding of letters beyond ASCII and the result still an
    // address (helper-135): a label decoding to another xn-- label or to ASCII stays, so nothing is read
    // twice; so does one that would read as an emoji or one-letter top-level label.
    for (const email of [
      'alice@xn--xn--pypal-4ve-.com',
      'victim@xn--xn--bcher-kva-.test',
      'ann@xn--paypal-.com',
      'ann@example.xn--ls8h',
      'ann@xn--1ca',
    ]) {
      expect({ email, normalised: normaliseEmail(email) }).toEqual({ email, normalised: email });
    }
    expect(normaliseEmail('ann@xn--ls8h.ws')).toBe('ann@💩.ws');
    // What the ASCII form hid is judged as it reads: a Cyrillic "а" in "pаypal" (xn--pypal-4ve).
    const register = (email: string) =>
      validateSync(plainToInstance(WithNewEmail, { email })).flatMap((e) => Object.keys(e.constraints ?? {}));
    expect(register('alice@xn--pypal-4ve.com')).toEqual(['isSingleScript']);
    // Nested, it is not read at all, so nothing unjudged is stored: the service normalises again.
    expect(normaliseEmail(normaliseEmail('alice@xn--xn--pypal-4ve-.com'))).toBe(
      'alice@xn--xn--pypal-4ve-.com',
    );
  });

  it('registers no address with an ideographic full stop (mailers read it as a dot); one stored before still signs in', () => {
    const register = (email: string) =>
      validateSync(plainToInstance(WithNewEmail, { email })).flatMap((e) =>
        Object.values(e.constraints ?? {}),
      );
    // "a.test。" is sent to "a.test.", the fully qualified name of a.test: a second account for its mailbox.
    for (const email of [
      'alice@a.test\u3002',
      'alice@a\u3002test',
      'dave@a.test\uFF61 ',
      'a\u3002b@x.test',
    ]) {
      expect(register(email)).toContain('email must write its dots as "." (not "。")');
    }
    expect(check('alice@a.test\u3002')).toEqual({ value: 'alice@a.test\u3002', errors: [] });
  });

  it.each([
    ['a zero-width space', 'ali\u200Bce@example.com'],
    ['a zero-width joiner', 'ali\u200Dce@example.com'],
    ['a right-to-left override', 'alice\u202E@example.com'],
    ['a soft hyphen', 'ali\u00ADce@example.com'],
    ['a no-break space inside', 'ali\u00A0ce@example.com'],
    ['a word joiner', 'alice@exam\u2060ple.com'],
    ['a Hangul filler', 'alice\u3164@example.com'],
    ['a variation selector', 'alice\uFE0F@example.com'],
    ['a tag character', 'alice\u{E0041}@example.com'],
    ['a control character', 'alice\u0007@example.com'],
    ['a line separator', 'alice\u2028@example.com'],
    ['a paragraph separator', 'alice@example.com\u2029x'],
    ['the combining grapheme joiner', 'ali\u034Fce@example.com'],
    ['an interlinear annotation character', 'ali\uFFF9ce@example.com'],
    ['a musical formatting character', 'ali\u{1D173}ce@example.com'],
    ['a private-use character', 'ali\uE000ce@example.com'],
    ['a zero-width non-joiner', 'ali\u200Cce@example.com'],
    ['a joiner between Indic letters (allowed in names)', 'क्\u200Dष@example.com'],
    ['an emoji selector after an emoji (allowed in names)', '\u2764\uFE0F@example.com'],
  ])('refuses %s, naming the field', (_what, email) => {
    expect(check(email).errors).toContain('email:matches');
  });

  it('registers only plain addresses: no quoted local part, % or ! (a login still takes them)', () => {
    const register = (email: string) =>
      validateSync(plainToInstance(WithNewEmail, { email })).flatMap((e) => Object.keys(e.constraints ?? {}));
    for (const email of ['"evil@attacker.test"@x1.test', 'evil%attacker.test@x.test', 'host!evil@x.test']) {
      expect(register(email)).toEqual(['matches']);
      expect(check(email).errors).toEqual([]);
    }
    expect(register("o'brien+bank@example.com")).toEqual([]);
  });

  it('registers no address mixing scripts in one part (a look-alike of another); a login still takes one', () => {
    const register = (email: string) =>
      validateSync(plainToInstance(WithNewEmail, { email })).flatMap((e) => Object.keys(e.constraints ?? {}));
    for (const email of [
      'p\u0430ypal@example.com', // a Cyrillic "а" among Latin letters
      'alice@ex\u0430mple.com', // in a domain label
      '\u03BFlga@example.com', // a Greek omicron
      'alice@example.c\u043Em', // in the top-level label
      '\u0561lice@example.com', // an Armenian "ա"
      'Ꭺlice@example.com', // a Cherokee letter
      'иван\u0430bc@example.com', // Cyrillic with Latin in a mostly Cyrillic part
    ]) {
      expect({ email, refused: register(email) }).toEqual({ email, refused: ['isSingleScript'] });
      expect(check(email).errors).toEqual([]);
    }
    for (const email of [
      "o'brien+bank@example.com",
      'иван@пример.рф', // one script in every part
      'ivan@пример.рф', // the local part and each label judged apart
      'γιώργος@example.gr', // Greek with its accents (folded into letters by NFKC, or combining marks)
      '山田たろう@example.jp', // Han and Hiragana, as Japanese is written
      'tanaka山田@example.jp', // Latin with Han: allowed as in UTS #39's highly restrictive level
      '김민수2026@example.kr',
      'zoe\u0308@example.com', // a combining mark belongs to the letter's script
      'user-1.name_2@sub-domain.example.com',
    ]) {
      expect({ email, refused: register(email) }).toEqual({ email, refused: [] });
    }
    // Too long to be an address: refused by its length alone, without a look at its scripts.
    expect(register(`${'p\u0430'.repeat(200_000)}@example.com`)).not.toContain('isSingleScript');
    expect(mixesScripts('пример')).toBe(false);
    expect(mixesScripts('p\u0430ypal')).toBe(true);
    expect(mixesScripts('山田\u0430')).toBe(true); // Cyrillic is in no allowed mix
    expect(mixesScripts('한국\u3042')).toBe(true); // Hangul with Hiragana: two allowed mixes, neither holds both
  });

  it('refuses what is not an address, or too long', () => {
    expect(check('alice').errors).toEqual(['email:isEmail']);
    expect(check(`${'a'.repeat(250)}@example.com`).errors).toContain('email:maxLength');
    expect(check(7).errors).toContain('email:isString');
  });

  it('refuses a very long string as it came, without expanding it first', () => {
    // NFKC makes each U+FDFA 18 characters: 349,000 of them (a 1 MB body) would become 6.3 million.
    const long = check('\uFDFA'.repeat(349000));
    expect((long.value as string).length).toBe(349000);
    expect(long.errors).toContain('email:maxLength');
    // Up to a few times the longest address, space around it is still trimmed.
    expect(check(`${' '.repeat(700)}alice@example.com `)).toEqual({ value: 'alice@example.com', errors: [] });
  });
});
