/**
 * `items` in order, in consecutive slices of at most `size`: how a batch is split for a call, a
 * message or a window that takes at most that many (a contract's per-call limit, a stream message's
 * size). A limit is the callee's; chunk by the constant it exports, never assume a batch is small.
 */
export function chunksOf<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`chunk size must be a positive integer, got ${size}`);
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
