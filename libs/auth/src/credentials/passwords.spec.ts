import { hash, verify } from '@node-rs/argon2';
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

  it('takes a password in any Unicode spelling of it (NFKC): one accent typed apart, full-width digits', async () => {
    const stored = await hashPassword('Crème brûlée 2026');
    await expect(checkPassword(stored, 'Cre\u0300me bru\u0302le\u0301e 2026')).resolves.toBe(true);
    await expect(checkPassword(stored, 'Crème brûlée ２０２６')).resolves.toBe(true);
    await expect(checkPassword(stored, 'Creme brulee 2026')).resolves.toBe(false);
  });

  it('still takes a password hashed as typed before passwords were normalised, and only that one', async () => {
    const typed = 'Cre\u0300me bru\u0302le\u0301e 2026';
    const legacy = await hash(typed, { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 });
    await expect(checkPassword(legacy, typed)).resolves.toBe(true);
    await expect(checkPassword(legacy, 'Cre\u0300me bru\u0302le\u0301e 2027')).resolves.toBe(false);
  });

  it('does the same work for no user as for a wrong password in a form NFKC changes', async () => {
    const stored = await hashPassword('correct horse battery staple');
    const spy = jest.mocked(verify);
    spy.mockClear();
    await expect(checkPassword(stored, 'wrong ﬁle password')).resolves.toBe(false);
    const known = spy.mock.calls.length;
    spy.mockClear();
    await expect(checkPassword(undefined, 'wrong ﬁle password')).resolves.toBe(false);
    expect([known, spy.mock.calls.length]).toEqual([2, 2]);
  });
});
