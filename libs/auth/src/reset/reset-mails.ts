import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { USERS_API, type UsersApi } from '@protobank/contracts';
import { LOGGER, slots } from '@protobank/platform';
import { smtpFailure, SmtpMailer } from '@protobank/platform/mail';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { activeCredentialByEmail } from '../credentials/credential-lookup';
import { SessionStore } from '../sessions/session.store';
import { notResettable, RESET_TOKEN_TTL_SECONDS, ResetTokens, type ResetSender } from './reset-tokens';
import { AuthConfig } from '../auth.config';

/** Tries per e-mail (a 5xx reply ends them at once), 2, 4 and 8 s apart. */
export const RESET_MAIL_ATTEMPTS = 4;
const RESET_MAIL_BACKOFF_MS = 2000;
/** Reset e-mails one auth process sends (or looks up) at once; the others wait their turn. */
export const RESET_MAILS_AT_ONCE = 4;
/** A try that has waited this long for its turn fails (and is tried again later, as a relay's timeout). */
const RESET_MAIL_TURN_WAIT_MS = 60_000;
/**
 * Reset e-mails one auth process holds at most (sending, waiting for their turn or for a retry): past it,
 * an ask is answered as every other (202) but dropped, and logged as not sent. The answer never depends on
 * how busy the mailer is: a 503 while held e-mails (whose addresses have accounts) were being sent told
 * an asker which addresses had accounts.
 */
export const RESET_MAILS_HELD = 1000;
/** How long shutdown waits for the e-mails being sent (those waiting give up at once). */
const SHUTDOWN_WAIT_MS = 5000;

export type ResetMailOutcome = 'sent' | 'no_account' | 'unverified' | 'disabled' | 'staff' | 'failed';

/** The relay refused or failed: its codes only, and whether a retry can help (not after a 5xx). */
class SmtpFailed extends Error {
  readonly permanent: boolean;
  constructor(err: unknown) {
    const failure = smtpFailure(err);
    super(failure.message);
    this.permanent = failure.permanent;
  }
}

/** One ask's e-mail, once its account is found: the same token and recipient for every try. */
interface ResetMail {
  token?: string;
  to?: { userId: string; name: string; address: string };
}

/** Shutdown began while the e-mail waited for its turn or its next try. */
class Stopping extends Error {}

/**
 * Sends the reset e-mails asked for at POST /auth/password/reset, in this process, after the route has
 * answered: the route hands every address over alike, so neither its answer nor its time tells whether an
 * account has it. An address with no active account, one its owner has not verified, a disabled account's
 * or a staff member's (staff and admin passwords are reset by e-mail only when an admin has it sent:
 * PasswordResetService.requestForUser) gets nothing. The token is made once per ask and goes from here
 * straight to the mail relay (never to the outbox, RabbitMQ, a queue or a log); the retries send the same
 * one, and an e-mail given up on withdraws it.
 *
 * What is logged, as security events (security_events_total): password_reset_sent, _no_account,
 * _unverified, _disabled, _staff; _retry for a try that failed and will be tried again;
 * password_reset_not_sent when the relay failed every try, or an ask was dropped past RESET_MAILS_HELD (PasswordResetMailsFailing
 * watches it); password_reset_refused when the relay refused the address for good (a 5xx: an account
 * registered with a bad address, which anyone can make, so not alerted); password_reset_abandoned when
 * the app stopped first.
 *
 * Not a BullMQ job, unlike the other modules' background work: BullMQ costs an app about 6–9 MB of memory
 * (bench:memory, one run each: auth idle at 126/75 MB RSS/anonymous with it, 116/66 without, the noise
 * about ±5 MB), and auth is the app with the least to spare in its 128 MB (the seed's limit; argon2id takes
 * 19 MiB per hash). An e-mail lost to a crash or a restart costs its customer one more ask.
 */
@Injectable()
export class ResetMails implements BeforeApplicationShutdown {
  private readonly inFlight = new Set<Promise<ResetMailOutcome>>();
  private closing = false;
  /** Aborted at shutdown: the e-mails waiting for their next try give up at once. */
  private readonly stopRetrying = new AbortController();
  private readonly turn = slots(
    RESET_MAILS_AT_ONCE,
    RESET_MAIL_TURN_WAIT_MS,
    () => new Error('waited too long for its turn'),
  );

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(USERS_API) private readonly users: UsersApi,
    private readonly tokens: ResetTokens,
    private readonly sessions: SessionStore,
    private readonly mailer: SmtpMailer,
    private readonly config: AuthConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * Takes a reset e-mail to `email` (normalised as at registration) in hand and returns at once, whatever
   * happens to it (past RESET_MAILS_HELD it is dropped and logged; once shutdown began, abandoned).
   * `sentBy`: the staff member who had it sent, which a colleague's or an unverified address needs.
   */
  post(email: string, sentBy?: ResetSender): void {
    if (this.inFlight.size >= RESET_MAILS_HELD || this.closing) {
      this.logger.error(
        {
          security_event: this.closing ? 'password_reset_abandoned' : 'password_reset_not_sent',
          reason: this.closing ? 'stopping' : 'too_many_held',
        },
        'password reset e-mail not sent: the mailer holds too many, or the app is stopping',
      );
      return;
    }
    const sending = this.send(email, sentBy);
    this.inFlight.add(sending);
    void sending.then(() => this.inFlight.delete(sending));
  }

