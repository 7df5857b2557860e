import { createHash } from 'node:crypto';

/**
 * The hold's id for a network id: the same on every attempt, so a retry finds the hold a crashed attempt
 * placed. A name-based UUID (the version 5 layout, over SHA-256) in a space of its own.
 */
export function holdIdOf(networkTransactionId: string): string {
  const h = createHash('sha256').update(`card-authorisation:${networkTransactionId}`).digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
