import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Currency } from '@protobank/contracts';
import { AppConfig, OutboxService, RedisScript, RedisService, todayIn } from '@protobank/platform';
import { timingSafeEqual } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import { CardKeys } from '../data/card-keys';
import { categoryOf, type CategoryGroup } from '../data/categories';
import { hasExpired, PAN_LENGTH } from '../data/pan';
import { CardsConfig } from '../cards.config';

/** A card as the card network's side needs it: never the number, the CVC or the ciphertext. */
export interface CardRecord {
  id: string;
  last4: string;
  owner_id: string;
  account_id: string;
  currency: Currency;
  /** The customer's status. */
  status: 'active' | 'frozen' | 'cancelled';
  /** Blocked by staff: declined whatever the status. */
  blocked: boolean;
  expiry_month: number;
  expiry_year: number;
  limits: {
    per_transaction: bigint | null;
    daily: bigint | null;
    monthly: bigint | null;
    online: boolean;
    contactless: boolean;
    atm: boolean;
    blocked_categories: CategoryGroup[];
  };
}

/** Why a card cannot pay, in the order an authorisation checks it; null when it can. */
export type CardStateDecline = 'card_cancelled' | 'card_blocked' | 'card_frozen' | null;

/** What checking the card data the network sent can find wrong; null when it matches the card. */
export type CardDataDecline = 'expired' | 'invalid_card' | 'invalid_cvc' | null;

interface Row {
  id: string;
  last4: string;
  owner_id: string;
  account_id: string;
  currency: Currency;
  status: CardRecord['status'];
  blocked_by_staff: boolean;
  expiry_month: number;
  expiry_year: number;
  limit_per_transaction: string | null;
  limit_daily: string | null;
  limit_monthly: string | null;
  online_allowed: boolean;
  contactless_allowed: boolean;
  atm_allowed: boolean;
  blocked_categories: CategoryGroup[];
}

const big = (v: string | null) => (v === null ? null : BigInt(v));

/**
 * Authorisations declined for wrong card details (an expiry or a CVC other than the card's) after which
 * the card is frozen, counted by network id (a retry counts once) within a day of the last one and since
 * its owner last unfroze it: 1,000 CVCs otherwise take at most 1,000 authorisations to find, from a
 * number alone. A frozen card answers card_frozen before its data is looked at, so guessing stops there.
 */
export const CARD_DATA_FAILURE_LIMIT = 5;
const DATA_FAILURE_WINDOW_MS = 24 * 3600_000;
const dataFailuresKey = (cardId: string) => `cards:data-failures:${cardId}`;
/** The network ids whose card data is being checked right now (see admitDataCheck). */
const dataChecksKey = (cardId: string) => `cards:data-checks:${cardId}`;
/** A check whose process died before settling stops counting after this. */
const DATA_CHECK_TTL_MS = 30_000;
/** How long a check waits for the ones before it to settle, polling every DATA_CHECK_POLL_MS. */
const DATA_CHECK_WAIT_MS = 3_000;
const DATA_CHECK_POLL_MS = 20;

/**
 * One check of the data sent under a network id may start when the card's wrong-details declines
 * (KEYS[1]) plus the checks under way (KEYS[2]) are fewer than the limit (ARGV[2]); it then joins the
 * checks under way. Answers 1 (admitted: a retry of a failure is always, and fails again, counted once),
 * 0 (wait: checks under way could reach the limit) or -1 (the limit is reached: the card is frozen).
 */
const ADMIT_DATA_CHECK = new RedisScript(`
local failed = redis.call('SCARD', KEYS[1])
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 1 end
if failed >= tonumber(ARGV[2]) then return -1 end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then
  if failed + redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[2]) then return 0 end
  redis.call('SADD', KEYS[2], ARGV[1])
end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
`);

/** Whether a check of the card data may go ahead (see CardDirectory.admitDataCheck). */
export type DataCheckAdmission = 'admitted' | 'frozen' | 'busy';

