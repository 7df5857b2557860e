import { isCalendarDate } from '@protobank/platform';

const format = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'long',
  year: 'numeric',
  timeZone: 'UTC',
});

/**
 * "1 March 2026": a calendar date (`YYYY-MM-DD`, already in the bank's time zone) as a customer reads it.
 * Formatted at UTC midnight of that date, so no time zone can move it to the day before or after.
 */
export function formatDate(date: string): string {
  if (!isCalendarDate(date)) return date;
  const [y, m, d] = date.split('-').map(Number);
  return format.format(new Date(Date.UTC(y, m - 1, d)));
}

const moment = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'long',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
  timeZone: 'UTC',
});

/** "6 December 2026, 05:40 UTC": an instant (ISO 8601) as a customer reads it, in UTC, said so. */
export function formatInstant(iso: string): string {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? iso : `${moment.format(at).replace(' at ', ', ')} UTC`;
}
