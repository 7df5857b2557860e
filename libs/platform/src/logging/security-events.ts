/**
 * Security events as they are logged (`security_event` on a log line: a refusal on a colleague's or one's
 * own resource, a lockout, a reused refresh token, …), handed to whoever listens: each app's metrics count
 * them (security_events_total), which the alerts watch. The logger is made before the apps' providers,
 * so it calls out here rather than holding a counter itself.
 */
type Listener = (event: string) => void;

/**
 * The events the alerts watch (docker/prometheus/rules/security.yml): their series start at 0 in every
 * app, so the first one is counted by increase() (a series born at 1 shows no increase) and the panels
 * have data before any happens.
 */
export const WATCHED_SECURITY_EVENTS = [
  'colleague_account',
  'own_account_refused',
  'own_card_refused',
  'own_kyc_refused',
  'own_user_refused',
  'own_notification_refused',
  'refresh_token_reuse',
  'login_lockout',
  'password_reset_not_sent',
  'staff_gate_timeout',
] as const;

const listeners = new Set<Listener>();

/** Calls `listener` with each security event logged in this process; returns how to stop. */
export function onSecurityEvent(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The event a log call's first argument names, if it names one (a short snake_case code). */
export function securityEventOf(first: unknown): string | undefined {
  if (typeof first !== 'object' || first === null) return undefined;
  const event = (first as { security_event?: unknown }).security_event;
  return typeof event === 'string' && /^[a-z][a-z0-9_]{0,63}$/.test(event) ? event : undefined;
}

export function emitSecurityEvent(event: string): void {
  for (const listener of listeners) listener(event);
}
