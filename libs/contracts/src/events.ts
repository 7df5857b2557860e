import type { ServiceName } from './contract';
import type { AuditResourceType, AuditState, StaffAction, StaffRole } from './staff-actions';
import type { KycRejectionCode } from './users/kyc-rejections';

/**
 * Every integration event, by name. Names are `<aggregate>.<past-tense>`. Payloads are versioned by
 * adding optional fields, never by changing or removing one.
 */
export interface EventBase {
  event_id: string;
  /** ISO 8601, UTC. */
  occurred_at: string;
}

export interface UserRegisteredEvent extends EventBase {
  user_id: string;
  email: string;
}

export interface UserDisabledEvent extends EventBase {
  user_id: string;
  /** The staff member who did it. */
  actor_id: string;
}

/**
 * The user changed their password (POST /auth/password), or reset it with the token a reset e-mail gave
 * them (POST /auth/password/reset/confirm: `via` 'reset'): every session of theirs ended, and the one that
 * changed it got a new one. Told to them as a security notice, in case it was not them.
 */
export interface UserPasswordChangedEvent extends EventBase {
  user_id: string;
  /** Set (to 'reset') when the password was reset by e-mail rather than changed with the current one. */
  via?: 'reset';
  /**
   * After a reset: until when the sessions after it are held (no new payees, no paying others, no card
   * numbers, no new phone or address), ISO 8601; absent when PASSWORD_RESET_HOLD_HOURS is 0.
   */
  held_until?: string;
}

/**
 * Staff had a password-reset e-mail sent on the user's behalf (POST /admin/auth/users/{id}/password-reset).
 * Told to them at once as a security notice on every channel they have, so that one who did not ask the
 * bank for it hears of it outside the mailbox the link went to.
 */
export interface UserPasswordResetRequestedEvent extends EventBase {
  user_id: string;
}

/**
 * The user proved they read the mailbox their account was registered with (a code e-mailed to it and typed
 * back in their session: POST /auth/email/verification/confirm). Notifications then send e-mail notices
 * other than security ones to `email`, and only while the profile's address is still this one.
 */
export interface UserEmailVerifiedEvent extends EventBase {
  user_id: string;
  email: string;
}

/**
 * The user added, changed or removed the phone number or the address on their profile (PATCH /users/me):
 * `changes` says which, and how. Told to them as a security notice without the values: whoever takes over
 * a session changes these first, so that the bank's calls and letters go to them.
 */
export interface UserContactChangedEvent extends EventBase {
  user_id: string;
  changes: { phone?: ContactChange; address?: ContactChange };
}

export type ContactChange = 'added' | 'changed' | 'removed';

/**
 * Wrong passwords reached LOGIN_MAX_FAILURES and auth locked a way in for `lock_seconds`: logins by e-mail
 * from clients the account has no device token of (`login`), one device's logins (`device`), or password
 * changes from the user's sessions (`password_change`). Told to them as a security notice: the wrong
 * passwords may be someone else's.
 */
export interface UserLockedOutEvent extends EventBase {
  user_id: string;
  scope: 'login' | 'device' | 'password_change';
  lock_seconds: number;
}

/**
 * Auth ended one of the user's sessions because a refresh token rotated earlier was presented again: a
 * copy of it is in someone's hands (or a client that lost its newer one retried). Told as a security notice.
 */
export interface UserSessionEndedEvent extends EventBase {
  user_id: string;
  reason: 'refresh_token_reused';
}

/**
 * A login succeeded from a client that showed no device token this account was issued (a new device, a
 * new browser, or one that forgot it), and not for the account's first sign-in. Told as a security
 * notice: a password in someone else's hands shows here first.
 */
export interface UserNewDeviceSignInEvent extends EventBase {
  user_id: string;
}

export interface UserRoleChangedEvent extends EventBase {
  user_id: string;
  role: 'customer' | 'staff' | 'admin';
  previous_role: 'customer' | 'staff' | 'admin';
  actor_id: string;
}

export interface KycSubmittedEvent extends EventBase {
  user_id: string;
}

export interface KycVerifiedEvent extends EventBase {
  user_id: string;
  reviewer_id: string;
  /** True when an already verified customer's change of legal name or date of birth was approved. */
  reverification?: boolean;
}

