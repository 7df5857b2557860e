import { verify } from '@node-rs/argon2';
import { checkPassword, hashPassword } from './passwords';

// The real argon2, with verify() observed.
jest.mock('@node-rs/argon2', () => {
  const actual = jest.requireActual<typeof import('@node-rs/argon2')>('@node-rs/argon2');
  return {
    ...actual,
    verify: jest.fn((...args: Parameters<typeof actual.verify>) => actual.verify(...args)),
  };
});

describe('checkPassword', () => {
  it('verifies against a dummy hash of the same cost when there is no user, so both cost the same', async () => {
    const stored = await hashPassword('correct horse battery staple');
    const spy = jest.mocked(verify);
    spy.mockClear();
    await expect(checkPassword(stored, 'wrong password')).resolves.toBe(false);
    await expect(checkPassword(undefined, 'correct horse battery staple')).resolves.toBe(false);
    expect(spy).toHaveBeenCalledTimes(2);
    const [known, unknown] = spy.mock.calls.map(([hash]) => String(hash));
    // Same algorithm and parameters: the same work, whichever branch ran.
    const params = (h: string) => h.split('$').slice(1, 4).join('$');
    expect(params(unknown)).toBe(params(known));
    expect(params(known)).toBe('argon2id$v=19$m=19456,t=2,p=1');
  });

  it('accepts the right password', async () => {
    await expect(
      checkPassword(await hashPassword('correct horse battery staple'), 'correct horse battery staple'),
    ).resolves.toBe(true);
  });
});
