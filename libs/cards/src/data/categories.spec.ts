import { CATEGORY_GROUPS, categoryOf } from './categories';

describe('merchant categories', () => {
  it.each([
    ['7995', 'gambling'],
    ['5411', 'groceries'],
    ['5412', 'groceries'],
    ['5812', 'eating_out'],
    ['5814', 'eating_out'],
    ['4111', 'transport'],
    ['4121', 'transport'],
    ['5541', 'fuel'],
    ['5542', 'fuel'],
    ['6011', 'cash'],
    ['5311', 'shopping'],
    ['5399', 'shopping'],
    ['5999', 'shopping'],
  ])('maps MCC %s to %s', (mcc, group) => {
    expect(categoryOf(mcc)).toBe(group);
  });

  it('maps unknown and malformed codes to other', () => {
    for (const mcc of ['0000', '1234', '', 'abcd', '59999', '__proto__', 'constructor']) {
      expect(categoryOf(mcc)).toBe('other');
    }
  });

  it('only ever answers a listed group', () => {
    for (let i = 0; i < 10000; i++) {
      expect(CATEGORY_GROUPS).toContain(categoryOf(String(i).padStart(4, '0')));
    }
  });
});
