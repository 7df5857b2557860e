/**
 * The date rules of scheduled payments and standing orders, pure: no clock, no I/O. Dates are calendar
 * dates (`YYYY-MM-DD`) in the bank's time zone; only `todayIn` and `startOfDay` touch instants.
 */
import { daysInMonth, isCalendarDate } from '@protobank/platform';

// Where a calendar date meets an instant: shared with statements and analytics (one notion of a bank day).
export { startOfDay, todayIn } from '@protobank/platform';

export type Frequency = 'weekly' | 'monthly' | 'quarterly' | 'yearly';

export const FREQUENCIES: readonly Frequency[] = ['weekly', 'monthly', 'quarterly', 'yearly'];

const MONTHS: Record<Exclude<Frequency, 'weekly'>, number> = { monthly: 1, quarterly: 3, yearly: 12 };
const DAY_MS = 86_400_000;

function parts(date: string): [number, number, number] {
  if (!isCalendarDate(date)) throw new RangeError(`not a calendar date: ${date}`);
  const [y, m, d] = date.split('-').map(Number);
  return [y, m, d];
}

const format = (y: number, m: number, d: number) =>
  `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;

export function addDays(date: string, days: number): string {
  const [y, m, d] = parts(date);
  const t = new Date(Date.UTC(y, m - 1, d) + days * DAY_MS);
  return format(t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate());
}

/** `months` later on the same day, or the month's last day when it is shorter (31 Jan + 1 = 28/29 Feb). */
export function addMonths(date: string, months: number): string {
  const [y, m, d] = parts(date);
  const index = y * 12 + (m - 1) + months;
  const [year, month] = [Math.floor(index / 12), (index % 12) + 1];
  return format(year, month, Math.min(d, daysInMonth(year, month)));
}

/**
 * The nominal date of occurrence `n` (0 is the start date), counted from the start rather than from the
 * previous occurrence: a monthly order started on the 31st pays on 28/29 February and on 31 March again.
 */
export function occurrence(start: string, frequency: Frequency, n: number): string {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`occurrence ${n}`);
  return frequency === 'weekly' ? addDays(start, 7 * n) : addMonths(start, MONTHS[frequency] * n);
}

/** Which days are not working days (AppConfig has these two, from BANK_HOLIDAYS and BANK_WEEKEND). */
export interface BankCalendar {
  /** ISO dates. */
  bankHolidays: ReadonlySet<string>;
  /** Weekdays, 0 Sunday to 6 Saturday; never all seven. */
  bankWeekend: ReadonlySet<number>;
}

export function isWorkingDay(date: string, calendar: BankCalendar): boolean {
  const [y, m, d] = parts(date);
  const weekday = new Date(Date.UTC(y, m - 1, d)).getUTCDay();
  return !calendar.bankWeekend.has(weekday) && !calendar.bankHolidays.has(date);
}

/** The day a payment due on `date` is made: that day if it is a working day, else the next one. */
export function paymentDay(date: string, calendar: BankCalendar): string {
  if (calendar.bankWeekend.size >= 7) throw new RangeError('a calendar without working days');
  let day = date;
  while (!isWorkingDay(day, calendar)) day = addDays(day, 1);
  return day;
}

export interface OrderEnd {
  /** The last nominal date that may be paid, inclusive. */
  endDate?: string | null;
  /** How many occurrences in all. */
  count?: number | null;
}

/** Whether occurrence `n`, due on nominal `date`, is still part of the order. */
export function withinOrder(n: number, date: string, end: OrderEnd): boolean {
  if (end.count != null && n >= end.count) return false;
  if (end.endDate != null && date > end.endDate) return false;
  return true;
}

/**
 * The first occurrence from `n` on that is still to be paid on `from` or later (its paying day, after a
 * weekend or holiday, is not before `from`), with its index: where a resumed order pays next, the
 * occurrences before it having been missed. Null when the order has no such occurrence left.
 */
export function firstOccurrenceFrom(
  start: string,
  frequency: Frequency,
  n: number,
  from: string,
  end: OrderEnd,
  calendar: BankCalendar,
): { n: number; date: string } | null {
  let date = occurrence(start, frequency, n);
  while (paymentDay(date, calendar) < from && withinOrder(n, date, end))
    date = occurrence(start, frequency, ++n);
  return withinOrder(n, date, end) ? { n, date } : null;
}
