/**
 * Where the payments module reads the time: the scheduler's "now" and "today". Bound to the system
 * clock; tests bind their own to move the scheduler across months.
 */
export interface Clock {
  now(): Date;
}

export const PAYMENTS_CLOCK = Symbol('PAYMENTS_CLOCK');

export const systemClock: Clock = { now: () => new Date() };
