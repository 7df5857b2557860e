import type { Caller } from '../context/request-context';
import { AppError } from '../errors/app-error';

/**
 * A password reset by e-mail proves only the mailbox, which may not be the customer's (an address mistyped
 * at registration, or a mailbox broken into). So the sessions opened for PASSWORD_RESET_HOLD_HOURS after it
 * carry `reset_hold_until`, and until then what would let the money leave (a new payee, a transfer to
 * another's account, a card's full number, at issue or revealed) or keep the owner from hearing of it
 * (the profile's phone number and address, a notice channel switched off) or give the account another
 * verified identity (a KYC re-submission: a new legal name payees would see) waits; the customer's own
 * accounts and existing payees do not. 403 recently_reset, naming `field` when one part of the request is
 * what is held; logged as the security event `reset_hold_refused` (tries to move money right after a reset
 * are what a takeover looks like).
 */
export function assertNoResetHold(caller: Caller, what: string, field?: string): void {
  if (!underResetHold(caller)) return;
  const until = caller.reset_hold_until!;
  throw new AppError(
    403,
    'recently_reset',
    `Your password was reset by e-mail: for your safety, ${what} waits until ${until}`,
    field ? [{ field, message: `held until ${until} after the password reset` }] : [],
  ).logged({ security_event: 'reset_hold_refused', user_id: caller.user_id, held: what });
}

/** Whether the caller's session is held now (its hold, if any, has not ended). */
export function underResetHold(caller: Caller): boolean {
  const until = caller.reset_hold_until;
  return until !== undefined && Date.parse(until) > Date.now();
}
