/**
 * JSON on the wire, with bigint kept exact (money is bigint minor units): a bigint travels as
 * {"$bigint":"123"} and comes back as 123n.
 */
export function encode(value: unknown): Buffer {
  return Buffer.from(
    JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? { $bigint: v.toString() } : v)),
  );
}

export function decode<T = unknown>(buffer: Buffer): T {
  return JSON.parse(buffer.toString('utf8'), (_key, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const keys = Object.keys(v);
      const big = (v as { $bigint?: unknown }).$bigint;
      if (keys.length === 1 && typeof big === 'string') return BigInt(big);
    }
    return v;
  }) as T;
}
