import { AppError } from '../errors/app-error';
import { dateOf, period } from './period';

const defaults = { from: new Date('2026-11-01T00:00:00Z'), to: new Date('2026-11-21T12:00:00Z') };
const UTC = 'UTC';
const LONDON = 'Europe/London';
const fieldOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof AppError ? [err.status, err.details[0]?.field] : err;
  }
  return 'no error';
};

describe('period', () => {
  it('takes a date `to` as the whole day and date-times as they are', () => {
    expect(period('2026-11-01', '2026-11-30', defaults, UTC)).toEqual({
      from: new Date('2026-11-01T00:00:00Z'),
      to: new Date('2026-12-01T00:00:00Z'),
    });
    expect(period('2026-11-01T10:00:00+01:00', undefined, defaults, UTC)).toEqual({
      from: new Date('2026-11-01T09:00:00Z'),
      to: defaults.to,
    });
  });

  it("bounds dates at the bank's midnights: a July statement in London starts at 23:00 UTC on 30 June", () => {
    // British Summer Time: a standing order paid at 00:00:30 London on 1 July (23:00:30 UTC on 30 June)
    // belongs to July's statement, not June's.
    expect(period('2026-07-01', '2026-07-31', defaults, LONDON)).toEqual({
      from: new Date('2026-06-30T23:00:00Z'),
      to: new Date('2026-07-31T23:00:00Z'),
    });
    // Greenwich Mean Time: the same as UTC; across the change in October, the whole local day.
    expect(period('2026-12-01', '2026-12-01', defaults, LONDON)).toEqual({
      from: new Date('2026-12-01T00:00:00Z'),
      to: new Date('2026-12-02T00:00:00Z'),
    });
    expect(period('2026-10-25', '2026-10-25', defaults, LONDON)).toEqual({
      from: new Date('2026-10-24T23:00:00Z'),
      to: new Date('2026-10-26T00:00:00Z'),
    });
    // Date-times are instants whatever the zone.
    expect(period('2026-07-01T00:00:00Z', undefined, defaults, LONDON).from).toEqual(
      new Date('2026-07-01T00:00:00Z'),
    );
  });

  it('refuses dates that do not exist, in dates and date-times, naming the field', () => {
    expect(fieldOf(() => period('2026-02-30', undefined, defaults, UTC))).toEqual([400, 'from']);
    expect(fieldOf(() => period(undefined, '2024-02-31T00:00:00Z', defaults, UTC))).toEqual([400, 'to']);
    expect(fieldOf(() => period('2026-11-02', '2026-11-01', defaults, UTC))).toEqual([400, 'to']);
  });

  it('names the field the caller sent for an empty period: `from` past the default end, `to` before the default start', () => {
    expect(fieldOf(() => period('2026-12-01', undefined, defaults, LONDON))).toEqual([400, 'from']);
    expect(fieldOf(() => period(undefined, '2026-10-01', defaults, LONDON))).toEqual([400, 'to']);
  });

  it('keeps to the range every layer represents: before 1970 is refused, after 9999 clamped', () => {
    expect(fieldOf(() => period('0000-01-01', undefined, defaults, UTC))).toEqual([400, 'from']);
    // A real date of years 0 to 99 (which Date.UTC reads as 1900 to 1999) is told it is too early.
    for (const from of ['0001-01-01', '0099-12-31T00:00:00Z']) {
      try {
        period(from, undefined, defaults, UTC);
        throw new Error('no error');
      } catch (err) {
        expect((err as AppError).details).toEqual([
          { field: 'from', message: 'from must not be before 1970-01-01' },
        ]);
      }
    }
    expect(dateOf('0001-02-29', UTC)).toBeUndefined();
    expect(fieldOf(() => period('1969-12-31T23:59:59Z', undefined, defaults, UTC))).toEqual([400, 'from']);
    // 1970-01-01 began at 23:00 UTC the day before in London (British Standard Time): clamped, not refused.
    expect(period('1970-01-01', undefined, defaults, LONDON).from).toEqual(new Date('1970-01-01T00:00:00Z'));
    for (const zone of [UTC, LONDON]) {
      expect(period('2026-01-01', '9999-12-31', defaults, zone).to).toEqual(
        new Date('9999-12-31T23:59:59.999Z'),
      );
    }
    expect(period('2026-01-01', '9999-12-31T23:00:00-05:00', defaults, UTC).to).toEqual(
      new Date('9999-12-31T23:59:59.999Z'),
    );
  });
});

describe('dateOf', () => {
  it('gives the bank date of a date or a date-time, and nothing for one that is not real', () => {
    expect(dateOf('2026-07-01', LONDON)).toBe('2026-07-01');
    expect(dateOf('2026-06-30T23:30:00Z', LONDON)).toBe('2026-07-01');
    expect(dateOf('2026-06-30T23:30:00Z', UTC)).toBe('2026-06-30');
    expect(dateOf('2026-02-30', LONDON)).toBeUndefined();
    expect(dateOf('not a date', LONDON)).toBeUndefined();
    expect(dateOf('2026-13-01T00:00:00Z', LONDON)).toBeUndefined();
    // Ending a period, a date-time is exclusive: its date is the previous instant's; a date is whole.
    expect(dateOf('2026-12-01T00:00:00Z', LONDON, { end: true })).toBe('2026-11-30');
    expect(dateOf('2026-07-01T00:00:00+01:00', LONDON, { end: true })).toBe('2026-06-30');
    expect(dateOf('2026-12-01', LONDON, { end: true })).toBe('2026-12-01');
  });

  it('clamps an instant past the last one periods hold to it, as period() does', () => {
    // 9999-12-31T23:59:59.999-05:00 is in year 10000 in UTC: it is the end of 9999, not "no date".
    const to = '9999-12-31T23:59:59.999-05:00';
    expect(dateOf(to, LONDON, { end: true })).toBe('9999-12-31');
    // East of UTC that instant is already in year 10000: still the last date (a statement of it was a 500).
    for (const zone of ['Europe/Berlin', 'Asia/Tokyo']) {
      expect({ zone, date: dateOf(to, zone, { end: true }) }).toEqual({ zone, date: '9999-12-31' });
      expect({ zone, date: dateOf('9999-12-31T23:30:00Z', zone) }).toEqual({ zone, date: '9999-12-31' });
    }
    expect(
      period(undefined, to, { from: new Date('9999-12-01T00:00:00Z'), to: new Date() }, LONDON).to,
    ).toEqual(new Date('9999-12-31T23:59:59.999Z'));
  });
});
