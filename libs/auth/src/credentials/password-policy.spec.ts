import { AppError } from '@protobank/platform';
import { assertPasswordPolicy } from './password-policy';

const problem = (password: string, email = 'alice@example.com') => {
  try {
    assertPasswordPolicy(password, email);
    return 'ok';
  } catch (err) {
    return (err as AppError).details[0]?.message;
  }
};

describe('password policy', () => {
  it('accepts a long, uncommon passphrase', () => {
    expect(problem('correct horse battery staple')).toBe('ok');
  });

  it('refuses short passwords, the e-mail, and common passwords in any case', () => {
    expect(problem('short1')).toBe('password must be at least 12 characters');
    expect(problem('my alice@example.com pass')).toBe('password must not contain the e-mail');
    expect(problem('123qweasdzxc')).toBe('password is one of the most common passwords');
    expect(problem('1QAZ2WSX3EDC')).toBe('password is one of the most common passwords');
  });

  it('counts characters, not UTF-16 units, and wants at least 5 different ones', () => {
    expect(problem(' '.repeat(12))).toBe('password must use at least 5 different characters');
    expect(problem('abcdabcdabcd')).toBe('password must use at least 5 different characters');
    expect(problem('abcdeabcdeab')).toBe('ok');
    // Six emoji are twelve UTF-16 units but six characters.
    expect(problem('🔑🔒🏦💷🪙🧾')).toBe('password must be at least 12 characters');
  });

  it('judges the password as it is hashed (NFKC): an accent typed apart is no extra character', () => {
    // Twelve code points, eleven characters once the accent joins its e.
    expect(problem('Crème brûl\u0065\u0301')).toBe('password must be at least 12 characters');
    expect(problem('Crème brûlée!')).toBe('ok');
    // A common password in full-width letters is that password.
    expect(problem('１２３ｑｗｅａｓｄｚｘｃ')).toBe('password is one of the most common passwords');
    // One character NFKC spells out as many is still one character, twelve times.
    expect(problem('\uFDFA'.repeat(12))).toBe('password must use at least 5 different characters');
    expect(problem('\u3307'.repeat(12))).toBe('password must use at least 5 different characters');
  });

  it('finds the e-mail in a full-width spelling too', () => {
    const fullWidth = [...'alice@example.com']
      .map((c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0))
      .join('');
    expect(problem(`my ${fullWidth} pass`)).toBe('password must not contain the e-mail');
    // Mathematical bold capital A folds to a capital: lowered after folding.
    expect(problem('my 𝐀lice@example.com pass')).toBe('password must not contain the e-mail');
  });

  it('finds the e-mail with invisible characters inside it (zero-width space and joiner, soft hyphen)', () => {
    for (const invisible of ['\u200b', '\u200d', '\u00ad', '\u2060']) {
      expect(problem(`xx a${invisible}lice@exam${invisible}ple.com`)).toBe(
        'password must not contain the e-mail',
      );
    }
  });

  it('names the field it is given (new_password for a change)', () => {
    try {
      assertPasswordPolicy('short1', 'alice@example.com', 'new_password');
      throw new Error('accepted');
    } catch (err) {
      expect((err as AppError).message).toBe('new_password must be at least 12 characters');
      expect((err as AppError).details).toEqual([
        { field: 'new_password', message: 'new_password must be at least 12 characters' },
      ]);
    }
  });
});
