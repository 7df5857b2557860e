import type { Direction } from '../events/movements';

/** One daily_rollups row of a user and day. */
export interface RollupRow {
  currency: string;
  direction: Direction;
  category: string;
  /** '' when the movements had no merchant. */
  merchant: string;
  /** Minor units. */
  amount: bigint;
  count: number;
}

/** Everything analytics knows of one user's day: its rollups. */
export interface DaySummary {
  day: string;
  rows: RollupRow[];
}

/**
 * What orders copies of a user's day summaries: `generation` (bumped by every completed rebuild), then
 * the user's `version` (bumped by every event of theirs). A copy never replaces a newer one.
 */
export interface SummaryVersion {
  generation: number;
  version: number;
}

type CachedRow = [string, Direction, string, string, string, number];
interface CachedDay {
  g: number;
  v: number;
  r: CachedRow[];
}

/** The Redis hash field's value: compact JSON, amounts as decimal strings (exact). */
export function encodeDay(day: DaySummary, at: SummaryVersion): string {
  const value: CachedDay = {
    g: at.generation,
    v: at.version,
    r: day.rows.map((r) => [r.currency, r.direction, r.category, r.merchant, r.amount.toString(), r.count]),
  };
  return JSON.stringify(value);
}

/** The cached day, or undefined for a value that is unreadable or older than `floor` (a generation). */
export function decodeDay(day: string, raw: string | null, floor: number): DaySummary | undefined {
  if (!raw) return undefined;
  try {
    const value = JSON.parse(raw) as CachedDay;
    if (!(value.g >= floor) || !Array.isArray(value.r)) return undefined;
    return {
      day,
      rows: value.r.map(([currency, direction, category, merchant, amount, count]) => ({
        currency,
        direction,
        category,
        merchant,
        amount: BigInt(amount),
        count,
      })),
    };
  } catch {
    return undefined;
  }
}
