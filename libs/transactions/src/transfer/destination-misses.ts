import { Inject, Injectable } from '@nestjs/common';
import { AppConfig, AppError, LOGGER, RateLimiter, type Hit } from '@protobank/platform';
import type { Logger } from 'pino';

const BUCKET = 'transfer-misses';

const limited = (seconds: number) =>
  AppError.tooManyRequests(
    'rate_limited',
    'Too many transfers to accounts that do not exist, are closed or hold another currency',
    seconds,
  );

/**
 * Counts a customer's transfers refused for their destination (no such account, closed, another
 * currency): the answers that would let a client map which account numbers exist and what they are.
 * Once TRANSFER_MISS_LIMIT of them fall in one TRANSFER_MISS_WINDOW_SECONDS window, every transfer of
 * that customer is 429 until the window ends, before anything is looked up: refusing only the misses
 * would make the 429 itself the answer.
 *
 * A lookup by number is counted as a miss before it runs and released when the number exists, so
 * probes sent in parallel cannot all pass the limit before any of them is counted (the price: more
 * lookups by number in flight at once than the limit allows get 429 for the excess). Transfers by
 * account id, which no one can guess, are only checked against the block, so a customer's concurrent
 * payments to known accounts never meet the limit.
 */
@Injectable()
export class DestinationMisses {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** 429 while the customer is blocked. */
  async assertNotBlocked(userId: string): Promise<void> {
    const seconds = await this.limiter.lockedFor(BUCKET, userId);
    if (seconds > 0) throw limited(seconds);
  }

  /** Counts a lookup as a miss until released; 429 when the customer is past the limit. */
  async reserve(userId: string): Promise<Hit> {
    const hit = await this.hit(userId);
    if (!hit.allowed) {
      await this.block(userId, hit);
      throw limited(hit.retryAfter);
    }
    return hit;
  }

  /** The reserved lookup found its account. Best effort: the transfer goes on whatever Redis says. */
  async release(userId: string): Promise<void> {
    try {
      await this.limiter.release(BUCKET, userId);
    } catch (err) {
      this.logger.warn({ err }, 'transfer miss count not released');
    }
  }

  /** A reserved lookup was a miss: it stays counted, and blocks the customer if it was the last allowed. */
  async kept(userId: string, hit: Hit): Promise<void> {
    if (hit.count >= this.config.transferMissLimit) await this.block(userId, hit);
  }

  /**
   * A miss the ledger found (closed, another currency, no account with that id), after the lookup.
   * Best effort: the refusal itself is what the caller must get.
   */
  async record(userId: string): Promise<void> {
    try {
      await this.kept(userId, await this.hit(userId));
    } catch (err) {
      this.logger.warn({ err }, 'transfer miss not counted');
    }
  }

  private hit(userId: string): Promise<Hit> {
    return this.limiter.hit(
      BUCKET,
      userId,
      this.config.transferMissLimit,
      this.config.transferMissWindowSeconds,
    );
  }

  /** Blocks every transfer of the customer for the rest of the window (transfers by id check this). */
  private async block(userId: string, hit: Hit): Promise<void> {
    if ((await this.limiter.lockedFor(BUCKET, userId)) > 0) return;
    await this.limiter.lock(BUCKET, userId, hit.retryAfter);
    this.logger.warn(
      { security_event: 'transfer_misses_limited', user_id: userId, misses: hit.count },
      'transfers blocked: too many to accounts that do not exist or cannot take them',
    );
  }
}
