import type { EntityManager } from 'typeorm';
import { AppError } from '../errors/app-error';

/**
 * A cap on what one owner may create in any 24 hours, counted from the rows themselves (their
 * `owner_id` and `created_at`, cancelled ones included), in the transaction that creates one and under the
 * owner's creation lock, so that parallel requests are counted one after another. Past `perDay`, 429
 * rate_limited with Retry-After the time until one more may be created: when the (n - perDay + 1)th
 * oldest of the day is a day old (the oldest alone is too soon when more than perDay fall in the day: the
 * limit lowered since, or an older instance that did not count them). Counted in the database rather than
 * by a Redis counter (RateLimiter): a replay of an Idempotency-Key, answered before, and a request refused
 * after (rolled back) create nothing and count nothing. Caps on what is held (open orders, live cards) do
 * not stop a loop of creating and cancelling; this does (helper-158, helper-160).
 *
 * `table` is a constant of the caller's (schema-qualified), never a client's text.
 */
export async function assertCreatedWithinDay(
  m: EntityManager,
  o: { table: string; ownerId: string; perDay: number; what: string },
): Promise<void> {
  const within = `owner_id = $1 AND created_at > now() - interval '24 hours'`;
  const [{ n }] = (await m.query(`SELECT count(*)::int AS n FROM ${o.table} WHERE ${within}`, [
    o.ownerId,
  ])) as {
    n: number;
  }[];
  if (n < o.perDay) return;
  const [next] = (await m.query(
    `SELECT greatest(1, ceil(extract(epoch FROM created_at + interval '24 hours' - now())))::int AS retry_after
       FROM ${o.table} WHERE ${within} ORDER BY created_at, id OFFSET $2 LIMIT 1`,
    [o.ownerId, n - o.perDay],
  )) as { retry_after: number }[];
  throw AppError.tooManyRequests(
    'rate_limited',
    `At most ${o.perDay} ${o.what} in 24 hours`,
    next?.retry_after ?? 1,
  );
}
