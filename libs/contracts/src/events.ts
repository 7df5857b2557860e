import type { ServiceName } from './contract';

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
  reason: string;
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

export interface EventMap {
  'user.registered': UserRegisteredEvent;
  'user.disabled': UserDisabledEvent;
  'user.role_changed': UserRoleChangedEvent;
  'kyc.submitted': KycSubmittedEvent;
  'kyc.verified': KycVerifiedEvent;
  'kyc.rejected': KycRejectedEvent;
  'transaction.created': TransactionCreatedEvent;
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
  notifications: ['user.registered', 'kyc.verified', 'kyc.rejected', 'transaction.created'],
  analytics: ['transaction.created'],
};
