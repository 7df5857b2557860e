import { Matches, ValidateBy } from 'class-validator';
import { AppError } from '../errors/app-error';
import { isCalendarDate } from '../time/calendar-date';

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_OR_DATE_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2}))?$/;
/** Periods are clamped to what every layer (JavaScript, the pg driver, Postgres) represents alike. */
const EARLIEST = new Date('1970-01-01T00:00:00Z');
const LATEST = new Date('9999-12-31T23:59:59.999Z');

export const IsDateOrDateTime = () =>
  Matches(DATE_OR_DATE_TIME, {
    message: '$property must be a date (YYYY-MM-DD) or an ISO 8601 date-time with offset',
  });

/** A real calendar date written YYYY-MM-DD (a business date: no time, no zone; 2026-02-30 fails). */
export const IsCalendarDate = () =>
  ValidateBy({
    name: 'isCalendarDate',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && isCalendarDate(value),
      defaultMessage: () => '$property must be a real date, YYYY-MM-DD',
    },
  });

function invalid(field: string, message: string) {
  return AppError.badRequest('validation_failed', `Invalid request: ${field}`, [{ field, message }]);
}

/** The calendar date part must exist (no 30 February, in a date or a date-time). */
function realDate(value: string): boolean {
  const [y, m, d] = value.slice(0, 10).split('-').map(Number);
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

function instant(value: string, field: string, endOfDay: boolean): Date {
  const isDate = DATE.test(value);
  const date = isDate ? new Date(`${value}T00:00:00Z`) : new Date(value);
  if (Number.isNaN(date.getTime()) || !realDate(value)) throw invalid(field, `${field} is not a real date`);
  if (endOfDay && isDate) date.setUTCDate(date.getUTCDate() + 1);
  if (date < EARLIEST) throw invalid(field, `${field} must not be before 1970-01-01`);
  return date > LATEST ? LATEST : date;
}

/**
 * A [from, to) period from query values: a date `from` starts at its midnight UTC, a date `to` includes
 * its whole day; date-times are taken as they are. 400 naming the field for an impossible date or an
 * empty period.
 */
export function period(
  from: string | undefined,
  to: string | undefined,
  defaults: { from: Date; to: Date },
): { from: Date; to: Date } {
  const start = from ? instant(from, 'from', false) : defaults.from;
  const end = to ? instant(to, 'to', true) : defaults.to;
  if (start >= end) throw invalid('to', 'to must be after from');
  return { from: start, to: end };
}
