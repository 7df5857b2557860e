import { bucketsBetween } from './calendar';
import { decodeDay, encodeDay, type DaySummary, type RollupRow } from './day-summary';
import { totalsByCurrency } from './totals';

const row = (r: Partial<RollupRow>): RollupRow => ({
  currency: 'GBP',
  direction: 'out',
  category: 'groceries',
  merchant: '',
  amount: 100n,
  count: 1,
  ...r,
});

const days: DaySummary[] = [
  {
    day: '2026-11-01',
    rows: [
      row({ direction: 'in', category: 'deposits', amount: 100000n }),
      row({ merchant: 'Tesco', amount: 2550n }),
      row({ currency: 'JPY', direction: 'in', category: 'deposits', amount: 5000n }),
    ],
  },
  {
    day: '2026-11-02',
    rows: [row({ merchant: 'Tesco', amount: 450n, count: 2 }), row({ merchant: 'Aldi' })],
  },
  { day: '2026-11-03', rows: [] },
];

describe('totalsByCurrency', () => {
  it('adds up per currency, never across', () => {
    const [gbp, jpy] = totalsByCurrency(days, bucketsBetween('2026-11-01', '2026-11-03', 'day'));
    expect(gbp).toMatchObject({ currency: 'GBP', money_in: 100000, money_out: 3100, net: 96900, count: 5 });
    expect(jpy).toMatchObject({ currency: 'JPY', money_in: 5000, money_out: 0, net: 5000, count: 1 });
    expect(gbp.by_category).toEqual([
      { category: 'groceries', money_in: 0, money_out: 3100, count: 4 },
      { category: 'deposits', money_in: 100000, money_out: 0, count: 1 },
    ]);
    expect(gbp.by_merchant.map((m) => [m.merchant, m.money_out, m.count])).toEqual([
      ['Tesco', 3000, 3],
      ['Aldi', 100, 1],
    ]);
    expect(jpy.top_merchants).toEqual([]);
  });

  it('fills every bucket of the series, empty ones too', () => {
    const [gbp] = totalsByCurrency(days, bucketsBetween('2026-10-30', '2026-11-03', 'week'));
    expect(gbp.series).toEqual([
      { start: '2026-10-30', end: '2026-11-01', money_in: 100000, money_out: 2550, count: 2 },
      { start: '2026-11-02', end: '2026-11-03', money_in: 0, money_out: 550, count: 3 },
    ]);
  });

  it('keeps the top five merchants by money out', () => {
    const many = Array.from({ length: 7 }, (_, i) => row({ merchant: `M${i}`, amount: BigInt(10 + i) }));
    const [gbp] = totalsByCurrency(
      [{ day: '2026-11-01', rows: many }],
      bucketsBetween('2026-11-01', '2026-11-01', 'day'),
    );
    expect(gbp.top_merchants.map((m) => m.merchant)).toEqual(['M6', 'M5', 'M4', 'M3', 'M2']);
  });
});

describe('cached day summaries', () => {
  it('round-trip exactly, and are ignored below the generation floor or when unreadable', () => {
    const raw = encodeDay(days[0], { generation: 2, version: 7 });
    expect(decodeDay('2026-11-01', raw, 2)).toEqual(days[0]);
    expect(decodeDay('2026-11-01', raw, 3)).toBeUndefined();
    expect(decodeDay('2026-11-01', '{not json', 0)).toBeUndefined();
    expect(decodeDay('2026-11-01', null, 0)).toBeUndefined();
  });
});
