import type { ErrorBody } from '../../errors/app-error';

/** DI token: the contracts a split app owns and serves (its AppDefinition's `serves`). */
export const SERVED_CONTRACTS = Symbol('SERVED_CONTRACTS');

/**
 * A contract request is `{ args }` (codec-encoded, bigint exact) with the pattern as the message type;
 * the reply is one of these. Unchanged from before the move onto Nest's seams, so old and new
 * instances answer each other during a rolling deploy.
 */
export type Reply =
  | { ok: true; result: unknown }
  /** `headers`: the HTTP headers the error carries (Retry-After), so the caller's response has them too. */
  | { ok: false; error: ErrorBody; headers?: Record<string, string> };
