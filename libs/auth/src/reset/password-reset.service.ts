import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { USERS_API, type UsersApi } from '@protobank/contracts';
import { AppConfig, AppError, LOGGER, normaliseEmail, RateLimiter } from '@protobank/platform';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { assertPasswordPolicy } from '../credentials/password-policy';
import { hashPassword, passwordMark } from '../credentials/passwords';
import type { SessionMeta } from '../sessions/session.store';
import { SessionsService, type LoginResult } from '../sessions/sessions.service';
import { ResetMails } from './reset-mails';
import { RESET_TOKEN_TTL_SECONDS, ResetTokens } from './reset-tokens';

/**
 * Reset e-mails one address may be sent: one a minute, ten a day. Counted for every address asked for,
 * with an account or not, so a 429 tells nothing either; the caps bound what anyone can send to a
 * stranger's mailbox.
 */
const PER_ADDRESS = [
  { bucket: 'password-reset-email', limit: 1, windowSeconds: 60 },
  { bucket: 'password-reset-email-day', limit: 10, windowSeconds: 86400 },
] as const;

const tokenInvalid = () =>
  AppError.unprocessable('token_invalid', 'This reset link is not valid: it was used, replaced or expired', [
    { field: 'token', message: 'token is not a current reset token: ask for a new e-mail' },
  ]);

/**
 * "Forgot your password": a reset e-mail (ResetMails sends it) carries a one-time token; presenting it
 * with a new password sets that password, as a change does (every session ends, the devices that knew the
 * old one are forgotten, the owner is told), and answers as a login.
 */
@Injectable()
export class PasswordResetService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(USERS_API) private readonly users: UsersApi,
    private readonly mails: ResetMails,
    private readonly tokens: ResetTokens,
    private readonly sessions: SessionsService,
    private readonly limiter: RateLimiter,
    private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * Hands a reset e-mail to `email` over to ResetMails, which decides whether to send it: the same 202, at
   * about the same time, whether or not an account has that address. 409 where no SMTP server is
   * configured; 429 past an address's caps; 503 reset_busy while too many are being sent.
   */
  async request(email: string, meta: SessionMeta): Promise<{ expires_in: number }> {
    if (!this.config.smtp.host) {
      throw AppError.conflict(
        'password_reset_not_offered',
        'Password reset by e-mail is not offered here: ask the bank to reset it',
      );
    }
    const address = normaliseEmail(email);
    for (const cap of PER_ADDRESS) {
      const hit = await this.limiter.hit(cap.bucket, address, cap.limit, cap.windowSeconds);
      if (!hit.allowed) {
        throw AppError.tooManyRequests(
          'rate_limited',
          'A reset e-mail was asked for this address too recently: check the inbox, or try again later',
          hit.retryAfter,
        );
      }
    }
    try {
      this.mails.post(address);
    } catch (err) {
      // Not taken (reset_busy): the address's allowance is given back.
      for (const cap of PER_ADDRESS) await this.limiter.release(cap.bucket, address).catch(() => undefined);
      throw err;
    }
    this.logger.info({ security_event: 'password_reset_requested', ip: meta.ip }, 'password reset asked for');
    return { expires_in: RESET_TOKEN_TTL_SECONDS };
  }

  /**
   * Sets a new password with a reset token. 422 token_invalid for a token that is not the user's current
   * one (used, replaced by a newer e-mail, expired, or issued before the password last changed); 400
   * weak_password naming new_password (the token stays usable); 403 for a disabled account. The token is
   * used up only once the new password is hashed, and of two uses at once only one sets a password.
   */
  async confirm(token: string, newPassword: string, meta: SessionMeta): Promise<LoginResult> {
    const reset = await this.tokens.find(token);
    if (!reset) throw tokenInvalid();
    const { userId } = reset;
    const [credential] = (await this.dataSource.query(
      `SELECT email, password_hash FROM auth.credentials WHERE user_id = $1 AND status = 'active'`,
      [userId],
    )) as { email: string; password_hash: string }[];
    if (!credential || passwordMark(credential.password_hash) !== reset.password) {
      await this.tokens.discard(userId);
      throw tokenInvalid();
    }
    if ((await this.users.getProfile(userId)).disabled) {
      throw new AppError(403, 'account_disabled', 'This account has been disabled');
    }
    assertPasswordPolicy(newPassword, credential.email, 'new_password');
    const hash = await hashPassword(newPassword);
    if (!(await this.tokens.consume(reset))) throw tokenInvalid();
    // Over the hash the token was checked against: a change in between (its owner remembered it) wins.
    if (!(await this.sessions.replacePassword(userId, credential.password_hash, hash, 'reset'))) {
      throw tokenInvalid();
    }
    this.logger.warn(
      { security_event: 'password_reset', user_id: userId, ip: meta.ip },
      'password reset with an e-mailed token',
    );
    return this.sessions.sessionAfterPasswordChange(userId, hash, meta, 'reset');
  }
}
