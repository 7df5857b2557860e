import { decode, encode } from './codec';

describe('wire codec', () => {
  it('keeps bigint exact, also beyond 2^53 and nested', () => {
    const value = {
      amount: 9_007_199_254_740_993n,
      lines: [{ minor: -1n }],
      currency: 'GBP',
      n: 1.5,
      none: null,
    };
    expect(decode(encode(value))).toEqual(value);
  });

  it('leaves an object that merely has a $bigint key among others alone', () => {
    const value = { $bigint: '1', other: true };
    expect(decode(encode(value))).toEqual(value);
  });
});
