import {
  EXPIRED_HOLDS_MAX_PAGE,
  isCurrency,
  MAX_CARD_AMOUNT,
  type CardClearing,
  type CardHoldRequest,
  type CardRefund,
  type HoldRelease,
} from '@protobank/contracts';
import { AppError, requestFingerprint, textProblem } from '@protobank/platform';
import { isUUID } from 'class-validator';

export { MAX_CARD_AMOUNT };

const invalid = (field: string, message: string) =>
  AppError.badRequest('validation_failed', `Invalid card request: ${field}`, [{ field, message }]);

function uuid(value: unknown, field: string): void {
  if (typeof value !== 'string' || !isUUID(value)) throw invalid(field, `${field} must be a uuid`);
}

function text(value: unknown, field: string, max: number): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    throw invalid(field, `${field} must be 1 to ${max} characters`);
  }
  // What JSON (jsonb, the batch's transport to Postgres) cannot carry as text: a lone surrogate or a NUL
  // would fail the whole batch it travels in. The API's own checks refuse both long before this.
  if (textProblem(value)) {
    throw invalid(field, `${field} must be well-formed text without NUL characters`);
  }
}

function amount(value: unknown, field: string, min = 1n): void {
  if (typeof value !== 'bigint' || value < min || value > MAX_CARD_AMOUNT) {
    throw invalid(field, `${field} must be a bigint of minor units from ${min} to ${MAX_CARD_AMOUNT}`);
  }
}

/** What a card payment's request names, whatever the call (the cards module gets these right: a wrong one is a bug there). */
function payment(p: CardClearing | CardRefund | CardHoldRequest): void {
  text(p.network_transaction_id, 'network_transaction_id', 200);
  uuid(p.card_id, 'card_id');
  uuid(p.account_id, 'account_id');
  uuid(p.owner_id, 'owner_id');
  amount(p.amount, 'amount');
  if (!isCurrency(p.currency)) throw invalid('currency', 'currency must be a currency the ledger holds');
  text(p.merchant_name, 'merchant_name', 200);
  text(p.category, 'category', 64);
}

export function assertHoldRequest(r: CardHoldRequest): void {
  uuid(r.hold_id, 'hold_id');
  payment(r);
  for (const field of ['daily_limit', 'monthly_limit'] as const) {
    if (r[field] !== null) amount(r[field], field, 0n);
  }
  if (typeof r.expires_at !== 'string' || Number.isNaN(Date.parse(r.expires_at))) {
    throw invalid('expires_at', 'expires_at must be an ISO 8601 time');
  }
}

export function assertClearing(c: CardClearing): void {
  if (c.hold_id !== null) uuid(c.hold_id, 'hold_id');
  payment(c);
}

export function assertRefund(r: CardRefund): void {
  payment(r);
  if (r.hold_id != null) uuid(r.hold_id, 'hold_id');
}

export function assertRelease(r: HoldRelease): void {
  uuid(r.hold_id, 'hold_id');
  if (r.amount !== null) amount(r.amount, 'amount');
  if (r.reason !== 'reversed' && r.reason !== 'expired') {
    throw invalid('reason', 'reason must be reversed or expired');
  }
  if (r.network_transaction_id != null) text(r.network_transaction_id, 'network_transaction_id', 200);
}

export function assertExpiredPage(now: string, limit: number): void {
  if (typeof now !== 'string' || Number.isNaN(Date.parse(now)))
    throw invalid('now', 'now must be an ISO 8601 time');
  if (!Number.isInteger(limit) || limit < 1 || limit > EXPIRED_HOLDS_MAX_PAGE) {
    throw invalid('limit', `limit must be an integer from 1 to ${EXPIRED_HOLDS_MAX_PAGE}`);
  }
}

/**
 * A clearing's or refund's idempotency fingerprint: whose money, how much, and (a clearing) which hold.
 * The same network id with any of these different is idempotency_key_reused. The merchant's name and
 * category are left out: a network may spell them differently on a retry, and that must replay.
 */
export function cardPostingFingerprint(
  operation: 'card-clearing' | 'card-refund',
  p: CardClearing | CardRefund,
) {
  return requestFingerprint(operation, {
    // A refund's payment is part of it (since refunds are checked against it): the same id naming the
    // payment and naming only the card are two requests, not a repeat.
    hold_id: p.hold_id ?? null,
    card_id: p.card_id,
    account_id: p.account_id,
    owner_id: p.owner_id,
    amount: p.amount.toString(),
    currency: p.currency,
  });
}
