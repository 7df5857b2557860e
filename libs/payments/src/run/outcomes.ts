import type { PaymentFailureReason, PaymentPostingResult } from '@protobank/contracts';

/** What one attempt at a payment leads to. */
export type Decision =
  | { kind: 'paid'; transactionId: string }
  /** Refused for funds with tries left: tried again at `at`. */
  | { kind: 'retry'; reason: 'insufficient_funds'; at: Date }
  /** Failed for its due date; `stopsOrder`: an account is gone, so the order is cancelled too. */
  | { kind: 'failed'; reason: PaymentFailureReason; stopsOrder: boolean };

export interface RetryRules {
  /** Retries after the first attempt (PAYMENT_RETRY_ATTEMPTS). */
  retryAttempts: number;
  retryIntervalMinutes: number;
}

/**
 * An account that is closed or gone cannot be paid from or into again, nor an external payee in another
 * currency than the schemes carry: the order ends with it.
 */
const ENDS_ORDER: ReadonlySet<PaymentFailureReason> = new Set([
  'account_closed',
  'account_not_found',
  'payee_account_closed',
  'payee_account_not_found',
  'currency_not_supported',
]);

/**
 * The rules of one attempt: insufficient funds is tried again `retryAttempts` times, `retryIntervalMinutes`
 * apart (`attempts` counts the attempts before this one); any other refusal fails the due date at once
 * (a frozen account fails it with that reason), and a closed or missing account ends the order.
 *
 * A voided key means an earlier claim decided the date failed, wrote why (`decided`: the payment's
 * failure_reason, written before the key is spent) and spent the key, and its recording did not happen
 * (it failed, or the void's reply was lost): the date fails for that reason now.
 */
export function decide(
  result: PaymentPostingResult,
  attempts: number,
  now: Date,
  rules: RetryRules,
  decided: PaymentFailureReason | null,
): Decision {
  if (result.outcome === 'posted') return { kind: 'paid', transactionId: result.transaction_id };
  if (result.outcome === 'voided') {
    if (decided === null) throw new Error('payment key voided with no failure decided');
    return failed(decided);
  }
  const reason = result.reason;
  if (reason === 'insufficient_funds' && attempts < rules.retryAttempts) {
    return { kind: 'retry', reason, at: new Date(now.getTime() + rules.retryIntervalMinutes * 60_000) };
  }
  return failed(reason);
}

const failed = (reason: PaymentFailureReason): Decision => ({
  kind: 'failed',
  reason,
  stopsOrder: ENDS_ORDER.has(reason),
});

/** The standing order's status after a failed due date: the failure limit suspends it. */
export function statusAfterFailure(
  consecutiveFailures: number,
  stopsOrder: boolean,
  maxConsecutiveFailures: number,
): 'active' | 'suspended' | 'cancelled' {
  if (stopsOrder) return 'cancelled';
  return consecutiveFailures >= maxConsecutiveFailures ? 'suspended' : 'active';
}
