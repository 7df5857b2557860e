import { defineContract } from '../contract';
import type { StaffRead } from '../staff-actions';

export interface UserView {
  id: string;
  email: string;
  full_name: string;
  /**
   * The verified name in Latin letters as the identity document spells it (given with KYC, for a legal
   * name in a script with no Latin spelling); null when none was given.
   */
  latin_name: string | null;
  role: 'customer' | 'staff' | 'admin';
  created_at: string;
  /** A disabled user cannot log in and has no sessions. */
  disabled: boolean;
}

export interface CreateUserInput {
  id: string;
  email: string;
  full_name: string;
  /** Defaults to customer; only the startup admin bootstrap passes another role. */
  role?: 'customer' | 'staff' | 'admin';
}

/** How to reach a user: for notifications, which resolve it when they deliver (so it is always current). */
export interface UserContact {
  user_id: string;
  full_name: string;
  email: string;
  /** E.164, or null when the user gave none. */
  phone: string | null;
  disabled: boolean;
}

export type KycStatus = 'not_submitted' | 'pending' | 'verified' | 'rejected';

/** A phone number as profiles hold it: E.164 ("+" and 7 to 15 digits, no leading zero). */
export const E164_PHONE = /^\+[1-9]\d{6,14}$/;

/** The most user ids one getContacts call takes (a larger call is a 400 too_many_ids). */
export const MAX_CONTACT_IDS = 100;

export interface UsersApi {
  /**
   * Creates the profile; idempotent for the same id and e-mail, taking the latest call's name (the
   * registration now holding the e-mail's claim). 409 email_taken when another user has the e-mail.
   */
  create(input: CreateUserInput): Promise<UserView>;
  /** 404 when there is no such user. */
  getProfile(userId: string): Promise<UserView>;
  /** Where the user's KYC stands (accounts may only be opened when verified). 404 when there is no such user. */
  getKycStatus(userId: string): Promise<{ status: KycStatus }>;
  /** Contacts of the users that exist among `userIds` (unknown ids are left out), at most MAX_CONTACT_IDS ids. */
  getContacts(userIds: string[]): Promise<UserContact[]>;
  /**
   * A staff member's or an admin's read of the data of `owner_ids`, asked before it is shown: files it in
   * the audit trail (customer_data_viewed, one entry per owner users knows) and answers those owners'
   * roles, so the reading module applies the colleague rule with the same call (assertMaySeeOwner). The
   * rule, applied here as the reader applies it: a staff member's read whose owners are all known and all
   * colleagues (staff or admins) is refused by the reader, and filed for no one; any other read is shown,
   * and filed for every owner, colleagues too.
   */
  recordStaffRead(read: StaffRead): Promise<{ owners: { user_id: string; role: UserView['role'] }[] }>;
}

export const USERS_API = Symbol('USERS_API');

export const UsersContract = defineContract<UsersApi>({
  service: 'users',
  token: USERS_API,
  patterns: {
    create: 'users.create',
    getProfile: 'users.get-profile',
    getKycStatus: 'users.get-kyc-status',
    getContacts: 'users.get-contacts',
    recordStaffRead: 'users.record-staff-read',
  },
});
