import { isCalendarDate } from '@protobank/platform';
import {
  addDays,
  addMonths,
  firstOccurrenceFrom,
  occurrence,
  paymentDay,
  startOfDay,
  todayIn,
  withinOrder,
} from './calendar';

const series = (start: string, frequency: Parameters<typeof occurrence>[1], count: number) =>
  Array.from({ length: count }, (_, n) => occurrence(start, frequency, n));

const weekend = new Set([0, 6]);
const calendar = (holidays: string[] = [], days = weekend) => ({
  bankHolidays: new Set(holidays),
  bankWeekend: days,
});

describe('calendar dates', () => {
  it('accepts only real dates', () => {
    for (const d of ['2026-01-31', '2028-02-29', '2026-12-31']) expect(isCalendarDate(d)).toBe(true);
    for (const d of ['2026-02-29', '2026-02-30', '2026-13-01', '2026-00-10', '2026-1-01', '26-01-01', ''])
      expect(isCalendarDate(d)).toBe(false);
    expect(() => addDays('2026-02-30', 1)).toThrow(RangeError);
  });

  it('adds days across month and year ends', () => {
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
    expect(addDays('2026-02-28', 1)).toBe('2026-03-01');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
  });

  it('clamps to the last day of a shorter month', () => {
    expect(addMonths('2026-01-31', 1)).toBe('2026-02-28');
    expect(addMonths('2028-01-31', 1)).toBe('2028-02-29');
    expect(addMonths('2026-08-31', 1)).toBe('2026-09-30');
    expect(addMonths('2026-12-15', 1)).toBe('2027-01-15');
    expect(addMonths('2026-01-15', -1)).toBe('2025-12-15');
  });
});

describe('occurrences', () => {
  it('monthly from the 31st: the last day of shorter months, and the 31st again after them', () => {
    expect(series('2026-01-31', 'monthly', 5)).toEqual([
      '2026-01-31',
      '2026-02-28',
      '2026-03-31',
      '2026-04-30',
      '2026-05-31',
    ]);
  });

  it('yearly from 29 February: the 28th in common years, the 29th in leap years', () => {
    expect(series('2028-02-29', 'yearly', 5)).toEqual([
      '2028-02-29',
      '2029-02-28',
      '2030-02-28',
      '2031-02-28',
      '2032-02-29',
    ]);
  });

  it('quarterly across a year end, and weekly across a year end and a leap day', () => {
    expect(series('2026-11-30', 'quarterly', 4)).toEqual([
      '2026-11-30',
      '2027-02-28',
      '2027-05-30',
      '2027-08-30',
    ]);
    expect(series('2026-12-24', 'weekly', 3)).toEqual(['2026-12-24', '2026-12-31', '2027-01-07']);
    expect(series('2028-02-22', 'weekly', 2)).toEqual(['2028-02-22', '2028-02-29']);
  });

  it('refuses a negative or fractional occurrence', () => {
    expect(() => occurrence('2026-01-01', 'monthly', -1)).toThrow(RangeError);
    expect(() => occurrence('2026-01-01', 'monthly', 1.5)).toThrow(RangeError);
  });

  it('ends at end_date (inclusive) or after count occurrences', () => {
    expect(withinOrder(2, '2026-03-31', { endDate: '2026-03-31' })).toBe(true);
    expect(withinOrder(3, '2026-04-30', { endDate: '2026-03-31' })).toBe(false);
    expect(withinOrder(2, '2026-03-31', { count: 3 })).toBe(true);
    expect(withinOrder(3, '2026-04-30', { count: 3 })).toBe(false);
    expect(withinOrder(100, '2036-01-01', {})).toBe(true);
  });
});

describe('where a resumed order pays next', () => {
  it('skips the dates missed before today, and keeps a date of today', () => {
    // Weekly from Monday 2 November 2026; occurrence 3 (23 November) was the next to schedule.
    expect(firstOccurrenceFrom('2026-11-02', 'weekly', 3, '2026-12-04', {}, calendar())).toEqual({
      n: 5,
      date: '2026-12-07',
    });
    expect(firstOccurrenceFrom('2026-11-02', 'weekly', 3, '2026-11-30', {}, calendar())).toEqual({
      n: 4,
      date: '2026-11-30',
    });
    // Already in the future: that date, not a later one.
    expect(firstOccurrenceFrom('2026-11-02', 'weekly', 6, '2026-12-04', {}, calendar())).toEqual({
      n: 6,
      date: '2026-12-14',
    });
  });

  it('keeps a date that fell on a weekend while its paying day has not passed', () => {
    // Weekly from Saturday 7 November 2026: 28 November is paid on Monday the 30th.
    expect(firstOccurrenceFrom('2026-11-07', 'weekly', 2, '2026-11-29', {}, calendar())).toEqual({
      n: 3,
      date: '2026-11-28',
    });
    expect(firstOccurrenceFrom('2026-11-07', 'weekly', 2, '2026-11-30', {}, calendar())).toEqual({
      n: 3,
      date: '2026-11-28',
    });
    expect(firstOccurrenceFrom('2026-11-07', 'weekly', 2, '2026-12-01', {}, calendar())).toEqual({
      n: 4,
      date: '2026-12-05',
    });
    // A holiday on the Monday moves it to Tuesday.
    expect(
      firstOccurrenceFrom('2026-11-07', 'weekly', 2, '2026-12-01', {}, calendar(['2026-11-30'])),
    ).toEqual({ n: 3, date: '2026-11-28' });
  });

  it("counts from the start date, so a month end stays the month's last day", () => {
    expect(firstOccurrenceFrom('2027-01-31', 'monthly', 1, '2027-03-15', {}, calendar())).toEqual({
      n: 2,
      date: '2027-03-31',
    });
    expect(firstOccurrenceFrom('2027-01-31', 'monthly', 1, '2027-02-28', {}, calendar())).toEqual({
      n: 1,
      date: '2027-02-28',
    });
  });

  it('has no date left once end_date or count has passed, the missed dates counted', () => {
    expect(
      firstOccurrenceFrom('2026-11-02', 'weekly', 3, '2026-12-04', { endDate: '2026-12-06' }, calendar()),
    ).toBeNull();
    expect(
      firstOccurrenceFrom('2026-11-02', 'weekly', 3, '2026-12-04', { endDate: '2026-12-07' }, calendar()),
    ).toEqual({
      n: 5,
      date: '2026-12-07',
    });
    expect(firstOccurrenceFrom('2026-11-02', 'weekly', 3, '2026-12-04', { count: 5 }, calendar())).toBeNull();
    expect(firstOccurrenceFrom('2026-11-02', 'weekly', 3, '2026-12-04', { count: 6 }, calendar())).toEqual({
      n: 5,
      date: '2026-12-07',
    });
  });
});

