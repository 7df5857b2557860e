import { defineContract } from '../contract';
import type { EventBase, PaymentFailureReason, PaymentSource, TransactionCreatedEvent } from '../events';
import type { Currency } from '../money';
import type { StaffChange } from '../staff-actions';

export type AccountStatus = 'active' | 'frozen' | 'closed';

/** What the ledger knows of an account: the source of truth for whether and how much money can move. */
export interface LedgerAccountState {
  account_id: string;
  owner_id: string;
  currency: Currency;
  status: AccountStatus;
  balance: bigint;
  overdraft_limit: bigint;
  /** Held by card authorisations not yet cleared, reversed or expired: part of balance, not spendable. */
  held: bigint;
  /**
   * What may be spent now: balance - held + overdraft_limit while active (never below 0), 0 when frozen
   * or closed.
   */
  available_balance: bigint;
  /** Bumped by every change of the account in the ledger; orders cached copies. */
  version: bigint;
  /** When this state was read. ISO 8601. */
  as_of: string;
}

export interface StatementLine {
  transaction_id: string;
  kind: string;
  reference: string | null;
  /** Signed: negative when money left the account. */
  amount: bigint;
  /** The account's balance right after this line. */
  balance: bigint;
  created_at: string;
}

export interface Statement {
  account_id: string;
  currency: Currency;
  opening_balance: bigint;
  closing_balance: bigint;
  lines: StatementLine[];
}

/** A journal entry exactly as `transaction.created` describes it, without the event's own id and time. */
export type LedgerEntry = Omit<TransactionCreatedEvent, keyof EventBase>;

/** Where a page of entries ends: the next page starts after this (created_at, id). */
export interface EntryPosition {
  created_at: string;
  id: string;
}

/** Most entries one call of `entries` returns. */
export const LEDGER_ENTRIES_MAX_PAGE = 1000;

/** One payment of a standing order or scheduled payment, as the payments module asks the ledger for it. */
export interface PaymentPosting {
  /**
   * The payment's one-entry key, derived from (order id, due date): the ledger posts at most one entry per
   * key and owner, so a repeated job, a redelivered call or a crash between posting and recording replays
   * the entry instead of paying again. A refusal is not kept under the key: the next attempt is decided anew.
   */
  key: string;
  kind: PaymentSource;
  /** The payer: the debit account must be theirs. */
  owner_id: string;
  from_account_id: string;
  /** An internal payee's account; null pays an external payee, through the outbound clearing account. */
  to_account_id: string | null;
  /** Minor units, above 0. */
  amount: number;
  currency: Currency;
  reference: string;
  /** Who was paid, as the entry's merchant when the payee is external (statements and insights show it). */
  payee_name: string;
}

export type PaymentPostingResult =
  | { outcome: 'posted'; transaction_id: string; created_at: string; replayed: boolean }
  | { outcome: 'refused'; reason: PaymentFailureReason };

export interface TransactionsApi {
  /** Opens the ledger side of a new customer account (idempotent for the same id). */
  openAccount(input: {
    account_id: string;
    owner_id: string;
    currency: Currency;
  }): Promise<LedgerAccountState>;
  /** The ledger state of these accounts; unknown ids are left out. */
  getStates(accountIds: string[]): Promise<LedgerAccountState[]>;
  /**
   * A staff freeze or unfreeze, decided under the ledger row's lock and reported as staff_action.recorded
   * in the same transaction. 404 unknown; 403 own_account (the actor owns the account); 409
   * account_closed, already_frozen, not_frozen; 403 frozen_by_other when a staff member (not an admin)
   * unfreezes a freeze someone else made: only its author or an admin lifts a freeze.
   */
  setStatus(accountId: string, status: 'active' | 'frozen', change: StaffChange): Promise<LedgerAccountState>;
  /** A staff change of the overdraft limit, as setStatus. 404 unknown; 403 own_account; 409 account_closed. */
  setOverdraftLimit(accountId: string, limit: bigint, change: StaffChange): Promise<LedgerAccountState>;
  /**
   * Closes an account whose balance is zero and that holds nothing. 409 balance_not_zero, holds_pending
   * (card authorisations not yet cleared, reversed or expired), account_frozen, account_closed.
   */
  close(accountId: string): Promise<LedgerAccountState>;
  /**
   * Opening balance before `from`, every posting in [from, to) with the balance after it, closing
   * balance. 422 statement_too_large beyond the line cap.
   */
  statement(accountId: string, from: string, to: string): Promise<Statement>;
  /**
   * Every journal entry in (created_at, id) order, the page after `after` (null: from the first), at most
   * `limit` (1 to LEDGER_ENTRIES_MAX_PAGE): lets a consumer of transaction.created rebuild what it derived
   * from those events. An entry committing while a reader pages may land behind its position (created_at
   * is taken before commit); its event still reaches the consumer.
   */
  entries(after: EntryPosition | null, limit: number): Promise<LedgerEntry[]>;
  /**
   * Posts one payment (see PaymentPosting) through the ledger's one posting path: funds, status and
   * ownership are checked under the row locks. A refusal is an outcome, not an error; errors are outages.
   */
  pay(payment: PaymentPosting): Promise<PaymentPostingResult>;
}

export const TRANSACTIONS_API = Symbol('TRANSACTIONS_API');

export const TransactionsContract = defineContract<TransactionsApi>({
  service: 'transactions',
  token: TRANSACTIONS_API,
  patterns: {
    openAccount: 'transactions.open-account',
    getStates: 'transactions.get-states',
    setStatus: 'transactions.set-status',
    setOverdraftLimit: 'transactions.set-overdraft-limit',
    close: 'transactions.close',
    statement: 'transactions.statement',
    entries: 'transactions.entries',
    pay: 'transactions.pay',
  },
});
