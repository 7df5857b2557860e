import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { E164_PHONE, USERS_API, type UsersApi } from '@protobank/contracts';
import {
  addressKey,
  AppError,
  keepCode,
  LOGGER,
  newCode,
  provenTarget,
  RateLimiter,
  RedisService,
} from '@protobank/platform';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { PermanentDeliveryError } from '../delivery/channels/channel';
import { SMS_PROVIDER, type SmsProvider } from '../delivery/channels/providers';
import {
  codeMessage,
  PHONE_CODE_ATTEMPTS,
  PHONE_CODE_RESEND_SECONDS,
  PHONE_CODE_SECONDS,
  PHONE_CODES_PER_DAY,
} from './phone-code';

export interface PhoneStatus {
  phone: string | null;
  verified: boolean;
  verified_at: string | null;
}

const DAY_SECONDS = 86_400;
/** The provider's answers that refuse the number itself (the others are our configuration's). */
const NUMBER_REFUSED = new Set([400, 422]);

const noPhone = () =>
  new AppError(409, 'no_phone', 'There is no phone number on your profile: add one with PATCH /users/me', [
    { field: 'phone', message: 'add a phone number to your profile first' },
  ]);

/**
 * Proves that a user can read texts sent to the phone number on their profile before any notice goes
 * there by SMS: a number is anyone's to type in, and without this a stranger's phone would get the
 * account's messages (security notices among them). A six-digit code goes by SMS straight to the
 * provider (never stored as a notification, never logged); Redis keeps only its salted hash, for ten
 * minutes and five tries. A right code records the number as verified for the user; the SMS channel sends
 * only to the number so recorded, so changing the profile's number unverifies it with no message between
 * users and notifications.
 */
