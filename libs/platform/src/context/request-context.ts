import type { StaffActor, StaffRead, UsersApi } from '@protobank/contracts';
import { AsyncLocalStorage } from 'node:async_hooks';
import { AppError } from '../errors/app-error';
import { mayHoldCardNumber } from '../security/luhn';

/** Who is calling and under which request id; travels in HTTP headers and in message headers. */
export interface Caller {
  user_id: string;
  role: string;
  session_id?: string;
  /**
   * Set for 24 hours (PASSWORD_RESET_HOLD_HOURS) on the sessions opened after a password reset by e-mail:
   * until then the caller may not send money to others, see card numbers, change the phone number or
   * address, re-verify their identity with KYC or switch notices off (assertNoResetHold).
   */
  reset_hold_until?: string;
}

/** Staff and admins may read any customer's resources. */
export const isStaff = (caller: Caller): boolean => caller.role === 'staff' || caller.role === 'admin';

/** The caller as the actor of a staff action (routes that take one are for staff and admins only). */
export function staffActor(caller: Caller): StaffActor {
  if (caller.role !== 'staff' && caller.role !== 'admin') {
    throw new AppError(403, 'forbidden', 'Your role does not allow this');
  }
  return { user_id: caller.user_id, role: caller.role };
}

/**
 * Staff act on customers' accounts, cards, money and identity checks; a colleague's (a staff member's or
 * an admin's) take an admin. Otherwise a staff member could freeze, block or change the credit of someone
 * above them, who cannot undo it on their own account (never one's own: own_account, own_card, own_kyc),
 * and two colleagues could pay into or verify each other. 403 colleague_account, logged as a security
 * event (repeated attempts on colleagues are what an insider's probing looks like).
 */
export function assertMayActOnOwner(actor: StaffActor, ownerRole: string): void {
  refuseColleague(
    actor,
    ownerRole,
    "Only an admin acts on a staff member's or an admin's accounts, cards, money and identity checks",
  );
}

/**
 * Reads follow the same rule as changes: a staff member sees customers' accounts, balances, statements,
 * transactions, cards and standing orders, and their own, but a colleague's take an admin (403
 * colleague_account, logged). A staff member reading an admin's or a colleague's money is the insider
 * case the rule is for; a customer never gets here (their reads stop at the owner check, 404).
 *
 * Every read of another user's data by a staff member or an admin is filed in the audit trail
 * (customer_data_viewed, with what was read) before it is shown: users files it and answers the owner's
 * role in one call (UsersApi.recordStaffRead), so a read users cannot file is not served (the call's
 * error, 503 or 504). A role of null is an owner users does not know, which is no colleague.
 */
export function assertMaySeeOwner(
  caller: Caller,
  ownerId: string,
  users: Pick<UsersApi, 'recordStaffRead'>,
  read: Omit<StaffRead, 'actor' | 'owner_ids'>,
): Promise<void> {
  return assertMaySeeOwners(caller, [ownerId], users, read);
}

/**
 * assertMaySeeOwner for data of several owners at once (a transaction: both sides' accounts, null for
 * the bank's own). Not a staff read when the caller is one of them. A staff member is refused only when
 * every owner is a colleague (a transaction between a customer and a colleague is the customer's too, and
 * shown); what is shown is filed for every owner, colleagues included, in one call.
 */
export async function assertMaySeeOwners(
  caller: Caller,
  owners: (string | null)[],
  users: Pick<UsersApi, 'recordStaffRead'>,
  read: Omit<StaffRead, 'actor' | 'owner_ids'>,
): Promise<void> {
  if (!isStaff(caller) || owners.includes(caller.user_id)) return;
  const others = [...new Set(owners.filter((o): o is string => o !== null))];
  if (others.length === 0) return;
  const { owners: known } = await users.recordStaffRead({
    actor: staffActor(caller),
    owner_ids: others,
    ...read,
  });
  const roles = others.map((o) => known.find((k) => k.user_id === o)?.role ?? null);
  if (roles.every((r) => r !== null && r !== 'customer')) refuseColleague(caller, roles[0]!);
}

/**
 * assertMaySeeOwner's refusal without its filing, for a read asked of another module before there is
 * anything to file (a statement: the ledger may still answer 422, which files nothing). A staff member
 * reading a colleague's gets the 403 before that module is asked anything, so no answer of it (not even
 * a 422) tells them about the account; the read is filed with assertMaySeeOwner once there is something
 * to show.
 */
