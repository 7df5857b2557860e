import type { SigningKey } from './key-files';

/** Slack beyond the last moment a retired key can have signed, for clocks that differ between hosts. */
export const RETIREMENT_MARGIN_SECONDS = 60;

export interface KeyPolicy {
  accessTokenTtlSeconds: number;
  /** How often every auth instance re-reads its keys: one may sign with a retired key for this long. */
  refreshSeconds: number;
}

export interface KeySchedule {
  /** The key new tokens are signed with: the newest whose time has come. */
  signing: SigningKey;
  /** Every key that still verifies, with the end of its window (seconds since the epoch; null: open). */
  verifying: { key: SigningKey; verifyUntil: number | null }[];
}

/**
 * Which key signs and which keys verify, from the keys (oldest first) and the clock alone, so that every
 * auth instance reading the same directory agrees. A key retires when a newer one starts signing; it
 * verifies until every token it can have signed has expired (the newer key's start, plus one refresh
 * period for instances that have not seen the newer key yet, plus the access-token lifetime, plus a
 * margin), then it is gone. A key dated in the future is published at once and signs from its date.
 */
export function keySchedule(keys: SigningKey[], nowMs: number, policy: KeyPolicy): KeySchedule {
  if (keys.length === 0) throw new Error('no signing key');
  const current = keys.filter((k) => k.createdAt <= nowMs);
  const signing = current.length ? current[current.length - 1] : keys[0];
  const now = Math.floor(nowMs / 1000);
  const verifying: KeySchedule['verifying'] = [];
  keys.forEach((key, i) => {
    const next = keys[i + 1];
    const verifyUntil = next
      ? Math.ceil(next.createdAt / 1000) +
        policy.refreshSeconds +
        policy.accessTokenTtlSeconds +
        RETIREMENT_MARGIN_SECONDS
      : null;
    if (verifyUntil === null || verifyUntil > now) verifying.push({ key, verifyUntil });
  });
  return { signing, verifying };
}
