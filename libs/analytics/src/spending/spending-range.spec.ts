import { spendingRange } from './spending-range';

const NOW = new Date('2026-11-04T12:00:00Z'); // a Wednesday

const fieldOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    const e = err as { status: number; code: string; details: { field: string }[] };
    return [e.status, e.code, e.details[0].field];
  }
  return undefined;
};

describe('spendingRange', () => {
  it('defaults to the period holding today, or holding the one end given', () => {
    expect(spendingRange({}, 'UTC', NOW)).toEqual({ from: '2026-11-01', to: '2026-11-30' });
    expect(spendingRange({ period: 'week' }, 'UTC', NOW)).toEqual({ from: '2026-11-02', to: '2026-11-08' });
    expect(spendingRange({ period: 'day' }, 'UTC', NOW)).toEqual({ from: '2026-11-04', to: '2026-11-04' });
    expect(spendingRange({ period: 'month', from: '2026-02-10' }, 'UTC', NOW)).toEqual({
      from: '2026-02-10',
      to: '2026-02-28',
    });
    expect(spendingRange({ period: 'week', to: '2026-11-04' }, 'UTC', NOW)).toEqual({
      from: '2026-11-02',
      to: '2026-11-04',
    });
    // Its week began on Monday 29 December 1969: the range starts where dates do.
    expect(spendingRange({ period: 'week', to: '1970-01-01' }, 'UTC', NOW)).toEqual({
      from: '1970-01-01',
      to: '1970-01-01',
    });
  });

  it("takes today in the bank's zone: 23:30 UTC on 30 June is 1 July in London (summer time)", () => {
    const lateJune = new Date('2026-06-30T23:30:00Z');
    expect(spendingRange({}, 'Europe/London', lateJune)).toEqual({ from: '2026-07-01', to: '2026-07-31' });
    expect(spendingRange({}, 'UTC', lateJune)).toEqual({ from: '2026-06-01', to: '2026-06-30' });
  });

  it('refuses impossible dates, reversed ranges and ranges over 366 days, naming the field', () => {
    expect(fieldOf(() => spendingRange({ from: '2026-02-30' }, 'UTC', NOW))).toEqual([
      400,
      'validation_failed',
      'from',
    ]);
    expect(fieldOf(() => spendingRange({ from: '2026-11-05', to: '2026-11-04' }, 'UTC', NOW))).toEqual([
      400,
      'validation_failed',
      'to',
    ]);
    expect(fieldOf(() => spendingRange({ from: '2025-01-01', to: '2026-05-15' }, 'UTC', NOW))).toEqual([
      400,
      'range_too_long',
      'to',
    ]);
    expect(spendingRange({ from: '2024-01-01', to: '2024-12-31' }, 'UTC', NOW)).toEqual({
      from: '2024-01-01',
      to: '2024-12-31',
    });
  });
});
