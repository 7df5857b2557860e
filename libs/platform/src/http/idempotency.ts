import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { AppError } from '../errors/app-error';
import type { HttpReply } from './http-types';

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
/** The Swagger description of the header, for @ApiHeader on every money-moving POST. */
export const IDEMPOTENCY_HEADER_DOC = {
  name: IDEMPOTENCY_HEADER,
  required: true,
  description:
    'Required. Retrying with the same key and body replays the first response (Idempotent-Replayed: true) and moves no money again; the same key with another body is 422. Keys are kept at least 24 h.',
  example: '5f0c2b8e-2f64-4a8f-9d1e-1c8b7d6e5a41',
};

const KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * The required Idempotency-Key header of a money-moving POST: 1-255 visible ASCII characters (a UUID
 * is the usual choice). 400 naming the header when it is missing or malformed.
 */
export const IdempotencyKey = createParamDecorator((_data: unknown, ctx: ExecutionContext): string => {
  const value = ctx.switchToHttp().getRequest<{ headers: Record<string, unknown> }>().headers[
    'idempotency-key'
  ];
  if (typeof value !== 'string' || !KEY.test(value)) {
    throw AppError.badRequest('validation_failed', `Invalid request: ${IDEMPOTENCY_HEADER}`, [
      {
        field: IDEMPOTENCY_HEADER,
        message:
          value === undefined
            ? `the ${IDEMPOTENCY_HEADER} header is required for requests that move money`
            : `${IDEMPOTENCY_HEADER} must be 1-255 visible ASCII characters`,
      },
    ]);
  }
  return value;
});

/**
 * Fingerprint of what a key was first used for: the operation and its body, fields in a fixed order: the
 * body's sorted, a nested object's (a card network's merchant) in its DTO class's declaration order, as
 * the validation pipe builds it (class fields are defined at construction, ES2022 and later), whatever
 * order a client sends. Fingerprints are stored with their keys: reordering a nested DTO's fields, or
 * sorting them here, changes them, and a retry across that deploy would be 422.
 */
export function requestFingerprint(operation: string, body: Record<string, unknown>): string {
  const canonical = JSON.stringify([
    operation,
    Object.keys(body)
      .sort()
      .map((k) => [k, body[k] ?? null]),
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** The response header that marks a replayed response. */
export const REPLAYED_HEADER = 'Idempotent-Replayed';

/** The body of an idempotent POST's outcome, marking the response when it is a replay. */
export function idempotentResponse<T>(reply: HttpReply, outcome: { view: T; replayed: boolean }): T {
  if (outcome.replayed) void reply.header(REPLAYED_HEADER, 'true');
  return outcome.view;
}
