import {
  addMonths,
  bucketOf,
  bucketsBetween,
  dayCount,
  daysBetween,
  isDay,
  isMonth,
  monthBounds,
} from './calendar';

describe('calendar (UTC)', () => {
  it('accepts real days from 1970 on only', () => {
    expect(['2026-02-28', '2024-02-29', '1970-01-01', '9999-12-31'].map(isDay)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(['2026-02-29', '2026-13-01', '1969-12-31', '2026-1-01', '0000-01-01', ''].map(isDay)).toEqual(
      Array(6).fill(false),
    );
    expect(['2026-12', '1970-01'].map(isMonth)).toEqual([true, true]);
    expect(['2026-13', '2026-00', '1969-12', '0000-01'].map(isMonth)).toEqual([false, false, false, false]);
  });

  it('starts weeks on Monday and months on the first', () => {
    // 2026-11-01 is a Sunday.
    expect(bucketOf('2026-11-01', 'week')).toEqual({ start: '2026-10-26', end: '2026-11-01' });
    expect(bucketOf('2026-11-02', 'week')).toEqual({ start: '2026-11-02', end: '2026-11-08' });
    expect(bucketOf('2024-02-10', 'month')).toEqual({ start: '2024-02-01', end: '2024-02-29' });
    expect(bucketOf('2026-11-05', 'day')).toEqual({ start: '2026-11-05', end: '2026-11-05' });
  });

  it('starts the first week at 1970-01-01 (a Thursday), the first day the API takes', () => {
    expect(bucketOf('1970-01-01', 'week')).toEqual({ start: '1970-01-01', end: '1970-01-04' });
    expect(bucketOf('1970-01-04', 'week')).toEqual({ start: '1970-01-01', end: '1970-01-04' });
    expect(bucketOf('1970-01-05', 'week')).toEqual({ start: '1970-01-05', end: '1970-01-11' });
  });

  it('cuts the first and last buckets to the range', () => {
    expect(bucketsBetween('2026-10-28', '2026-11-10', 'week')).toEqual([
      { start: '2026-10-28', end: '2026-11-01' },
      { start: '2026-11-02', end: '2026-11-08' },
      { start: '2026-11-09', end: '2026-11-10' },
    ]);
    expect(bucketsBetween('2026-11-15', '2027-01-02', 'month').map((b) => b.start)).toEqual([
      '2026-11-15',
      '2026-12-01',
      '2027-01-01',
    ]);
    expect(bucketsBetween('9999-12-01', '9999-12-31', 'month')).toEqual([
      { start: '9999-12-01', end: '9999-12-31' },
    ]);
  });

  it('counts and lists days, and moves between months', () => {
    expect(dayCount('2026-01-01', '2026-12-31')).toBe(365);
    expect(daysBetween('2026-02-27', '2026-03-01')).toEqual(['2026-02-27', '2026-02-28', '2026-03-01']);
    expect([addMonths('2026-01', -1), addMonths('2026-12', 1), addMonths('2026-03', -2)]).toEqual([
      '2025-12',
      '2027-01',
      '2026-01',
    ]);
    expect(monthBounds('2026-02')).toEqual({ start: '2026-02-01', end: '2026-02-28' });
  });
});
