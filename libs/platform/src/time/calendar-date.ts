const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A real calendar date written `YYYY-MM-DD` (2026-02-30 is not one). */
export function isCalendarDate(value: string): boolean {
  const m = ISO_DATE.exec(value);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return mo >= 1 && mo <= 12 && d >= 1 && d <= daysInMonth(y, mo);
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/*
 * Where a calendar date meets an instant. A bank day is a day in BANK_TIME_ZONE everywhere: payment
 * dates, statement periods, analytics days and months.
 */

/** The calendar date `at` falls on in `timeZone`. */
export function todayIn(timeZone: string, at: Date): string {
  return dateFormat(timeZone).format(at); // en-CA formats as YYYY-MM-DD
}

/** The first instant of `date` in `timeZone` (DST-safe: where midnight does not exist, the first that does). */
export function startOfDay(date: string, timeZone: string): Date {
  if (!isCalendarDate(date)) throw new RangeError(`not a calendar date: ${date}`);
  const [y, m, d] = date.split('-').map(Number);
  const midnightUtc = Date.UTC(y, m - 1, d);
  // The zone's offset lies within ±14 h: of the instants of that window, the first whose local date is
  // `date`, found by bisection on minutes (local dates only move forward as instants do).
  let lo = midnightUtc - 15 * 3600_000;
  let hi = midnightUtc + 15 * 3600_000;
  while (hi - lo > 60_000) {
    const mid = lo + Math.floor((hi - lo) / 120_000) * 60_000;
    if (todayIn(timeZone, new Date(mid)) >= date) hi = mid;
    else lo = mid;
  }
  return new Date(hi);
}

const formats = new Map<string, Intl.DateTimeFormat>();
function dateFormat(timeZone: string): Intl.DateTimeFormat {
  let f = formats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    formats.set(timeZone, f);
  }
  return f;
}
