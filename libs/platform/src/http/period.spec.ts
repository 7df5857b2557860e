import { AppError } from '../errors/app-error';
import { period } from './period';

const defaults = { from: new Date('2026-11-01T00:00:00Z'), to: new Date('2026-11-21T12:00:00Z') };
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
    expect(period('2026-11-01', '2026-11-30', defaults)).toEqual({
      from: new Date('2026-11-01T00:00:00Z'),
      to: new Date('2026-12-01T00:00:00Z'),
    });
    expect(period('2026-11-01T10:00:00+01:00', undefined, defaults)).toEqual({
      from: new Date('2026-11-01T09:00:00Z'),
      to: defaults.to,
    });
  });

  it('refuses dates that do not exist, in dates and date-times, naming the field', () => {
    expect(fieldOf(() => period('2026-02-30', undefined, defaults))).toEqual([400, 'from']);
    expect(fieldOf(() => period(undefined, '2024-02-31T00:00:00Z', defaults))).toEqual([400, 'to']);
    expect(fieldOf(() => period('2026-11-02', '2026-11-01', defaults))).toEqual([400, 'to']);
  });

  it('keeps to the range every layer represents: before 1970 is refused, after 9999 clamped', () => {
    expect(fieldOf(() => period('0000-01-01', undefined, defaults))).toEqual([400, 'from']);
    expect(period('2026-01-01', '9999-12-31', defaults).to).toEqual(new Date('9999-12-31T23:59:59.999Z'));
    expect(period('2026-01-01', '9999-12-31T23:00:00-05:00', defaults).to).toEqual(
      new Date('9999-12-31T23:59:59.999Z'),
    );
  });
});
