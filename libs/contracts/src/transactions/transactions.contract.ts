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
  /**
   * Who was paid or paid us: a card payment's or refund's merchant, an external payee's name; else null.
   * Absent from a transactions app older than the field.
   */
  merchant?: string | null;
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
  | { outcome: 'refused'; reason: PaymentFailureReason }
  /**
   * Its key was voided before (voidPayment): nothing was posted and nothing ever will be under it. The
   * payments module voids a key before it records a date failed, so this answers a retry of a date whose
   * failure was decided but not recorded (the recording failed, or the void's reply was lost).
   */
  | { outcome: 'voided' };

/** What became of a payment's key once voided: the entry it posted before, or nothing, ever. */
export type PaymentVoidResult =
  { outcome: 'posted'; transaction_id: string; created_at: string } | { outcome: 'voided' };

/**
 * Why the ledger declines a card authorisation (the rest of issue 13's reasons are the cards module's).
 * The ledger's `card_blocked` is the account's state: staff froze it (the cards module records and tells
 * it as `account_frozen`).
 */
export type CardHoldDeclineReason =
  'insufficient_funds' | 'limit_exceeded' | 'card_blocked' | 'card_cancelled' | 'currency_not_supported';

/** A card authorisation, as the cards module asks the ledger to decide it and hold the money. */
export interface CardHoldRequest {
  /** uuid, chosen by cards (its authorisation id). */
  hold_id: string;
  /** Idempotency: the same id replays the first decision (approved or declined), whatever else is sent. */
  network_transaction_id: string;
  card_id: string;
  account_id: string;
  /** The card's owner: the account must be theirs. */
  owner_id: string;
  /** Minor units, above 0. */
  amount: bigint;
  currency: Currency;
  merchant_name: string;
  /** Merchant category group (cards maps the MCC). */
  category: string;
  /**
   * The card's spending limits, checked under the account's row lock against the card's holds (active
   * or cleared) since the start of the bank day / month (BANK_TIME_ZONE). null: no limit.
   */
  daily_limit: bigint | null;
  monthly_limit: bigint | null;
  /** ISO 8601: when the hold lapses (expiredHolds lists it from then). */
  expires_at: string;
}

export type CardHoldResult =
  | { approved: true; hold_id: string; replayed: boolean }
  | { approved: false; decline_reason: CardHoldDeclineReason; replayed: boolean };

/** A card clearing: the final amount of a card payment, posted to the ledger. */
export interface CardClearing {
  /** The clearing's own id at the network: one posting per id, ever (a repeat replays it). */
  network_transaction_id: string;
  /** The authorisation's hold, released by the clearing; null: a forced post (no authorisation). */
  hold_id: string | null;
  card_id: string;
  account_id: string;
  owner_id: string;
  /** Minor units, above 0; may differ from the hold's (a tip, a partial shipment). */
  amount: bigint;
  currency: Currency;
  merchant_name: string;
  category: string;
}

export type CardClearingResult =
  | {
      transaction_id: string;
      created_at: string;
      /** Posted without an active hold: none given, or it had expired or been reversed. */
      forced: boolean;
      replayed: boolean;
    }
  | { refused: 'account_closed' | 'account_not_found' | 'currency_mismatch' | 'hold_not_found' };

export type CardHoldStatus = 'active' | 'cleared' | 'reversed' | 'expired';

export interface HoldRelease {
  hold_id: string;
  /** Minor units, above 0; null releases all that remains. More than remains releases what remains. */
  amount: bigint | null;
  /** The hold's status once nothing remains. */
  reason: 'reversed' | 'expired';
  /**
   * The network's id of a reversal: a release with one happens once per id, and a repeat returns the
   * first one's outcome (the same id for another hold or amount: 422 idempotency_key_reused). Without
   * one (a full reversal, an expiry) every call releases what remains.
   */
  network_transaction_id?: string | null;
}

export interface HoldReleaseResult {
  status: CardHoldStatus;
  /** Still held. */
  remaining: bigint;
  /** Released by this call: 0 when the hold was no longer active. */
  released: bigint;
}

/** A card refund: the merchant gives money back to the card's account. */
export interface CardRefund {
  /** The refund's id at the network: one credit per id, ever (a repeat replays it). */
  network_transaction_id: string;
  card_id: string;
  account_id: string;
  owner_id: string;
  /** Minor units, above 0. */
  amount: bigint;
  currency: Currency;
  merchant_name: string;
  category: string;
  /**
   * The payment refunded (its authorisation's hold), when the network named it: the refund is then
   * refused once staff reversed that payment (already_reversed), or when the payment's refunds would come
   * to more than it cleared (refund_exceeds_payment), and a staff reversal of a refunded payment is
   * refused. Absent: a refund by card number alone, checked against nothing.
   */
  hold_id?: string | null;
}

