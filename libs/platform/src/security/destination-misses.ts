import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { AppConfig } from '../config/app-config';
import { AppError } from '../errors/app-error';
import { LOGGER } from '../logging/logging.tokens';
import { RateLimiter, type Hit } from './rate-limiter';

const BUCKET = 'transfer-misses';
/**
 * Lookups by number running now, per customer: only to tell the two 429s apart. Its window bounds what a
 * process that died mid-lookup leaves counted; it runs from the first lookup and is not renewed, so a
 * burst spanning its end is under-counted and part of it told `rate_limited` (never let through).
 */
const IN_FLIGHT = 'transfer-lookups';
const IN_FLIGHT_SECONDS = 60;
/** Requests (an order's Idempotency-Key) whose refusal was counted, so that a retry is not counted again. */
const COUNTED = 'transfer-miss-counted';

const limited = (seconds: number) =>
  AppError.tooManyRequests(
    'rate_limited',
    'Too many transfers to accounts that do not exist, are closed or hold another currency',
    seconds,
  );

const busy = () =>
  AppError.tooManyRequests(
    'lookups_busy',
    'Too many transfers or payees by account number are being checked at once',
    1,
  );

/**
 * Counts a customer's transfers refused for their destination (no such account, closed, another
 * currency), and internal payees refused for a number with no account (the payments module saves them
 * under the same count): the answers that would let a client map which account numbers exist and what
 * they are.
 * Once TRANSFER_MISS_LIMIT of them fall in one TRANSFER_MISS_WINDOW_SECONDS window, every transfer by
 * account number of that customer is 429 until the window ends, before anything is looked up: refusing
 * only the misses would make the 429 itself the answer.
 *
 * A lookup by number is counted as a miss before it runs, and given back when the number exists, so
 * probes sent in parallel cannot all pass the limit before any of them is counted. A lookup refused
 * because the count is past the limit is given back before its 429 too: only real misses stay counted,
 * so a customer whose misses reached the limit stays blocked until the window ends, while one who only
 * sent more lookups at once than the limit allows gets 429 for the excess in flight and nothing after.
 * The two 429s differ: past the limit it is `rate_limited` with the window's Retry-After; with only
 * lookups in flight filling it, `lookups_busy` with Retry-After 1 (told `rate_limited` and an hour, a
 * client paying many payees by number at once would stop for the hour; helper-117, 2026-12-06). A second
 * counter of the lookups in flight tells them apart; read beside the first, not atomically with it, so a
 * lookup racing others may be told the one where the other was due, never let through.
 * Transfers by account id, which no one can guess, are not held up at all (their closed and
 * other-currency refusals still count), so a customer's payments to known accounts never meet the limit.
 */
@Injectable()
export class DestinationMisses {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * Looks an account number up as a counted miss: reserved before `find` runs, given back when it finds
   * the account (or fails for another reason), kept when it answers 404, which `missing` replaces.
   */
  async lookUp<T>(userId: string, find: () => Promise<T>, missing: () => AppError): Promise<T> {
    const hit = await this.reserve(userId);
    let found: T;
    try {
      found = await find();
    } catch (err) {
      if (err instanceof AppError && err.status === 404) {
        // The miss stays counted; only its place among the lookups in flight is given back.
        void this.release(userId, { miss: false, inFlight: true });
        this.kept(userId, hit);
        throw missing();
      }
      await this.release(userId);
      throw err;
    }
    await this.release(userId);
    return found;
  }

  /** Counts a lookup as a miss until released; 429 (counting nothing) when the customer is past the limit. */
  private async reserve(userId: string): Promise<Hit> {
    const [counted, running] = await Promise.allSettled([
      this.hit(userId),
      this.limiter.hit(IN_FLIGHT, userId, Number.POSITIVE_INFINITY, IN_FLIGHT_SECONDS),
    ]);
    if (counted.status === 'rejected' || running.status === 'rejected') {
      // Redis failed one of the two: what the other took is given back, and the lookup fails as Redis did.
      await this.release(userId, {
        miss: counted.status === 'fulfilled',
        inFlight: running.status === 'fulfilled',
      });
      throw counted.status === 'rejected' ? counted.reason : (running as PromiseRejectedResult).reason;
    }
    const [hit, inFlight] = [counted.value, running.value];
    if (!hit.allowed) {
      // Not a miss: kept, it would push the count past the limit for the rest of the window even when no
      // lookup ever missed. The misses that filled the limit stay counted, so the block still holds.
      await this.release(userId);
      // Both counts hold this lookup; what the first holds beyond the lookups in flight are kept misses.
      if (hit.count - inFlight.count < this.config.transferMissLimit) throw busy();
      throw limited(hit.retryAfter);
    }
    return hit;
  }

  /** The reserved lookup found its account. Best effort: the transfer goes on whatever Redis says. */
  private async release(userId: string, taken = { miss: true, inFlight: true }): Promise<void> {
    try {
      await Promise.all([
        taken.miss && this.limiter.release(BUCKET, userId),
        taken.inFlight && this.limiter.release(IN_FLIGHT, userId),
      ]);
    } catch (err) {
      this.logger.warn({ err }, 'transfer miss count not released');
    }
  }

  /** A miss stays counted; the last one allowed is a security event. */
  private kept(userId: string, hit: Hit): void {
    if (hit.count !== this.config.transferMissLimit) return;
    this.logger.warn(
      { security_event: 'transfer_misses_limited', user_id: userId, misses: hit.count },
      'transfers by number blocked: too many to accounts that do not exist or cannot take them',
    );
  }

  /**
   * A miss the ledger found (closed, another currency, no account with that id), after the lookup.
   * Best effort: the refusal itself is what the caller must get.
   */
  async record(userId: string): Promise<void> {
    try {
      this.kept(userId, await this.hit(userId));
    } catch (err) {
      this.logger.warn({ err }, 'transfer miss not counted');
    }
  }

  /**
   * An order refused for a saved internal payee's account (closed, another currency): the payee was saved
   * by number, and the refusal tells that account's state as a transfer's would. Counted once per `once`
   * (the order's Idempotency-Key: a client's retry is not counted again, and is answered as before), and
   * past the limit refused 429 rate_limited instead, counting nothing: no new order answers it then.
   */
  async refusedOnce(userId: string, once: string): Promise<void> {
    const marker = `${userId}:${once}`;
    const first = await this.limiter.hit(COUNTED, marker, 1, this.config.transferMissWindowSeconds);
    if (!first.allowed) return;
    const hit = await this.hit(userId);
    if (!hit.allowed) {
      // Neither counted: a retry under this key is refused as this one, not answered as a counted one.
      await Promise.all([this.limiter.release(BUCKET, userId), this.limiter.release(COUNTED, marker)]).catch(
        (err: unknown) => this.logger.warn({ err }, 'transfer miss count not released'),
      );
      throw limited(hit.retryAfter);
    }
    this.kept(userId, hit);
  }

  private hit(userId: string): Promise<Hit> {
    return this.limiter.hit(
      BUCKET,
      userId,
      this.config.transferMissLimit,
      this.config.transferMissWindowSeconds,
    );
  }
}
