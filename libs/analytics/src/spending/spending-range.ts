import { AppError } from '@protobank/platform';
import { bucketOf, dayCount, isDay, today } from '../summaries/calendar';
import type { SpendingQuery } from './spending.dto';

/** The longest range one request may cover. */
export const MAX_RANGE_DAYS = 366;

function invalid(code: string, field: string, message: string) {
  return AppError.badRequest(code, `Invalid request: ${field}`, [{ field, message }]);
}

/** [from, to] from the query: a missing end is the edge of the period holding the other (or today). */
export function spendingRange(
  query: SpendingQuery,
  timeZone: string,
  now = new Date(),
): { from: string; to: string } {
  const period = query.period ?? 'month';
  for (const field of ['from', 'to'] as const) {
    const value = query[field];
    if (value !== undefined && !isDay(value)) {
      throw invalid('validation_failed', field, `${field} is not a real date from 1970-01-01 on`);
    }
  }
  const anchor = query.from ?? query.to ?? today(timeZone, now);
  const from = query.from ?? bucketOf(anchor, period).start;
  const to = query.to ?? bucketOf(anchor, period).end;
  if (from > to) throw invalid('validation_failed', 'to', 'to must not be before from');
  if (dayCount(from, to) > MAX_RANGE_DAYS) {
    throw invalid('range_too_long', 'to', `a range covers at most ${MAX_RANGE_DAYS} days`);
  }
  return { from, to };
}
