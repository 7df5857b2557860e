import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  AppError,
  codeRefused,
  keepCode,
  LOGGER,
  newCode,
  OutboxRelay,
  OutboxService,
  provenTarget,
  RateLimiter,
  RedisService,
} from '@protobank/platform';
import { smtpFailure, SmtpMailer } from '@protobank/platform/mail';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { activeCredentialById } from '../credentials/credential-lookup';

/** How long an e-mailed code may be used, and how many wrong tries void it. */
export const EMAIL_CODE_SECONDS = 1800;
export const EMAIL_CODE_ATTEMPTS = 5;
/** Codes a user may ask for: one a minute, five a day. */
export const EMAIL_CODE_RESEND_SECONDS = 60;
export const EMAIL_CODES_PER_DAY = 5;
/** Codes asked for from one client address in an hour. */
export const EMAIL_CODES_PER_IP_HOUR = 30;
const DAY_SECONDS = 86_400;

export interface EmailStatus {
  email: string;
  verified: boolean;
  verified_at: string | null;
}

const codeKey = (userId: string) => `auth:email-code:${userId}`;

/** The e-mail's text: the code, how long it lasts, and that the bank never asks for it. */
export function emailCodeText(code: string): string {
  return (
    `Your Protobank code is ${code}.\n\n` +
    `Enter it in the app, signed in to your account, within ${EMAIL_CODE_SECONDS / 60} minutes to confirm ` +
    'that this address is yours. We will never ask you for it.\n\n' +
    'If you did not ask for this, someone may have registered with your address by mistake: ignore this ' +
    'e-mail, and the address stays unconfirmed.\n\n— Protobank'
  );
}

/**
 * Proves that the signed-in user reads the mailbox their account was registered with. Addresses are
 * anyone's to type in at registration, and a password reset (POST /auth/password/reset) trusts whoever
 * reads the mailbox: so a reset e-mail goes only to a verified address, and the owner of a mistyped one
 * cannot take the account. A six-digit code goes from here straight to the relay (never to the outbox, a
 * queue or a log); Redis keeps only its salted hash, for 30 minutes and five tries. The code is typed back
 * by the signed-in user: a stranger who got the e-mail has no session to confirm it with.
 */
@Injectable()
export class EmailVerification {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly redis: RedisService,
    private readonly limiter: RateLimiter,
    private readonly mailer: SmtpMailer,
    private readonly outbox: OutboxService,
    private readonly relay: OutboxRelay,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async status(userId: string): Promise<EmailStatus> {
    const credential = await this.credential(userId);
    const at = credential.email_verified_at;
    return { email: credential.email, verified: at !== null, verified_at: at?.toISOString() ?? null };
  }

  /** E-mails a new code to the account's address (an earlier code stops working). */
  async sendCode(userId: string): Promise<{ email: string; expires_in: number; resend_after: number }> {
    if (!this.mailer.configured) {
      throw AppError.conflict(
        'email_verification_not_offered',
        'E-mail is not offered here: no mail relay is configured',
      );
    }
    const { email, email_verified_at } = await this.credential(userId);
    if (email_verified_at !== null) {
      throw AppError.conflict('email_already_verified', 'This e-mail address is already verified');
    }
    const recent = await this.limiter.hit('email-code', userId, 1, EMAIL_CODE_RESEND_SECONDS);
    if (!recent.allowed) {
      throw AppError.tooManyRequests(
        'code_sent_recently',
        'A code was sent less than a minute ago',
        recent.retryAfter,
      );
    }
    const day = await this.limiter.hit('email-code-day', userId, EMAIL_CODES_PER_DAY, DAY_SECONDS);
    if (!day.allowed) {
      throw AppError.tooManyRequests(
        'too_many_codes',
        'Too many codes today; try again tomorrow',
        day.retryAfter,
      );
    }
    const { code, stored } = newCode(userId, email);
    const key = codeKey(userId);
    await keepCode(this.redis.client, key, stored, EMAIL_CODE_SECONDS);
    try {
      await this.mailer.send({
        to: email,
        subject: 'Your Protobank code',
        text: emailCodeText(code),
        messageId: `<${randomUUID()}@auth.protobank>`,
      });
    } catch (err) {
      // The relay's codes only: its reply text can quote the address.
      const failure = smtpFailure(err);
      this.logger.warn({ user_id: userId, smtp: failure.message }, 'e-mail code not sent');
      if (failure.permanent) {
        // The relay refused the address: nothing went out, so the code and the day's ask are given back.
        await this.redis.client.del(key).catch(() => undefined);
        await this.limiter.release('email-code-day', userId).catch(() => undefined);
        throw AppError.unprocessable('email_rejected', 'The mail relay refused this address', [
          { field: 'email', message: 'refused by the mail relay: this address cannot receive mail' },
        ]);
      }
      // No answer in time, or a 4xx: the e-mail may still arrive, so its code stays usable and counted.
      throw new AppError(
        503,
        'mail_unavailable',
        'The code may not have been sent; if none arrives, try again in a minute',
      );
    }
    return { email, expires_in: EMAIL_CODE_SECONDS, resend_after: EMAIL_CODE_RESEND_SECONDS };
  }

  /** Checks a code: right, the address is verified; wrong, one of its five tries is spent. */
  async confirm(userId: string, code: string): Promise<EmailStatus> {
    const key = codeKey(userId);
    const target = await provenTarget(this.redis.client, key, userId, code, EMAIL_CODE_ATTEMPTS, {
      logger: this.logger,
      wrongEvent: 'email_code_wrong',
    });
    // Only the address the code went to, and only while the account is active; notifications hear of it
    // in the same transaction (they send e-mail notices, security ones apart, to verified addresses only).
    // Told once: copies of the right code confirmed at once wait on the row, find it verified, and
    // answer as the first did without a second event.
    const verified = await this.dataSource.transaction(async (m) => {
      const rows = (await m.query(
        `UPDATE auth.credentials SET email_verified_at = now()
          WHERE user_id = $1 AND email = $2 AND status = 'active' AND email_verified_at IS NULL
          RETURNING email`,
        [userId, target],
      )) as [{ email: string }[], number];
      if (rows[0].length > 0) {
        await this.outbox.add(m, 'auth', 'user.email_verified', { user_id: userId, email: rows[0][0].email });
        return true;
      }
      const already = (await m.query(
        `SELECT 1 FROM auth.credentials
          WHERE user_id = $1 AND email = $2 AND status = 'active' AND email_verified_at IS NOT NULL`,
        [userId, target],
      )) as unknown[];
      return already.length > 0 ? 'already' : false;
    });
    // Used up only once recorded: a failure before leaves it for another try.
    await this.redis.client.del(key);
    if (!verified) throw codeRefused({ kind: 'none' });
    if (verified === true) {
      this.relay.kickSoon();
      this.logger.info({ user_id: userId, security_event: 'email_verified' }, 'e-mail address verified');
    }
    return this.status(userId);
  }

  private async credential(userId: string) {
    const credential = await activeCredentialById(this.dataSource, userId);
    if (!credential) throw new AppError(401, 'unauthorized', 'Log in again');
    return credential;
  }
}
