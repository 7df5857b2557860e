import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { USERS_API, type UsersApi } from '@protobank/contracts';
import { AppConfig, LOGGER, slots } from '@protobank/platform';
import { smtpFailure, smtpTransport } from '@protobank/platform/mail';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { RESET_TOKEN_TTL_SECONDS, ResetTokens } from './reset-tokens';

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
/** How long shutdown waits for the e-mails being sent (those waiting for a retry give up at once). */
const SHUTDOWN_WAIT_MS = 5000;

/** The relay refused or failed: its codes only, and whether a retry can help (not after a 5xx). */
class SmtpFailed extends Error {
  readonly permanent: boolean;
  constructor(err: unknown) {
    const failure = smtpFailure(err);
    super(failure.message);
    this.permanent = failure.permanent;
  }
}

export type ResetMailOutcome = 'sent' | 'no_account' | 'disabled' | 'staff' | 'failed';

/**
 * Sends the reset e-mails asked for at POST /auth/password/reset, in this process, after the route has
 * answered: the route hands every address over alike, so neither its answer nor its time tells whether an
 * account has it. An address with no active account, a disabled account's or a staff member's (staff and
 * admin passwords are not reset by e-mail) gets nothing. A new token is
 * made at each try (replacing the last try's, which may not have arrived) and goes from here straight to
 * the mail relay: never to the outbox, RabbitMQ, a queue or a log.
 *
 * Not a BullMQ job, unlike the other modules' background work: BullMQ costs an app about 6–9 MB of memory
 * (bench:memory, one run each: auth idle at 126/75 MB RSS/anonymous with it, 116/66 without, the noise
 * about ±5 MB), and auth is the app with the least to spare in its 128 MB (the seed's limit; argon2id takes
 * 19 MiB per hash). An e-mail lost to a crash or a restart costs its customer one more ask; retries of a
 * relay's passing failure happen here.
 */
@Injectable()
export class ResetMails implements BeforeApplicationShutdown {
  private transport?: Promise<Transporter>;
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
    private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * Takes a reset e-mail to `email` (normalised as at registration) in hand and returns at once, whatever
   * happens to it (past RESET_MAILS_HELD, or once shutdown has begun, it is dropped and logged).
   */
  post(email: string): void {
    if (this.inFlight.size >= RESET_MAILS_HELD || this.closing) {
      this.logger.error(
        { security_event: 'password_reset_not_sent', reason: this.closing ? 'stopping' : 'too_many_held' },
        'password reset e-mail not sent: the mailer holds too many, or the app is stopping',
      );
      return;
    }
    const sending = this.send(email);
    this.inFlight.add(sending);
    void sending.then(() => this.inFlight.delete(sending));
  }

  /** Tries up to RESET_MAIL_ATTEMPTS times; never throws. */
  private async send(email: string): Promise<ResetMailOutcome> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.turn(() => this.sendOnce(email));
      } catch (err) {
        const smtp = err instanceof SmtpFailed;
        const final = (smtp && err.permanent) || attempt >= RESET_MAIL_ATTEMPTS || this.closing;
        // Each outcome is a security event (security_events_total): PasswordResetMailsFailing watches
        // password_reset_not_sent.
        this.logger[final ? 'error' : 'warn'](
          {
            security_event: final ? 'password_reset_not_sent' : 'password_reset_retry',
            // The relay's failure by its codes only (its text can quote the address); any other by itself.
            ...(smtp ? { smtp: err.message } : { err }),
            attempt,
            final,
          },
          final ? 'password reset e-mail not sent' : 'password reset e-mail not sent; trying again',
        );
        if (final) return 'failed';
        try {
          await sleep(RESET_MAIL_BACKOFF_MS * 2 ** (attempt - 1), undefined, {
            ref: false,
            signal: this.stopRetrying.signal,
          });
        } catch {
          this.logger.error(
            { security_event: 'password_reset_not_sent', attempt, final: true },
            'password reset e-mail not sent: the app stopped before its next try',
          );
          return 'failed';
        }
      }
    }
  }

  private async sendOnce(email: string): Promise<ResetMailOutcome> {
    const [credential] = (await this.dataSource.query(
      `SELECT user_id, password_hash FROM auth.credentials WHERE lower(email) = $1 AND status = 'active'`,
      [email],
    )) as { user_id: string; password_hash: string }[];
    if (!credential) {
      this.logger.info(
        { security_event: 'password_reset_no_account' },
        'password reset asked for an address with no account: nothing sent',
      );
      return 'no_account';
    }
    const userId = credential.user_id;
    const profile = await this.users.getProfile(userId);
    if (profile.disabled) {
      this.logger.warn(
        { security_event: 'password_reset_disabled', user_id: userId },
        'password reset asked for a disabled account: nothing sent',
      );
      return 'disabled';
    }
    if (profile.role !== 'customer') {
      // A staff or admin password is not reset by e-mail: whoever got into the mailbox would hold the
      // role's powers with no other check.
      this.logger.warn(
        { security_event: 'password_reset_staff', user_id: userId, role: profile.role },
        'password reset asked for a staff account: nothing sent',
      );
      return 'staff';
    }
    const token = await this.tokens.issue(userId, credential.password_hash);
    this.transport ??= smtpTransport(this.config.smtp);
    try {
      await (
        await this.transport
      ).sendMail({
        from: this.config.smtp.from,
        to: { name: profile.full_name, address: profile.email },
        subject: 'Reset your Protobank password',
        text: resetMailText(token, this.config.passwordResetUrl),
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

  /** Lets the e-mails being sent finish (for SHUTDOWN_WAIT_MS at most); those waiting for a retry give up. */
  async beforeApplicationShutdown(): Promise<void> {
    this.closing = true;
    this.stopRetrying.abort();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.idle(),
      new Promise((resolve) => (timer = setTimeout(resolve, SHUTDOWN_WAIT_MS))),
    ]);
    clearTimeout(timer);
    (await this.transport)?.close();
  }
}

/**
 * The reset e-mail's text: a link to PASSWORD_RESET_URL with the token in its fragment (sent to no server,
 * so it reaches no access log or Referer), or the token alone to paste into the app.
 */
export function resetMailText(token: string, url: string | undefined): string {
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
    'We were asked to reset the password of your Protobank account.\n\n' +
    `${how}\n\nIt works once. Choosing a new password logs you out on all your devices.\n\n` +
    'If you did not ask for this, ignore this e-mail: your password stays as it is, and nobody can change it without this message.\n\n' +
    '— Protobank'
  );
}
