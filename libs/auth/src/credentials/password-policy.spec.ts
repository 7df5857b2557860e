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
});
