import { jsonAmount } from '@protobank/platform';
import type { Bucket } from './calendar';
import type { DaySummary } from './day-summary';

export interface CategoryTotal {
  category: string;
  money_in: number;
  money_out: number;
  count: number;
}

export interface MerchantTotal {
  merchant: string;
  money_in: number;
  money_out: number;
  count: number;
}

export interface SeriesPoint {
  start: string;
  end: string;
  money_in: number;
  money_out: number;
  count: number;
}

/** A range's figures in one currency: money is never added up across currencies. */
export interface CurrencyTotals {
  currency: string;
  money_in: number;
  money_out: number;
  /** money_in - money_out. */
  net: number;
  count: number;
  by_category: CategoryTotal[];
  by_merchant: MerchantTotal[];
  /** The five merchants most paid. */
  top_merchants: MerchantTotal[];
  series: SeriesPoint[];
}

export const TOP_MERCHANTS = 5;

interface Sums {
  in: bigint;
  out: bigint;
  count: number;
}

const zero = (): Sums => ({ in: 0n, out: 0n, count: 0 });

function sumsIn<K>(map: Map<K, Sums>, key: K): Sums {
  let sums = map.get(key);
  if (!sums) map.set(key, (sums = zero()));
  return sums;
}

const money = (s: Sums) => ({ money_in: jsonAmount(s.in), money_out: jsonAmount(s.out), count: s.count });

/** Most money out first, then most money in, then by name: a stable order for equal figures. */
function ranked<T extends { money_in: number; money_out: number }>(items: T[], name: (t: T) => string): T[] {
  return items.sort(
    (a, b) =>
      b.money_out - a.money_out ||
      b.money_in - a.money_in ||
      (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0),
  );
}

/**
 * Adds day summaries up per currency: totals, by category, by merchant, and a series over `buckets`
 * (which must cover every day given, in order). Sums are bigint until they become JSON integers.
 */
export function totalsByCurrency(days: DaySummary[], buckets: Bucket[]): CurrencyTotals[] {
  const currencies = new Map<
    string,
    { all: Sums; categories: Map<string, Sums>; merchants: Map<string, Sums>; series: Sums[] }
  >();
  for (const day of days) {
    const bucket = buckets.findIndex((b) => b.start <= day.day && day.day <= b.end);
    for (const row of day.rows) {
      let c = currencies.get(row.currency);
      if (!c) {
        c = { all: zero(), categories: new Map(), merchants: new Map(), series: buckets.map(zero) };
        currencies.set(row.currency, c);
      }
      const targets = [c.all, sumsIn(c.categories, row.category), c.series[bucket]];
      if (row.merchant) targets.push(sumsIn(c.merchants, row.merchant));
      for (const t of targets) {
        if (row.direction === 'in') t.in += row.amount;
        else t.out += row.amount;
        t.count += row.count;
      }
    }
  }
  return [...currencies.keys()].sort().map((currency) => {
    const c = currencies.get(currency)!;
    const merchants = ranked(
      [...c.merchants].map(([merchant, s]) => ({ merchant, ...money(s) })),
      (m) => m.merchant,
    );
    return {
      currency,
      ...money(c.all),
      net: jsonAmount(c.all.in - c.all.out),
      by_category: ranked(
        [...c.categories].map(([category, s]) => ({ category, ...money(s) })),
        (x) => x.category,
      ),
      by_merchant: merchants,
      top_merchants: merchants.filter((m) => m.money_out > 0).slice(0, TOP_MERCHANTS),
      series: buckets.map((b, i) => ({ ...b, ...money(c.series[i]) })),
    };
  });
}
