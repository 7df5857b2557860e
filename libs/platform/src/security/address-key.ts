import { createHash } from 'node:crypto';

/**
 * What a rate limit or lockout keyed by an e-mail address (normalised) or a phone number counts it under
 * in Redis: its SHA-256, so that the key space (`redis-cli --scan`, MONITOR, a slow log) lists no
 * customer's address in plain text. Unsalted, so one address always has one key in every app; a reader of
 * Redis with a list of addresses can still test them (Redis also holds the sessions: it is guarded as
 * such).
 */
export const addressKey = (address: string): string =>
  createHash('sha256').update(address).digest('base64url');
