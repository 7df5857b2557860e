import { Matches, ValidateBy } from 'class-validator';
import { AppError } from '../errors/app-error';
import { isCalendarDate, startOfDay, todayIn } from '../time/calendar-date';

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

/**
 * The calendar date part must exist (no 30 February, in a date or a date-time). Not through Date.UTC,
 * which reads years 0 to 99 as 1900 to 1999: 0001-01-01 is a real date, only too early.
 */
function realDate(value: string): boolean {
  return isCalendarDate(value.slice(0, 10));
}

/** The day after a real date (UTC arithmetic on the date alone: no zone involved). */
function nextDay(value: string): string {
  const [y, m, d] = value.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}

function instant(value: string, field: string, endOfDay: boolean, timeZone: string): Date {
  if (!realDate(value)) throw invalid(field, `${field} is not a real date`);
  if (DATE.test(value)) {
    if (value < '1970-01-01') throw invalid(field, `${field} must not be before 1970-01-01`);
    if (endOfDay && value === '9999-12-31') return LATEST;
    const start = startOfDay(endOfDay ? nextDay(value) : value, timeZone);
    return start < EARLIEST ? EARLIEST : start; // 1970-01-01 began before 00:00 UTC in some zones
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw invalid(field, `${field} is not a real date`);
  if (date < EARLIEST) throw invalid(field, `${field} must not be before 1970-01-01`);
  return date > LATEST ? LATEST : date;
}

/**
 * The bank date (in `timeZone`) of a query's date or date-time, or undefined when it is not a real one.
 * `end`: the value ends a period, so a date-time is exclusive and its date is that of the instant
 * before it (`to=2026-12-01T00:00:00Z` ends on 30 November in London).
 */
export function dateOf(value: string, timeZone: string, { end = false } = {}): string | undefined {
  if (!realDate(value)) return undefined;
  if (DATE.test(value)) return value;
  const given = new Date(value);
  if (Number.isNaN(given.getTime()) || given <= EARLIEST) return undefined;
  // Clamped as period() clamps it (an instant past the end of 9999 in UTC is that end), so that a
  // statement's month is the one its clamped `to` falls in.
  const date = given > LATEST ? LATEST : given;
  const day = todayIn(timeZone, end ? new Date(date.getTime() - 1) : date);
  // East of UTC the last instant is already in year 10000 there: the last date periods hold.
  return Number(day.split('-')[0]) > 9999 ? '9999-12-31' : day;
}

/** The defaults of a period that narrows a list: everything the list holds. */
export const ALL_TIME = { from: new Date(0), to: new Date('9999-12-31T00:00:00Z') } as const;

/**
 * A [from, to) period from query values: a date `from` starts at its midnight in `timeZone` (the bank's:
 * a bank day is the same day in statements, history, analytics and payment dates), a date `to` includes
 * its whole day; date-times are taken as they are. 400 naming the field for an impossible date or an
 * empty period (the field the caller sent, when only one was).
 */
export function period(
  from: string | undefined,
  to: string | undefined,
  defaults: { from: Date; to: Date },
  timeZone: string,
): { from: Date; to: Date } {
  const start = from ? instant(from, 'from', false, timeZone) : defaults.from;
  const end = to ? instant(to, 'to', true, timeZone) : defaults.to;
  if (start >= end) {
    if (to === undefined) throw invalid('from', `from must be before ${defaults.to.toISOString()}`);
    throw invalid('to', 'to must be after from');
  }
  return { from: start, to: end };
}