export interface KycRejectedEvent extends EventBase {
  user_id: string;
  reviewer_id: string;
  /**
   * What the customer is told: KYC_REJECTION_REASONS' wording for `reason_code`. Events written before
   * 2026-12-07 carry the reviewer's own text here and no code.
   */
  reason: string;
  reason_code?: KycRejectionCode;
  /** True when the change of an already verified customer was refused: they stay verified as before. */
  reverification?: boolean;
}

export type TransactionKind =
  'transfer' | 'deposit' | 'reversal' | 'card' | 'standing_order' | 'scheduled_payment' | 'fee';

/** A journal entry was posted: money moved from one ledger account to another. */
export interface TransactionCreatedEvent extends EventBase {
  transaction_id: string;
  kind: TransactionKind;
  /** Ledger account ids; a system account (cash, card settlement, fees) has no owner. */
  from_account_id: string;
  from_owner_id: string | null;
  to_account_id: string;
  to_owner_id: string | null;
  /** Minor units, a JSON integer. */
  amount: number;
  currency: string;
  reference: string | null;
  merchant: string | null;
  category: string | null;
  /** For a reversal: the entry it reverses. */
  reverses_id: string | null;
  created_at: string;
}

/**
 * Staff reversed a journal entry: the reversal (its own transaction.created, kind `reversal`) posted. Written
 * by the ledger in the reversal's transaction (post_entries_v04.sql), once per entry (an entry is reversed at
 * most once, and a reversal never). For modules whose records point at the entry: payments shows its
 * standing-order or scheduled payment as reversed, cards its card payment.
 */
export interface TransactionReversedEvent extends EventBase {
  /** The entry reversed. */
  transaction_id: string;
  /** Its kind (what a consumer filters on). */
  kind: TransactionKind;
  /** The reversing entry. */
  reversal_id: string;
  /** Minor units, a JSON integer: the whole entry (reversals are never partial). */
  amount: number;
  currency: string;
  reversed_at: string;
}

/**
 * A staff member acted on money, status or limits in the module that emits this (the ledger: freezes,
 * unfreezes, overdraft limits, deposits, reversals; payments: due sweeps run on demand; cards as it arrives). Written to that
 * module's outbox in the action's own transaction, so it exists if and only if the action committed; the
 * users module files it in the audit trail (idempotently, with occurred_at as the entry's time).
 */
export interface StaffActionRecordedEvent extends EventBase {
  /** A STAFF_ACTIONS name; a consumer keeps names it does not know yet (a newer producer may send them). */
  action: StaffAction;
  actor_id: string;
  actor_role: StaffRole;
  /** The customer affected (the owner of the account acted on, or debited); null when none is. */
  target_user_id: string | null;
  resource_type: AuditResourceType;
  resource_id: string;
  /** What the action changed, before and after it (null: nothing existed before, e.g. a deposit). */
  before: AuditState | null;
  after: AuditState | null;
  /** Why, as the staff member gave it (audit only: never the entry's reference); null when none was asked for. */
  reason: string | null;
}

/** What a payment pays from: a standing order's occurrence, or a one-off scheduled payment. */
export type PaymentSource = 'standing_order' | 'scheduled_payment';

/** Why a payment was not made: a ledger refusal, or the order's own state. */
export type PaymentFailureReason =
  | 'insufficient_funds'
  | 'account_frozen'
  | 'account_closed'
  | 'account_not_found'
  | 'payee_account_closed'
  | 'payee_account_not_found'
  | 'currency_mismatch'
  /**
   * An external payee (paid out through the UK's domestic schemes) in a currency other than GBP: refused
   * when an order is set up since 7de9af0; an order set up before fails its dates with this, and ends.
   */
  | 'currency_not_supported';

/** One payment (one due date of an order), as the payments module recorded it. */
interface PaymentEventBase extends EventBase {
  /** The payment (one occurrence of the order). */
  payment_id: string;
  source: PaymentSource;
  /** The standing order or scheduled payment it belongs to. */
  order_id: string;
  owner_id: string;
  from_account_id: string;
  payee_id: string;
  /** As the customer saved it: free text. */
  payee_name: string;
  /** Minor units, a JSON integer. */
  amount: number;
  currency: string;
  reference: string;
  /** The calendar date it was due (bank time zone), YYYY-MM-DD; paid on the next working day from it. */
  due_date: string;
  /** Paid (or failed) after its paying day had passed: the scheduler caught up after downtime. */
  late: boolean;
}

