import type { DaySummary } from '../summaries/day-summary';
import { compareMonths } from './month-comparison';

const out = (day: string, category: string, amount: bigint, currency = 'GBP'): DaySummary => ({
  day,
  rows: [{ currency, direction: 'out', category, merchant: '', amount, count: 1 }],
});

describe('compareMonths', () => {
  it('sets this month against last per currency and category, with the change', () => {
    const result = compareMonths(
      [
        out('2026-10-03', 'groceries', 4000n),
        out('2026-11-04', 'groceries', 5200n),
        out('2026-11-05', 'transport', 300n),
        out('2026-10-09', 'fees', 3n),
        out('2026-11-09', 'fees', 4n),
        out('2026-11-01', 'groceries', 900n, 'EUR'),
        out('2026-09-30', 'groceries', 999999n),
      ],
      '2026-11',
      '2026-10',
    );
    expect(result.get('GBP')).toEqual([
      expect.objectContaining({
        category: 'groceries',
        this_month_out: 5200,
        last_month_out: 4000,
        change_out: 1200,
        change_out_percent: 30,
      }),
      expect.objectContaining({ category: 'transport', change_out: 300, change_out_percent: null }),
      // 1/3 = 33.3%, rounded.
      expect.objectContaining({ category: 'fees', change_out: 1, change_out_percent: 33 }),
    ]);
    expect(result.get('EUR')).toEqual([
      expect.objectContaining({ category: 'groceries', this_month_out: 900 }),
    ]);
  });

  it('rounds percentages half away from zero', () => {
    const down = compareMonths(
      [out('2026-10-01', 'x', 200n), out('2026-11-01', 'x', 199n)],
      '2026-11',
      '2026-10',
    );
    expect(down.get('GBP')?.[0].change_out_percent).toBe(-1);
  });
});
