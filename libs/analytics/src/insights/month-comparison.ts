import { jsonAmount } from '@protobank/platform';
import { monthOf } from '../summaries/calendar';
import type { DaySummary } from '../summaries/day-summary';

export interface CategoryChange {
  category: string;
  this_month_in: number;
  this_month_out: number;
  last_month_in: number;
  last_month_out: number;
  /** this_month_out - last_month_out. */
  change_out: number;
  /** change_out as a whole percentage of last_month_out; null when last month had none. */
  change_out_percent: number | null;
}

type Four = [bigint, bigint, bigint, bigint];

/**
 * This month against last, per currency and category, from day summaries covering both months. Percent
 * is rounded half away from zero, in integer arithmetic (no float ever touches an amount).
 */
export function compareMonths(
  days: DaySummary[],
  thisMonth: string,
  lastMonth: string,
): Map<string, CategoryChange[]> {
  const sums = new Map<string, Map<string, Four>>();
  for (const day of days) {
    const month = monthOf(day.day);
    if (month !== thisMonth && month !== lastMonth) continue;
    for (const row of day.rows) {
      const byCategory = sums.get(row.currency) ?? new Map<string, Four>();
      sums.set(row.currency, byCategory);
      const s = byCategory.get(row.category) ?? [0n, 0n, 0n, 0n];
      byCategory.set(row.category, s);
      s[(month === thisMonth ? 0 : 2) + (row.direction === 'in' ? 0 : 1)] += row.amount;
    }
  }
  const result = new Map<string, CategoryChange[]>();
  for (const [currency, byCategory] of sums) {
    const changes = [...byCategory].map(([category, [tin, tout, lin, lout]]) => ({
      category,
      this_month_in: jsonAmount(tin),
      this_month_out: jsonAmount(tout),
      last_month_in: jsonAmount(lin),
      last_month_out: jsonAmount(lout),
      change_out: jsonAmount(tout - lout),
      change_out_percent: lout === 0n ? null : percent(tout - lout, lout),
    }));
    changes.sort(
      (a, b) =>
        b.this_month_out - a.this_month_out ||
        b.last_month_out - a.last_month_out ||
        b.this_month_in - a.this_month_in ||
        (a.category < b.category ? -1 : 1),
    );
    result.set(currency, changes);
  }
  return result;
}

function percent(part: bigint, whole: bigint): number {
  const scaled = part * 200n;
  const q = (scaled < 0n ? scaled - whole : scaled + whole) / (2n * whole);
  return Number(q);
}
