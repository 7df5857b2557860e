import { codeMessage } from './phone-code';

describe('phone codes', () => {
  it('say how long the code lasts and that the bank never asks for it', () => {
    expect(codeMessage('012345')).toBe(
      'Your Protobank code is 012345. It confirms this number for your account and expires in 10 minutes. We will never ask you for it.',
    );
  });
});