export type CardRefundResult =
  | { transaction_id: string; created_at: string; replayed: boolean }
  | {
      refused:
        | 'account_closed'
        | 'account_not_found'
        | 'currency_mismatch'
        | 'already_reversed'
        | 'refund_exceeds_payment';
    };

/** A hold as the ledger keeps it: whose, how much, and what became of it. */
export interface CardHold {
  hold_id: string;
  network_transaction_id: string;
  card_id: string;
  account_id: string;
  owner_id: string;
  /** Authorised, minor units. */
  amount: bigint;
  /** Still held. */
  remaining: bigint;
  currency: Currency;
  status: CardHoldStatus | 'declined';
  /**
   * The clearing's journal entry and its amount, once one was posted against the hold (cleared; or, as a
   * forced post, after it expired or was reversed); else null.
   */
  transaction_id: string | null;
  cleared_amount: bigint | null;
}

/** Most holds one call of expiredHolds returns. */
export const EXPIRED_HOLDS_MAX_PAGE = 1000;

/**
 * The largest amount, daily or monthly limit, or release the ledger takes in a card call: far above any
 * card payment, far below bigint's end. A card's limits are kept within it, or no authorisation on the
 * card could be asked.
 */
export const MAX_CARD_AMOUNT = 10n ** 15n;

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
   * A key voided before answers `voided`; the same key with another payment is idempotency_key_reused.
   */
  pay(payment: PaymentPosting): Promise<PaymentPostingResult>;
  /**
   * Settles a payment that must not be posted from now on, though a posting of it may have happened or
   * be on its way: its call failed (an outage, a lost reply) and its standing order was cancelled since,
   * or its date is about to be recorded failed (another sweep's call may still reach the ledger). If the key
   * posted, that entry: the money moved, the payment was made. Otherwise the key is spent, in the same
   * unique row a posting claims, so a posting of it still on its way (a timed-out call the ledger runs
   * late) is idempotency_key_reused and moves nothing. Voiding again answers the same.
   */
  voidPayment(payment: { key: string; owner_id: string }): Promise<PaymentVoidResult>;
  /**
   * Decides a card authorisation in one round trip, under the account's row lock: account (owner's,
   * open, active, currency), the card's daily and monthly limits, funds (balance - held + overdraft
   * limit). Approved: the amount is held (available_balance drops, balance does not). A decline is an
   * outcome, not an error; both are replayed for the same network_transaction_id.
   */
  authoriseCard(request: CardHoldRequest): Promise<CardHoldResult>;
  /**
   * Posts a clearing (kind card, to card settlement) and releases its hold in one transaction; posted
   * whatever the funds and on a frozen account (the money is owed). A refusal is an outcome; 422
   * idempotency_key_reused when the same network_transaction_id comes with another clearing.
   */
  clearCard(clearing: CardClearing): Promise<CardClearingResult>;
  /**
   * Releases all or part of an active hold (a reversal, an expiry). A hold no longer active is left as
   * it is and reported (released 0). 404 unknown hold.
   */
  releaseHold(release: HoldRelease): Promise<HoldReleaseResult>;
  /** Credits a card refund from card settlement; a frozen account is credited, a closed one refuses. */
  refundCard(refund: CardRefund): Promise<CardRefundResult>;
  /**
   * Active holds whose expires_at is at or before `now`, oldest first, at most `limit` (1 to
   * EXPIRED_HOLDS_MAX_PAGE): the cards module releases each with reason expired.
   */
  expiredHolds(now: string, limit: number): Promise<{ hold_id: string; card_id: string }[]>;
  /**
   * The hold (or recorded decline) with this id; null when there is none. What a replayed authorisation
   * holds: a retry that differs from its first attempt (another card, another amount) is recorded as the
   * first attempt was decided.
   */
  getHold(holdId: string): Promise<CardHold | null>;
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
    voidPayment: 'transactions.void-payment',
    authoriseCard: 'transactions.authorise-card',
    clearCard: 'transactions.clear-card',
    releaseHold: 'transactions.release-hold',
    refundCard: 'transactions.refund-card',
    expiredHolds: 'transactions.expired-holds',
    getHold: 'transactions.get-hold',
  },
});