/** The money moved: the ledger posted the payment's entry. */
export interface PaymentExecutedEvent extends PaymentEventBase {
  transaction_id: string;
  executed_at: string;
}

/**
 * The payment failed for its due date and will not be tried again; nothing moved. `order_status` is the
 * order's status after it: `suspended` after too many failures in a row, `cancelled` when an account
 * closed, `active` when the next date will be tried.
 */
export interface PaymentFailedEvent extends PaymentEventBase {
  reason: PaymentFailureReason;
  attempts: number;
  order_status: 'active' | 'suspended' | 'cancelled' | 'completed' | 'failed';
}

/**
 * An external payee was paid: the money left the customer's account into the outbound clearing account,
 * and this is what a payment-scheme adapter needs to send it on (the adapter is not part of Protobank).
 */
export interface PaymentSentEvent extends EventBase {
  payment_id: string;
  transaction_id: string;
  amount: number;
  currency: string;
  /** Ours, for the scheme: the payer's account. */
  from_account_id: string;
  /** In the scheme's characters (schemeCarried), as `reference`. */
  payee_name: string;
  payee_sort_code: string;
  payee_account_number: string;
  reference: string;
  executed_at: string;
}

/** Why the issuer declined a card authorisation (the card network's request). */
export type CardDeclineReason =
  | 'insufficient_funds'
  | 'card_frozen'
  | 'card_blocked'
  | 'account_frozen'
  | 'card_cancelled'
  | 'expired'
  | 'invalid_card'
  | 'invalid_cvc'
  | 'limit_exceeded'
  | 'category_blocked'
  | 'channel_disabled'
  | 'currency_not_supported';

export type CardChannel = 'online' | 'contactless' | 'chip' | 'atm';

/** One authorisation request of a card of ours, as the cards module decided it. */
interface CardEventBase extends EventBase {
  /** The authorisation (approved: the hold's id too). */
  authorisation_id: string;
  card_id: string;
  /** The last four digits only: a card number never leaves the cards module. */
  last4: string;
  owner_id: string;
  account_id: string;
  /** Minor units, a JSON integer. */
  amount: number;
  currency: string;
  /** As the card network sent it: free text. */
  merchant_name: string;
  /** ISO 18245 merchant category code, four digits. */
  merchant_category_code: string;
  /** Our group of the code (groceries, eating_out, gambling, …), as statements and analytics show it. */
  category: string;
  channel: CardChannel;
}

/** Approved: the amount is held on the account (available balance down, balance unchanged). */
export type CardAuthorisedEvent = CardEventBase;

/** Declined: nothing is held. Only for a card of ours (an unknown card number has no one to tell). */
export interface CardDeclinedEvent extends CardEventBase {
  decline_reason: CardDeclineReason;
}

/**
 * Frozen by the bank's own rule, not by its owner: the fifth authorisation declined for wrong card
 * details (cards' CARD_DATA_FAILURE_LIMIT). Its owner is told (a security notice) and may unfreeze it.
 */
export interface CardFrozenEvent extends EventBase {
  card_id: string;
  /** The last four digits only. */
  last4: string;
  owner_id: string;
  account_id: string;
  reason: 'wrong_card_details';
  /** The declines that froze it. */
  failures: number;
}

/**
 * The owner was shown the card's full number and security code (POST /cards/{id}/reveal, with their
 * password). Told to them as a security notice: whoever holds their session and password can pay with it.
 */
export interface CardRevealedEvent extends EventBase {
  card_id: string;
  /** The last four digits only. */
  last4: string;
  owner_id: string;
}

/**
 * Money an approved authorisation held is the customer's again without a clearing: the network reversed
 * all or part of it (the merchant cancelled, or the network timed out on our answer), or its hold expired
 * (CARD_HOLD_EXPIRY_DAYS and no clearing). Once per change of what the authorisation has given back, so
 * a retried reversal tells nothing again. `amount` is what was authorised.
 */
export interface CardReleasedEvent extends CardEventBase {
  /** Given back by this release, minor units (> 0). */
  released: number;
  /** Still held after it (0: the hold has ended). */
  remaining: number;
  reason: 'reversed' | 'expired';
}

/**
 * Cleared by the network: the ledger posted `amount` (it may differ from the authorised amount) and
 * released the hold in one transaction. `forced`: no authorisation came before it (a forced post).
 */