  /** Tries up to RESET_MAIL_ATTEMPTS times, with one token; never throws. */
  private async send(email: string, sentBy?: ResetSender): Promise<ResetMailOutcome> {
    const mail: ResetMail = {};
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.turn(() => this.sendOnce(email, mail, sentBy));
      } catch (err) {
        const stopping = err instanceof Stopping || this.closing;
        const refused = err instanceof SmtpFailed && err.permanent;
        const final = stopping || refused || attempt >= RESET_MAIL_ATTEMPTS;
        const event = stopping
          ? 'password_reset_abandoned'
          : refused
            ? 'password_reset_refused'
            : final
              ? 'password_reset_not_sent'
              : 'password_reset_retry';
        this.logger[final ? 'error' : 'warn'](
          {
            security_event: event,
            // The relay's failure by its codes only (its text can quote the address); any other by itself.
            ...(err instanceof SmtpFailed ? { smtp: err.message } : stopping ? {} : { err }),
            attempt,
            final,
          },
          final ? 'password reset e-mail not sent' : 'password reset e-mail not sent; trying again',
        );
        if (final) {
          // A link that never arrived must not work later (a relay that took it after all, then failed).
          if (mail.token) await this.tokens.withdraw(mail.token).catch(() => undefined);
          return 'failed';
        }
        await sleep(RESET_MAIL_BACKOFF_MS * 2 ** (attempt - 1), undefined, {
          ref: false,
          signal: this.stopRetrying.signal,
        }).catch(() => undefined); // aborted: the next try finds the app stopping
      }
    }
  }

  private async sendOnce(email: string, mail: ResetMail, sentBy?: ResetSender): Promise<ResetMailOutcome> {
    if (this.closing) throw new Stopping();
    if (!mail.token || !mail.to) {
      const credential = await activeCredentialByEmail(this.dataSource, email);
      if (!credential) {
        this.logger.info(
          { security_event: 'password_reset_no_account' },
          'password reset asked for an address with no account: nothing sent',
        );
        return 'no_account';
      }
      const userId = credential.user_id;
      // Before the account is checked: a disable or role change after it ends the token.
      const generation = await this.sessions.generation(userId);
      const profile = await this.users.getProfile(userId);
      const refusal = notResettable(profile, !!sentBy);
      if (refusal) {
        this.logger.warn(
          { security_event: `password_reset_${refusal}`, user_id: userId, role: profile.role },
          'password reset asked for an account that is not reset by e-mail: nothing sent',
        );
        return refusal;
      }
      if (credential.email_verified_at === null && !sentBy) {
        // Anyone can register with a mistyped or a stranger's address: until its owner proves they read it
        // (POST /auth/email/verification), its mailbox is not trusted with the account on its own asking
        // (a staff member who identified the customer may have it sent: requestForUser).
        this.logger.info(
          { security_event: 'password_reset_unverified', user_id: userId },
          'password reset asked for an address not verified: nothing sent',
        );
        return 'unverified';
      }
      // The address verified, as the credential holds it.
      mail.to = { userId, name: profile.full_name, address: credential.email };
      mail.token = await this.tokens.issue(userId, credential.password_hash, generation, sentBy);
    }
    const { userId, name, address } = mail.to;
    try {
      await this.mailer.send({
        to: { name, address },
        subject: 'Reset your Protobank password',
        text: resetMailText(mail.token, this.config.passwordResetUrl, !!sentBy),
        messageId: `<${randomUUID()}@auth.protobank>`,
      });
    } catch (err) {
      throw new SmtpFailed(err);
    }
    this.logger.info(
      { security_event: 'password_reset_sent', user_id: userId },
      'password reset e-mail sent',
    );
    return 'sent';
  }

  /** Resolves once every e-mail taken so far is sent or given up on. */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  /**
   * Lets the e-mails being sent finish (for SHUTDOWN_WAIT_MS at most); those waiting for their turn or
   * their next try give up (logged as abandoned) instead of starting.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.closing = true;
    this.stopRetrying.abort();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.idle(),
      new Promise((resolve) => (timer = setTimeout(resolve, SHUTDOWN_WAIT_MS))),
    ]);
    clearTimeout(timer);
  }
}

/**
 * The reset e-mail's text: a link to PASSWORD_RESET_URL with the token in its fragment (sent to no server,
 * so it reaches no access log or Referer), or the token alone to paste into the app; `byStaff` when staff
 * had it sent (requestForUser).
 */
export function resetMailText(token: string, url: string | undefined, byStaff = false): string {
  const minutes = RESET_TOKEN_TTL_SECONDS / 60;
  let link: URL | undefined;
  if (url) {
    link = new URL(url);
    link.hash = `token=${token}`;
  }
  const how = link
    ? `To choose a new password, open this link within ${minutes} minutes:\n\n${link.href}`
    : `To choose a new password, enter this reset code in the app within ${minutes} minutes:\n\n${token}`;
  return (
    (byStaff
      ? 'Our staff asked us to send you this e-mail, to reset the password of your Protobank account.\n\n'
      : 'We were asked to reset the password of your Protobank account.\n\n') +
    `${how}\n\nIt works once. Choosing a new password logs you out on all your devices.\n\n` +
    'If you did not ask for this, ignore this e-mail: your password stays as it is, and nobody can change it without this message.\n\n' +
    '— Protobank'
  );
}