export async function assertNoColleagueRead(
  caller: Caller,
  ownerId: string,
  users: { getProfile(userId: string): Promise<{ role: string }> },
): Promise<void> {
  if (caller.role !== 'staff' || ownerId === caller.user_id) return;
  const role = await roleOf(users, ownerId);
  if (role !== null) refuseColleague(caller, role);
}

/**
 * A staff list of several users' rows (failed payments, failed deliveries), filed before it is shown: one
 * entry per owner on the page, the caller's own rows apart (assertMaySeeOwners would take one of them as
 * the caller's own read and file nothing). The list was already read without colleagues
 * (withoutColleagues); a page whose every owner became a colleague since is refused as a read of one.
 */
export function fileListRead(
  caller: Caller,
  owners: string[],
  users: Pick<UsersApi, 'recordStaffRead'>,
  viewed: StaffRead['viewed'],
): Promise<void> {
  const others = owners.filter((o) => o !== caller.user_id);
  return assertMaySeeOwners(caller, others, users, { resource_type: 'user', viewed });
}

/**
 * `rows` as a staff caller may list them: without those whose owner is a colleague (assertMaySeeOwner's
 * rule, for lists; the caller's own and customers' stay). Anyone else gets them all. Users is asked once
 * per owner.
 */
export async function withoutColleagues<R>(
  caller: Caller,
  rows: R[],
  ownerOf: (row: R) => string,
  roleOf: (userId: string) => Promise<string | null>,
): Promise<R[]> {
  if (caller.role !== 'staff') return rows;
  const others = [...new Set(rows.map(ownerOf))].filter((o) => o !== caller.user_id);
  const roles = new Map(await Promise.all(others.map(async (o) => [o, await roleOf(o)] as const)));
  return rows.filter((r) => (roles.get(ownerOf(r)) ?? 'customer') === 'customer');
}

/** A user's role as users has it now, or null when users knows no such user (for assertMaySeeOwner). */
export async function roleOf(
  users: { getProfile(userId: string): Promise<{ role: string }> },
  userId: string,
): Promise<string | null> {
  try {
    return (await users.getProfile(userId)).role;
  } catch (err) {
    if (err instanceof AppError && err.status === 404) return null;
    throw err;
  }
}

/** roleOf for one request that asks about many owners (a list read in batches): each asked once. */
export function rolesOf(users: {
  getProfile(userId: string): Promise<{ role: string }>;
}): (userId: string) => Promise<string | null> {
  const asked = new Map<string, Promise<string | null>>();
  return (userId) => {
    let role = asked.get(userId);
    if (!role) asked.set(userId, (role = roleOf(users, userId)));
    return role;
  };
}

/** The OpenAPI description of the 403 a staff member's read of a colleague's gets. */
export const COLLEAGUE_READ_FORBIDDEN =
  "colleague_account: a colleague's (a staff member's or an admin's), for staff";

const SEE_COLLEAGUE =
  "Only an admin sees a staff member's or an admin's data (profile, accounts, cards, money and payments)";

/**
 * 403 colleague_account (logged) for a staff member and an owner who is not a customer; else nothing.
 * The message is a read's unless given.
 */
export function refuseColleague(
  actor: { user_id: string; role: string },
  ownerRole: string,
  message = SEE_COLLEAGUE,
): void {
  if (ownerRole !== 'customer' && actor.role !== 'admin') {
    throw new AppError(403, 'colleague_account', message).logged({
      user_id: actor.user_id,
      actor_role: actor.role,
      owner_role: ownerRole,
    });
  }
}

export interface RequestContext {
  requestId: string;
  caller?: Caller;
}

const storage = new AsyncLocalStorage<RequestContext>();

export const requestContext = {
  run<T>(ctx: RequestContext, fn: () => T): T {
    return storage.run(ctx, fn);
  },
  current(): RequestContext | undefined {
    return storage.getStore();
  },
  requestId(): string | undefined {
    return storage.getStore()?.requestId;
  },
  setCaller(caller: Caller): void {
    const store = storage.getStore();
    if (store) store.caller = caller;
  },
};

/** Header names used on HTTP and on AMQP messages. */
export const REQUEST_ID_HEADER = 'x-request-id';
export const CALLER_HEADER = 'x-caller';

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * A client-supplied request id is kept only when it is short, made of safe characters, and holds nothing
 * shaped like a card number (it is logged and echoed: helper-121 had a PAN written to the log that way).
 */
export function acceptRequestId(value: unknown): string | undefined {
  return typeof value === 'string' && REQUEST_ID_PATTERN.test(value) && !mayHoldCardNumber(value)
    ? value
    : undefined;
}