export interface CardClearedEvent extends Omit<CardEventBase, 'authorisation_id' | 'channel'> {
  /** Null for a forced post. */
  authorisation_id: string | null;
  /** What was authorised (and held); null for a forced post. */
  authorised_amount: number | null;
  /**
   * What reversals or the hold's expiry had given back of `authorised_amount` before this clearing (told
   * then, card.released, for what was given back from 2026-12-07 on); null for a forced post. Absent from
   * events written before that: read 0.
   */
  released_amount: number | null;
  transaction_id: string;
  forced: boolean;
}

/**
 * A customer closed an account (empty, nothing pending on it): what spends or pays from it ends with it
 * (its cards are cancelled, its standing orders and scheduled payments cancelled).
 */
export interface AccountClosedEvent extends EventBase {
  account_id: string;
  owner_id: string;
}

export interface EventMap {
  'user.registered': UserRegisteredEvent;
  'user.disabled': UserDisabledEvent;
  'user.role_changed': UserRoleChangedEvent;
  'user.password_changed': UserPasswordChangedEvent;
  'user.password_reset_requested': UserPasswordResetRequestedEvent;
  'user.email_verified': UserEmailVerifiedEvent;
  'user.contact_changed': UserContactChangedEvent;
  'user.locked_out': UserLockedOutEvent;
  'user.session_ended': UserSessionEndedEvent;
  'user.new_device_sign_in': UserNewDeviceSignInEvent;
  'kyc.submitted': KycSubmittedEvent;
  'kyc.verified': KycVerifiedEvent;
  'kyc.rejected': KycRejectedEvent;
  'transaction.created': TransactionCreatedEvent;
  'transaction.reversed': TransactionReversedEvent;
  'staff_action.recorded': StaffActionRecordedEvent;
  'payment.executed': PaymentExecutedEvent;
  'payment.failed': PaymentFailedEvent;
  'payment.sent': PaymentSentEvent;
  'card.authorised': CardAuthorisedEvent;
  'card.declined': CardDeclinedEvent;
  'card.cleared': CardClearedEvent;
  'card.released': CardReleasedEvent;
  'card.frozen': CardFrozenEvent;
  'card.revealed': CardRevealedEvent;
  'account.closed': AccountClosedEvent;
}

export type EventName = keyof EventMap;
/** What a producer supplies; the outbox adds event_id and occurred_at. */
export type EventInput<N extends EventName> = Omit<EventMap[N], keyof EventBase>;

/**
 * Which service consumes which events. Every publisher declares these queues and bindings before it
 * publishes, so an event sent before its consumer has ever started waits in that consumer's queue
 * instead of being dropped by the broker. A service's @OnEvent handlers must all be listed here: the
 * app refuses to start otherwise.
 */
export const EVENT_SUBSCRIPTIONS: Partial<Record<ServiceName, readonly EventName[]>> = {
  auth: ['user.disabled', 'user.role_changed'],
  users: ['staff_action.recorded'],
  cards: ['account.closed', 'transaction.reversed'],
  payments: ['account.closed', 'transaction.reversed'],
  notifications: [
    'user.registered',
    'user.password_changed',
    'user.password_reset_requested',
    'user.email_verified',
    'user.contact_changed',
    'user.locked_out',
    'user.session_ended',
    'user.new_device_sign_in',
    'kyc.verified',
    'kyc.rejected',
    'transaction.created',
    'payment.executed',
    'payment.failed',
    'card.authorised',
    'card.declined',
    'card.cleared',
    'card.released',
    'card.frozen',
    'card.revealed',
  ],
  analytics: ['transaction.created'],
};

/**
 * Events a service consumed once and no longer does, unbound from its queue by every app that declares
 * it (the consumer and each publisher, as they declare the queue). Nothing else removes a binding, and an
 * event that reaches a consumer with no handler for it goes back to the queue until it is dead-lettered:
 * to drop a subscription, move it here from EVENT_SUBSCRIPTIONS. Older publishers still running bind it
 * again when they reconnect, until they are replaced; what they route meanwhile ends in the dead-letter
 * queue, where it can be purged (docs/runbook.md, DeadLetterQueueNotEmpty).
 */
export const RETIRED_EVENT_SUBSCRIPTIONS: Partial<Record<ServiceName, readonly string[]>> = {};