describe('working days', () => {
  it('moves a weekend to the Monday', () => {
    expect(paymentDay('2026-01-31', calendar())).toBe('2026-02-02'); // Saturday
    expect(paymentDay('2026-02-01', calendar())).toBe('2026-02-02'); // Sunday
    expect(paymentDay('2026-02-02', calendar())).toBe('2026-02-02'); // Monday
  });

  it('follows the configured weekend: Friday and Saturday, or none at all', () => {
    const gulf = calendar([], new Set([5, 6]));
    expect(paymentDay('2026-01-30', gulf)).toBe('2026-02-01'); // Friday -> Sunday
    expect(paymentDay('2026-02-01', gulf)).toBe('2026-02-01'); // Sunday is a working day there
    expect(paymentDay('2026-01-31', calendar([], new Set()))).toBe('2026-01-31');
    expect(() => paymentDay('2026-01-31', calendar([], new Set([0, 1, 2, 3, 4, 5, 6])))).toThrow(RangeError);
  });

  it('skips holidays, including a run of them next to a weekend and across a year end', () => {
    const holidays = calendar(['2026-12-25', '2026-12-28', '2027-01-01']);
    // Fri 25 Dec (holiday), Sat, Sun, Mon 28 Dec (substitute holiday): Tuesday 29th.
    expect(paymentDay('2026-12-25', holidays)).toBe('2026-12-29');
    // Fri 1 Jan (holiday), Sat, Sun: Monday 4th.
    expect(paymentDay('2027-01-01', holidays)).toBe('2027-01-04');
  });
});

describe('the bank time zone', () => {
  const london = 'Europe/London';

  it('gives the local date, across both DST changes', () => {
    // Spring forward (29 Mar 2026, 01:00 UTC): late on the 28th is still GMT.
    expect(todayIn(london, new Date('2026-03-28T23:30:00Z'))).toBe('2026-03-28');
    // Summer: 23:30 UTC is already tomorrow in London (BST).
    expect(todayIn(london, new Date('2026-06-30T23:30:00Z'))).toBe('2026-07-01');
    // Fall back (25 Oct 2026, 01:00 UTC): 23:30 UTC on the 25th is GMT again, still the 25th.
    expect(todayIn(london, new Date('2026-10-25T23:30:00Z'))).toBe('2026-10-25');
    expect(todayIn(london, new Date('2026-10-24T23:30:00Z'))).toBe('2026-10-25');
  });

  it('finds the first instant of a date, in winter, in summer and on the DST days', () => {
    expect(startOfDay('2026-01-15', london).toISOString()).toBe('2026-01-15T00:00:00.000Z');
    expect(startOfDay('2026-07-01', london).toISOString()).toBe('2026-06-30T23:00:00.000Z');
    expect(startOfDay('2026-03-29', london).toISOString()).toBe('2026-03-29T00:00:00.000Z');
    expect(startOfDay('2026-03-30', london).toISOString()).toBe('2026-03-29T23:00:00.000Z');
    expect(startOfDay('2026-10-26', london).toISOString()).toBe('2026-10-26T00:00:00.000Z');
    expect(startOfDay('2026-05-01', 'Asia/Kolkata').toISOString()).toBe('2026-04-30T18:30:00.000Z');
  });

  it('where a DST change skips midnight, the day starts at the first minute that exists', () => {
    // Chile moves its clocks from 24:00 to 01:00 in September: that day has no midnight.
    for (const date of ['2026-09-06', '2026-09-05', '2026-04-05']) {
      const start = startOfDay(date, 'America/Santiago');
      expect(todayIn('America/Santiago', start)).toBe(date);
      expect(todayIn('America/Santiago', new Date(start.getTime() - 60_000))).toBe(addDays(date, -1));
    }
  });
});
