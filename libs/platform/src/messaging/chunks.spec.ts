import { chunksOf } from './chunks';

describe('chunksOf', () => {
  it('keeps every item once, in order, in slices of at most the size', () => {
    const items = Array.from({ length: 250 }, (_, i) => i);
    const chunks = chunksOf(items, 100);
    expect(chunks.map((c) => c.length)).toEqual([100, 100, 50]);
    expect(chunks.flat()).toEqual(items);
  });

  it('gives one slice when the items fit, none when there are none', () => {
    expect(chunksOf(['a', 'b'], 100)).toEqual([['a', 'b']]);
    expect(chunksOf([], 100)).toEqual([]);
  });

  it('gives exact slices when the size divides the count', () => {
    expect(chunksOf([1, 2, 3, 4], 2)).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses a size of %p (it would loop for ever or drop items)', (size) => {
    expect(() => chunksOf([1], size)).toThrow(RangeError);
  });
});
