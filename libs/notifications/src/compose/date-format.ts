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