/**
 * The cards module's internal API for the card network routes (issue 13, part C): find a card by the
 * number the network sends (through its keyed hash: no query ever holds a clear number), check the
 * expiry and CVC it sent, say whether its state lets it pay, and map merchant category codes. In the
 * cards module, so it is not a contract: nothing outside cards may ask for card data.
 */
@Injectable()
export class CardDirectory {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly keys: CardKeys,
    private readonly config: AppConfig,
    private readonly cardsConfig: CardsConfig,
    private readonly redis: RedisService,
    private readonly outbox: OutboxService,
  ) {}

  /** The card with this number; null when there is none (or the input is not a 16-digit number). */
  async lookupByPan(pan: string, m: EntityManager = this.dataSource.manager): Promise<CardRecord | null> {
    if (typeof pan !== 'string' || pan.length !== PAN_LENGTH || !/^\d+$/.test(pan)) return null;
    return this.find(m, 'pan_hash = $1', this.keys.hash(pan));
  }

  /** The card with this id; null when there is none. */
  async byId(id: string, m: EntityManager = this.dataSource.manager): Promise<CardRecord | null> {
    return this.find(m, 'id = $1', id);
  }

  private async find(m: EntityManager, where: string, value: unknown): Promise<CardRecord | null> {
    const [row] = (await m.query(
      `SELECT id, last4, owner_id, account_id, currency, status, blocked_by_staff, expiry_month, expiry_year,
              limit_per_transaction, limit_daily, limit_monthly, online_allowed, contactless_allowed,
              atm_allowed, blocked_categories
         FROM cards.cards WHERE ${where}`,
      [value],
    )) as Row[];
    if (!row) return null;
    return {
      id: row.id,
      last4: row.last4,
      owner_id: row.owner_id,
      account_id: row.account_id,
      currency: row.currency,
      status: row.status,
      blocked: row.blocked_by_staff,
      expiry_month: row.expiry_month,
      expiry_year: row.expiry_year,
      limits: {
        per_transaction: big(row.limit_per_transaction),
        daily: big(row.limit_daily),
        monthly: big(row.limit_monthly),
        online: row.online_allowed,
        contactless: row.contactless_allowed,
        atm: row.atm_allowed,
        blocked_categories: row.blocked_categories,
      },
    };
  }

  /**
   * Checks the expiry and (when sent) the CVC the network gave for `card`, found by `pan`: an expiry
   * other than the card's is invalid_card, a card past its expiry is expired, a CVC other than the
   * derived one is invalid_cvc (compared in constant time).
   */
  checkCardData(
    card: CardRecord,
    pan: string,
    sent: { expiry_month: number; expiry_year: number; cvc?: string | null },
    now = new Date(),
  ): CardDataDecline {
    if (sent.expiry_month !== card.expiry_month || sent.expiry_year !== card.expiry_year)
      return 'invalid_card';
    if (hasExpired(card.expiry_month, card.expiry_year, todayIn(this.config.bankTimeZone, now)))
      return 'expired';
    if (sent.cvc !== undefined && sent.cvc !== null && !this.checkCvc(card, pan, sent.cvc))
      return 'invalid_cvc';
    return null;
  }

  /**
   * Admits a check of the card data sent under `networkId`, before it is made. Guesses sent in parallel
   * each read the card before any of their failures froze it, so counting failures afterwards let a
   * right guess among hundreds through: now a check starts only while the card's wrong-details declines
   * plus the checks under way are fewer than CARD_DATA_FAILURE_LIMIT, so no more than that many wrong guesses
   * are ever checked. A check that cannot start yet waits for the ones before it (a few milliseconds
   * each; ordinary payments of one card at once wait so); `frozen` once the declines reach the limit,
   * `busy` if it waited DATA_CHECK_WAIT_MS in vain (only under such a flood). Every admitted check is
   * settled (settleDataCheck). Without Redis, admitted: the authorisation is decided all the same.
   */
  async admitDataCheck(card: CardRecord, networkId: string): Promise<DataCheckAdmission> {
    const deadline = Date.now() + DATA_CHECK_WAIT_MS;
    for (;;) {
      const answer = await ADMIT_DATA_CHECK.run(
        this.redis.client,
        [dataFailuresKey(card.id), dataChecksKey(card.id)],
        [networkId, CARD_DATA_FAILURE_LIMIT, DATA_CHECK_TTL_MS],
      ).catch(() => 1);
      if (answer === 1) return 'admitted';
      if (answer === -1) return 'frozen';
      if (Date.now() >= deadline) return 'busy';
      await new Promise((resolve) => setTimeout(resolve, DATA_CHECK_POLL_MS));
    }
  }

  /**
   * Ends an admitted check: a wrong expiry or CVC (`failed`) joins the card's declines in the same step
   * as it leaves the checks under way, so it always counts in one or the other, and the card is frozen (if
   * active) once they make CARD_DATA_FAILURE_LIMIT, with card.frozen (its owner's notice). Declines are
   * counted by network id (a retry counts once) within a day of the last one. Answers whether this call
   * froze the card. Without Redis nothing is counted.
   */
  async settleDataCheck(card: CardRecord, networkId: string, failed: boolean): Promise<boolean> {
    const checks = dataChecksKey(card.id);
    if (!failed) {
      await this.redis.client.srem(checks, networkId).catch(() => undefined);
      return false;
    }
    const key = dataFailuresKey(card.id);
    const answers = await this.redis.client
      .multi()
      .sadd(key, networkId)
      .pexpire(key, DATA_FAILURE_WINDOW_MS)
      .srem(checks, networkId)
      .scard(key)
      .exec()
      .catch(() => null);
    const failures = Number(answers?.[3]?.[1] ?? 0);
    if (failures < CARD_DATA_FAILURE_LIMIT) return false;
    // The freeze and its notice in one transaction: frozen means told.
    return this.dataSource.transaction(async (m) => {
      const [rows] = (await m.query(
        `UPDATE cards.cards SET status = 'frozen', updated_at = now() WHERE id = $1 AND status = 'active' RETURNING id`,
        [card.id],
      )) as [unknown[], number];
      if (rows.length === 0) return false;
      await this.outbox.add(m, 'cards', 'card.frozen', {
        card_id: card.id,
        last4: card.last4,
        owner_id: card.owner_id,
        account_id: card.account_id,
        reason: 'wrong_card_details',
        failures,
      });
      return true;
    });
  }

  /** Forgets a card's wrong-details declines: its owner unfroze it. */
  async forgetDataFailures(cardId: string): Promise<void> {
    await this.redis.client.del(dataFailuresKey(cardId)).catch(() => undefined);
  }

  /** Whether `cvc` is the card's (derived from its number and expiry, never stored). */
  checkCvc(card: CardRecord, pan: string, cvc: string): boolean {
    const expected = Buffer.from(this.keys.cvc(pan, card.expiry_month, card.expiry_year));
    const given = Buffer.from(String(cvc));
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /** Cancelled, then a staff block, then the customer's freeze: the first that applies. */
  stateDecline(card: CardRecord): CardStateDecline {
    if (card.status === 'cancelled') return 'card_cancelled';
    if (card.blocked) return 'card_blocked';
    if (card.status === 'frozen') return 'card_frozen';
    return null;
  }

  categoryOf(mcc: string): CategoryGroup {
    return categoryOf(mcc);
  }

  /** The accepted signing secrets of the network's requests (several during a rotation). */
  get networkSecrets(): readonly string[] {
    return this.keys.networkSecrets;
  }

  /** When a hold placed now lapses (CARD_HOLD_EXPIRY_DAYS). */
  holdExpiresAt(now = new Date()): Date {
    return new Date(now.getTime() + this.cardsConfig.cardHoldExpiryDays * 86_400_000);
  }
}
