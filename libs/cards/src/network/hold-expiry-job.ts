/** The cards module's BullMQ queue of hold-expiry sweeps, and of hold releases to be tried again. */
export const HOLD_EXPIRY_QUEUE = 'card-hold-expiry';

/**
 * A sweep (the job scheduler's, every CARD_HOLD_EXPIRY_SWEEP_SECONDS), or the release of a declined
 * authorisation's hold that the ledger could not take at the time (HoldReleases).
 */
export type HoldExpiryJob = { reason: 'schedule' } | { reason: 'release'; hold_id: string };
