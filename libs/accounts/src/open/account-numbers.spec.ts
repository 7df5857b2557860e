import { isValidAccountNumber } from '@protobank/contracts';
import { randomAccountNumber, withFreshNumber } from './account-numbers';

const SORT = '990001';
const taken = () =>
  Object.assign(new Error('duplicate key'), { code: '23505', constraint: 'accounts_number_unique' });

describe('randomAccountNumber', () => {
  it('draws numbers that pass the check digit, with no order between one and the next', () => {
    const numbers = Array.from({ length: 2000 }, () => randomAccountNumber(SORT));
    expect(numbers.every((n) => /^\d{8}$/.test(n) && isValidAccountNumber(SORT, n))).toBe(true);
    expect(new Set(numbers).size).toBeGreaterThan(1990); // ~0.2 collisions expected among 2000 of 9.1M
    const serials = numbers.map((n) => Number(n.slice(0, 7)));
    const steps = serials.slice(1).map((s, i) => Math.abs(s - serials[i]));
    // Sequential numbering steps by 1 or 2; uniform draws step by about a third of the range.
    expect(steps.filter((d) => d <= 1000).length).toBeLessThan(10);
    expect(Math.min(...serials)).toBeLessThan(1_000_000);
    expect(Math.max(...serials)).toBeGreaterThan(9_000_000);
  });

  it('draws again when a serial cannot carry a check digit', () => {
    // Serial 8 at this sort code would need check digit 10; 9 has one.
    const draws = [8, 9];
    const n = randomAccountNumber(SORT, () => draws.shift()!);
    expect(draws).toEqual([]);
    expect(n.slice(0, 7)).toBe('0000009');
    expect(isValidAccountNumber(SORT, n)).toBe(true);
  });
});

describe('withFreshNumber', () => {
  it('draws a new number while the unique index refuses one', async () => {
    const tried: string[] = [];
    const numbers = ['11111111', '22222222', '33333333'];
    const result = await withFreshNumber(
      () => numbers.shift()!,
      async (n) => {
        tried.push(n);
        if (tried.length < 3) throw taken();
        return n;
      },
    );
    expect([result, tried]).toEqual(['33333333', ['11111111', '22222222', '33333333']]);
  });

  it('gives up after its attempts, and never retries another error', async () => {
    let calls = 0;
    const always = withFreshNumber(
      () => '11111111',
      async () => {
        calls++;
        throw taken();
      },
      3,
    );
    await expect(always).rejects.toMatchObject({ code: '23505' });
    expect(calls).toBe(3);
    calls = 0;
    const other = withFreshNumber(
      () => '11111111',
      async () => {
        calls++;
        throw Object.assign(new Error('x'), { code: '23505', constraint: 'accounts_pkey' });
      },
    );
    await expect(other).rejects.toThrow('x');
    expect(calls).toBe(1);
  });
});