@Injectable()
export class PhoneVerification {
  constructor(
    @Inject(USERS_API) private readonly users: UsersApi,
    @Inject(SMS_PROVIDER) private readonly sms: SmsProvider,
    private readonly redis: RedisService,
    private readonly limiter: RateLimiter,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async status(userId: string): Promise<PhoneStatus> {
    const phone = await this.currentPhone(userId);
    const verifiedAt = phone === null ? null : await this.verifiedAt(userId, phone);
    return { phone, verified: verifiedAt !== null, verified_at: verifiedAt?.toISOString() ?? null };
  }

  /** Whether the user proved they read texts to this number (the SMS channel asks before each send). */
  async isVerified(userId: string, phone: string): Promise<boolean> {
    return (await this.verifiedAt(userId, phone)) !== null;
  }

  /** The number the user last verified, whether or not their profile still has it; null if none. */
  async verifiedNumber(userId: string): Promise<string | null> {
    const rows = (await this.dataSource.query(
      `SELECT phone FROM notifications.verified_phones WHERE user_id = $1`,
      [userId],
    )) as { phone: string }[];
    return rows[0]?.phone ?? null;
  }

  /** Sends a new code to the profile's number (an earlier code stops working). */
  async sendCode(userId: string): Promise<{ phone: string; expires_in: number; resend_after: number }> {
    // A deployment without SMS does not offer it: not a failure (no 5xx for a customer's click).
    if (!this.sms.configured) {
      throw AppError.conflict(
        'sms_not_offered',
        'Text messages are not offered here: no SMS provider is configured',
      );
    }
    const { status: kyc } = await this.users.getKycStatus(userId);
    if (kyc !== 'verified') {
      throw new AppError(
        403,
        'kyc_required',
        'A phone number can be verified once your identity (KYC) is verified',
      );
    }
    const phone = await this.currentPhone(userId);
    if (phone === null) throw noPhone();
    // The API lets only E.164 onto a profile; a number put there otherwise (an import, a data fix) is not texted.
    if (!E164_PHONE.test(phone)) {
      throw AppError.unprocessable(
        'phone_invalid',
        'The phone number on your profile is not an E.164 number',
        [{ field: 'phone', message: 'set it again with PATCH /users/me, as +447700900123' }],
      );
    }
    if (await this.isVerified(userId, phone)) {
      throw AppError.conflict('phone_already_verified', 'This phone number is already verified');
    }
    const recent = await this.limiter.hit('phone-code', `user:${userId}`, 1, PHONE_CODE_RESEND_SECONDS);
    if (!recent.allowed) {
      throw AppError.tooManyRequests(
        'code_sent_recently',
        'A code was sent less than a minute ago',
        recent.retryAfter,
      );
    }
    // Per user, and per number: many accounts naming one stranger's number cannot text it all day.
    const perDay = [`user:${userId}`, `phone:${addressKey(phone)}`].map((key) => ({
      bucket: 'phone-code-day',
      key,
      limit: PHONE_CODES_PER_DAY,
      windowSeconds: DAY_SECONDS,
    }));
    const day = await this.limiter.hitAll(perDay);
    if (!day.allowed) {
      throw AppError.tooManyRequests(
        'too_many_codes',
        'Too many codes today; try again tomorrow',
        day.retryAfter,
      );
    }
    const { code, stored } = newCode(userId, phone);
    const key = codeKey(userId);
    await keepCode(this.redis.client, key, stored, PHONE_CODE_SECONDS);
    try {
      await this.sms.send({ id: randomUUID(), to: phone, text: codeMessage(code) });
    } catch (err) {
      // The webhook's errors name the status or the failure, never the number or the address.
      this.logger.warn({ user_id: userId, err: (err as Error).message }, 'phone code not sent');
      if (err instanceof PermanentDeliveryError && NUMBER_REFUSED.has(err.status ?? 0)) {
        // The number refused: nothing went out, so the code and the day's allowances are given back (the
        // minute's is not: a number the provider refuses is not tried at request speed).
        await this.redis.client.del(key).catch(() => undefined);
        await this.limiter.releaseAll(day.taken);
        throw AppError.unprocessable('phone_rejected', 'The text message provider refused this number', [
          {
            field: 'phone',
            message: 'refused by the text message provider: check the number on your profile',
          },
        ]);
      }
      if (err instanceof PermanentDeliveryError) {
        // Any other refusal (401, 403, 404, a redirect) is our configuration's, not the customer's.
        this.logger.error(
          { err: err.message },
          'the SMS provider refused a phone code: check SMS_WEBHOOK_URL',
        );
      }
      // No answer in time, or a 5xx: the text may still arrive, so its code stays usable and counted.
      throw new AppError(
        503,
        'sms_unavailable',
        'The code may not have been sent; if none arrives, try again in a minute',
      );
    }
    return { phone, expires_in: PHONE_CODE_SECONDS, resend_after: PHONE_CODE_RESEND_SECONDS };
  }

  /** Checks a code: right, the number is verified; wrong, one of its five tries is spent. */
  async confirm(userId: string, code: string): Promise<PhoneStatus> {
    const key = codeKey(userId);
    const phone = await provenTarget(this.redis.client, key, userId, code, PHONE_CODE_ATTEMPTS, {
      logger: this.logger,
      wrongEvent: 'phone_code_wrong',
    });
    // The number texted must still be the profile's: one changed since is not the one proved.
    if ((await this.currentPhone(userId)) !== phone) {
      await this.redis.client.del(key);
      throw AppError.conflict(
        'phone_changed',
        'The phone number on your profile changed since the code was sent; ask for a new code',
      );
    }
    await this.dataSource.query(
      `INSERT INTO notifications.verified_phones (user_id, phone, verified_at) VALUES ($1, $2, now())
       ON CONFLICT (user_id) DO UPDATE SET phone = excluded.phone, verified_at = excluded.verified_at`,
      [userId, phone],
    );
    // Used up only once recorded: a failure before (users unreachable) leaves it for another try.
    await this.redis.client.del(key);
    this.logger.info({ user_id: userId }, 'phone number verified');
    return this.status(userId);
  }

  private async currentPhone(userId: string): Promise<string | null> {
    const [contact] = await this.users.getContacts([userId]);
    if (!contact) throw AppError.notFound('user');
    return contact.phone;
  }

  private async verifiedAt(userId: string, phone: string): Promise<Date | null> {
    const rows = (await this.dataSource.query(
      `SELECT verified_at FROM notifications.verified_phones WHERE user_id = $1 AND phone = $2`,
      [userId, phone],
    )) as { verified_at: Date }[];
    return rows[0]?.verified_at ?? null;
  }
}

const codeKey = (userId: string) => `phone-code:${userId}`;
