import { AppError, IDEMPOTENCY_HEADER } from '@protobank/platform';

/** Why transactions.post_entries refused an item: facts about the request and the rows, not statuses. */
export const POSTING_REFUSALS = [
  'same_account',
  'debit_not_found',
  'credit_not_found',
  'own_account',
  'account_closed',
  'credit_account_closed',
  'account_frozen',
  'currency_mismatch',
  'already_reversed',
  'already_refunded',
  'insufficient_funds',
  'idempotency_key_reused',
] as const;

export type PostingRefusal = (typeof POSTING_REFUSALS)[number];
export type PostingOutcome = 'posted' | PostingRefusal;

export function isPostingOutcome(outcome: string): outcome is PostingOutcome {
  return outcome === 'posted' || (POSTING_REFUSALS as readonly string[]).includes(outcome);
}

interface Answer {
  status: number;
  code: string;
  message: string;
  /** The request field it is about: the debit or credit account's field (named by the caller), or fixed. */
  field?: 'debit' | 'credit' | 'currency' | 'idempotency';
  fieldMessage?: string;
}

/** How the API answers each refusal (the one place these statuses are chosen). */
const ANSWERS: Record<PostingRefusal, Answer> = {
  same_account: {
    status: 422,
    code: 'same_account',
    message: 'An account cannot pay itself',
    field: 'credit',
    fieldMessage: 'same account as the source',
  },
  debit_not_found: {
    status: 404,
    code: 'not_found',
    message: 'Account not found',
    field: 'debit',
    fieldMessage: 'no such account',
  },
  credit_not_found: {
    status: 404,
    code: 'not_found',
    message: 'Account not found',
    field: 'credit',
    fieldMessage: 'no such account',
  },
  own_account: { status: 403, code: 'own_account', message: 'Staff cannot move money on their own accounts' },
  account_closed: {
    status: 409,
    code: 'account_closed',
    message: 'The account is closed',
    field: 'debit',
    fieldMessage: 'this account is closed',
  },
  credit_account_closed: {
    status: 409,
    code: 'account_closed',
    message: 'The account to pay into is closed',
    field: 'credit',
    fieldMessage: 'this account is closed',
  },
  account_frozen: {
    status: 409,
    code: 'account_frozen',
    message: 'The account is frozen',
    field: 'debit',
    fieldMessage: 'this account is frozen: no money can leave it',
  },
  currency_mismatch: {
    status: 422,
    code: 'currency_mismatch',
    message: 'The currency does not match the account',
    field: 'currency',
    fieldMessage: 'the accounts do not hold this currency',
  },
  already_reversed: {
    status: 409,
    code: 'already_reversed',
    message: 'The transaction has already been reversed',
  },
  already_refunded: {
    status: 409,
    code: 'already_refunded',
    message:
      'The merchant has refunded this card payment (in full or in part); reversing it would pay the customer back twice',
  },
  insufficient_funds: {
    status: 422,
    code: 'insufficient_funds',
    message: 'Insufficient funds: this would take the balance below its overdraft limit',
    field: 'debit',
    fieldMessage: 'the account the money would leave cannot cover it (balance, holds and overdraft limit)',
  },
  idempotency_key_reused: {
    status: 422,
    code: 'idempotency_key_reused',
    message: `This ${IDEMPOTENCY_HEADER} was used with a different request`,
    field: 'idempotency',
    fieldMessage: 'use a new key for a different request',
  },
};

/** The HTTP status a refusal answers with. */
export const refusalStatus = (refusal: PostingRefusal): number => ANSWERS[refusal].status;

/**
 * A refusal as the API's error: its status, code, message and, where it is about one field, that field
 * (the debit and credit accounts' fields as the caller's request names them).
 */
export function refusalError(refusal: PostingRefusal, fields: { debit: string; credit: string }): AppError {
  const a = ANSWERS[refusal];
  if (!a.field) return new AppError(a.status, a.code, a.message);
  const field =
    a.field === 'debit'
      ? fields.debit
      : a.field === 'credit'
        ? fields.credit
        : a.field === 'idempotency'
          ? IDEMPOTENCY_HEADER
          : 'currency';
  return new AppError(a.status, a.code, a.message, [{ field, message: a.fieldMessage! }]);
}
