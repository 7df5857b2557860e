/**
 * The staff actions the audit trail records (users.audit_log, read with GET /admin/audit), by the module
 * that performs them. A module that acts on money, status or limits in its own schema reports each action
 * as `staff_action.recorded` from its outbox, in the action's transaction; the users module files it.
 * New actions are added here, never renamed: stored entries keep their names.
 */
export const STAFF_ACTIONS = [
  // users: written by the users module in the action's own transaction
  'role_changed',
  'user_disabled',
  'user_enabled',
  // a role or disabled flag asked again (the retry after a 503): nothing changes, the sessions end again
  'sessions_ended',
  'kyc_approved',
  'kyc_rejected',
  // the ledger (transactions): reported through staff_action.recorded
  'account_frozen',
  'account_unfrozen',
  'overdraft_limit_changed',
  'deposit_posted',
  'transaction_reversed',
  // payments: reported through staff_action.recorded
  'due_sweep_run',
  // cards: reported through staff_action.recorded
  'card_blocked',
  'card_unblocked',
  // notifications: reported through staff_action.recorded
  'delivery_retried',
  // analytics: reported through staff_action.recorded
  'analytics_rebuild_started',
  // auth: reported through staff_action.recorded (a reset e-mail sent to a colleague on an admin's request)
  'password_reset_requested',
  // reads: one user's data read by a staff member or an admin (accounts, statements, transactions, cards,
  // standing orders, profile, KYC, failed payments and deliveries), filed by users when the reading
  // module asks it (recordStaffRead)
  'customer_data_viewed',
] as const;
export type StaffAction = (typeof STAFF_ACTIONS)[number];

/** What an audit entry is about, with `resource_id`. */
export const AUDIT_RESOURCE_TYPES = [
  'user',
  'kyc',
  'account',
  'transaction',
  'payment_sweep',
  'card',
  'notification_delivery',
  'analytics_rebuild',
] as const;
export type AuditResourceType = (typeof AUDIT_RESOURCE_TYPES)[number];

export type StaffRole = 'staff' | 'admin';

/** Who performs a staff action, as the route that took it verified (token role; sessions end on a role change). */
export interface StaffActor {
  user_id: string;
  role: StaffRole;
}

/** What a staff read shows of one user (customer_data_viewed's `after.viewed`). */
export type StaffReadView =
  | 'accounts'
  | 'account'
  | 'statement'
  | 'transactions'
  | 'transaction'
  | 'cards'
  | 'card'
  | 'standing_orders'
  | 'profile'
  | 'kyc'
  | 'failed_payments'
  | 'failed_deliveries';

/**
 * A staff member's or an admin's read of users' data, as the audit trail files it: one entry per owner
 * shown (a transaction shows both sides' owners).
 */
export interface StaffRead {
  actor: StaffActor;
  /** Whose data it is (each entry's target_user_id). */
  owner_ids: string[];
  resource_type: AuditResourceType;
  /**
   * The resource read: an account, a card, a transaction; the owner's id for a list of theirs. Left out
   * for a list of several users' (a search, the KYC queue): each entry then names its own owner.
   */
  resource_id?: string;
  viewed: StaffReadView;
}

/** A staff change through a contract: who asks, and why (a plain-text reason, kept in the audit trail). */
export interface StaffChange {
  actor: StaffActor;
  reason: string;
}

/** A JSON object: an audit entry's `before` and `after`. */
export type AuditState = { [key: string]: string | number | boolean | null };
