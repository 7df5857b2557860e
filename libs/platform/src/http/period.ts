import { Matches } from 'class-validator';
import { AppError } from '../errors/app-error';

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_OR_DATE_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2}))?$/;

export const IsDateOrDateTime = () =>
  Matches(DATE_OR_DATE_TIME, {
    message: '$property must be a date (YYYY-MM-DD) or an ISO 8601 date-time with offset',
  });

function instant(value: string, field: string, endOfDay: boolean): Date {
  const date = DATE.test(value) ? new Date(`${value}T00:00:00Z`) : new Date(value);
  const real = !Number.isNaN(date.getTime()) && (!DATE.test(value) || date.toISOString().startsWith(value));
  if (!real) {
    throw AppError.badRequest('validation_failed', `Invalid request: ${field}`, [
      { field, message: `${field} is not a real date` },
    ]);
  }
  if (endOfDay && DATE.test(value)) date.setUTCDate(date.getUTCDate() + 1);
  return date;
}

/**
 * A [from, to) period from query values: a date `from` starts at its midnight UTC, a date `to` includes
 * its whole day; date-times are taken as they are. 400 naming the field for an impossible date or an
 * empty period.
 */
export function period(from: string | undefined, to: string | undefined, defaults: { from: Date; to: Date }) {
  const start = from ? instant(from, 'from', false) : defaults.from;
  const end = to ? instant(to, 'to', true) : defaults.to;
  if (start >= end) {
    throw AppError.badRequest('validation_failed', 'Invalid request: to', [
      { field: 'to', message: 'to must be after from' },
    ]);
  }
  return { from: start, to: end };
}
