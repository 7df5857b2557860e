/**
 * Calendar arithmetic on YYYY-MM-DD strings (dates alone: no zone). Analytics days, weeks and months are
 * bank days (BANK_TIME_ZONE): a movement's day is the bank date it happened on (movementsOf), and today
 * is the bank's today.
 */
import { todayIn } from '@protobank/platform';

export type Period = 'day' | 'week' | 'month';
export const PERIODS: readonly Period[] = ['day', 'week', 'month'];

export interface Bucket {
  /** First day, inclusive. */
  start: string;
  /** Last day, inclusive. */
  end: string;
}

const DAY_MS = 86_400_000;
/** The first and last days every layer represents alike (and the API takes). */
export const FIRST_DAY = '1970-01-01';
export const LAST_DAY = '9999-12-31';
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const MONTH = /^(\d{4})-(\d{2})$/;

const toDate = (day: string) => new Date(`${day}T00:00:00.000Z`);
const toDay = (date: Date) => date.toISOString().slice(0, 10);

/** A real date from 1970-01-01 to 9999-12-31 (what JavaScript, pg and Postgres all read alike). */
export function isDay(value: string): boolean {
  const m = DAY.exec(value);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return y >= 1970 && date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

export function isMonth(value: string): boolean {
  const m = MONTH.exec(value);
  return !!m && Number(m[1]) >= 1970 && Number(m[2]) >= 1 && Number(m[2]) <= 12;
}

/** The bank's today, in `timeZone`. */
export function today(timeZone: string, now = new Date()): string {
  return todayIn(timeZone, now);
}

export function addDays(day: string, n: number): string {
  return toDay(new Date(toDate(day).getTime() + n * DAY_MS));
}

/** Days from `from` to `to`, both included. */
export function dayCount(from: string, to: string): number {
  return Math.round((toDate(to).getTime() - toDate(from).getTime()) / DAY_MS) + 1;
}

export function daysBetween(from: string, to: string): string[] {
  return Array.from({ length: Math.max(0, dayCount(from, to)) }, (_, i) => addDays(from, i));
}

/** The month of a day, YYYY-MM. */
export const monthOf = (day: string) => day.slice(0, 7);

export function addMonths(month: string, n: number): string {
  const [y, m] = month.split('-').map(Number);
  return toDay(new Date(Date.UTC(y, m - 1 + n, 1))).slice(0, 7);
}

export function monthBounds(month: string): Bucket {
  const [y, m] = month.split('-').map(Number);
  // Day 0 of the next month is the last of this one (and 9999-12 needs no year 10000).
  return { start: `${month}-01`, end: toDay(new Date(Date.UTC(y, m, 0))) };
}

/**
 * The period that holds `day`: itself, its ISO week (Monday to Sunday) or its month; never before
 * FIRST_DAY (1 January 1970 was a Thursday) nor past LAST_DAY.
 */
export function bucketOf(day: string, period: Period): Bucket {
  if (period === 'day') return { start: day, end: day };
  if (period === 'month') return monthBounds(monthOf(day));
  const sinceMonday = (toDate(day).getUTCDay() + 6) % 7;
  const monday = addDays(day, -sinceMonday);
  const daysLeft = dayCount(day, LAST_DAY) - 1;
  return {
    start: monday < FIRST_DAY ? FIRST_DAY : monday,
    end: daysLeft < 6 - sinceMonday ? LAST_DAY : addDays(monday, 6),
  };
}

/** The periods covering [from, to], the first and last cut to the range. */
export function bucketsBetween(from: string, to: string, period: Period): Bucket[] {
  const buckets: Bucket[] = [];
  let start = from;
  while (start <= to) {
    const end = bucketOf(start, period).end;
    if (end >= to) {
      buckets.push({ start, end: to });
      break;
    }
    buckets.push({ start, end });
    start = addDays(end, 1);
  }
  return buckets;
}
