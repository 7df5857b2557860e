import type {
  PaymentFailureReason,
  PaymentPosting,
  PaymentPostingResult,
  PaymentSource,
} from '@protobank/contracts';
import { AppError, requestFingerprint } from '@protobank/platform';
import type { PaymentPosted } from './ledger';

const SOURCES: readonly PaymentSource[] = ['standing_order', 'scheduled_payment'];

/** The ledger's refusals of a payment, as the payments module names them; any other outcome is a bug. */
const REFUSALS: Readonly<Record<string, PaymentFailureReason>> = {
  insufficient_funds: 'insufficient_funds',
  account_frozen: 'account_frozen',
  account_closed: 'account_closed',
  payee_account_closed: 'payee_account_closed',
  debit_not_found: 'account_not_found',
  credit_not_found: 'payee_account_not_found',
  currency_mismatch: 'currency_mismatch',
};

const BUGS: Readonly<Record<string, string>> = {
  same_account: 'A payment cannot pay the account it is paid from',
  own_account: 'Staff cannot move money on their own accounts',
  idempotency_key_reused: 'This payment key was used for a different payment',
};

const invalid = (field: string, message: string) =>
  AppError.badRequest('validation_failed', `Invalid payment: ${field}`, [{ field, message }]);

/** What the payments module must get right before asking (a wrong one is a bug there, not a refusal). */
export function assertPaymentShape(p: PaymentPosting): void {
  if (!SOURCES.includes(p.kind)) throw invalid('kind', `kind must be one of ${SOURCES.join(', ')}`);
  if (!Number.isSafeInteger(p.amount) || p.amount <= 0) {
    throw invalid('amount', 'amount must be a whole number of minor units above 0');
  }
  if (typeof p.key !== 'string' || p.key.length === 0) throw invalid('key', 'key is required');
}

/**
 * The payment's idempotency fingerprint: where the money goes, how much and why (kind). The same key
 * asked again with any of these different is idempotency_key_reused. The free text (reference, payee
 * name) is left out: a payee renamed between a posting and its retry must replay the posting, not
 * turn it into an error the payments module cannot get past.
 */
export function paymentFingerprint(p: PaymentPosting): string {
  return requestFingerprint('payment', {
    kind: p.kind,
    owner_id: p.owner_id,
    from_account_id: p.from_account_id,
    to_account_id: p.to_account_id,
    amount: p.amount,
    currency: p.currency,
  });
}

/**
 * post_payment's outcome as the contract answers it: posted (now or replayed), a refusal the payments
 * module records against the payment, voided (its key was spent before: see TransactionsApi.pay), or,
 * for what it can never ask rightly, an error.
 */
export function paymentResult(posted: PaymentPosted): PaymentPostingResult {
  if (posted.outcome === 'posted') {
    if (!posted.entryId || !posted.createdAt) throw new Error('post_payment posted without an entry');
    return {
      outcome: 'posted',
      transaction_id: posted.entryId,
      created_at: posted.createdAt.toISOString(),
      replayed: posted.replayed,
    };
  }
  if (posted.outcome === 'voided') return { outcome: 'voided' };
  if (Object.hasOwn(REFUSALS, posted.outcome)) {
    return { outcome: 'refused', reason: REFUSALS[posted.outcome] };
  }
  const message = Object.hasOwn(BUGS, posted.outcome) ? BUGS[posted.outcome] : posted.outcome;
  throw new AppError(posted.httpStatus || 500, posted.outcome, message);
}
