import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@protobank/platform';
import { smtpFailure, SmtpMailer } from '@protobank/platform/mail';
import { VerifiedEmails } from '../../email/verified-emails';
import { PermanentDeliveryError, type DeliveryChannel, type Outgoing, type SendResult } from './channel';

/**
 * E-mail over SMTP (SMTP_HOST, SMTP_PORT, ...), through a small pool of reused connections (the
 * platform's SmtpMailer: TLS required whenever there is a login). The SMTP reply decides what a failure is: 5xx is permanent (a rejected address), anything else is retried.
 * The Message-ID is the delivery id, so a message sent twice (a crash between sending and recording it)
 * is recognisably the same message.
 *
 * Only security notices go to an address its owner has not verified (POST /auth/email/verification): the
 * address is the account's login, and the one notice that reaches its owner outside a session an intruder
 * may hold. Everything else (payments, balances, KYC outcomes) waits until the owner proves they read it,
 * as SMS waits for a verified number; the in-app copy is there meanwhile.
 */
@Injectable()
export class EmailChannel implements DeliveryChannel, OnApplicationShutdown {
  readonly name = 'email' as const;
  readonly needsContact = true;
  private readonly mailer: SmtpMailer;

  constructor(
    config: AppConfig,
    private readonly verified: VerifiedEmails,
  ) {
    this.mailer = new SmtpMailer(config.smtp);
  }

  unavailable(): string | undefined {
    return this.mailer.configured ? undefined : 'email is not configured (SMTP_HOST)';
  }

  async send({ delivery_id, user_id, notification, contact }: Outgoing): Promise<SendResult> {
    if (!contact) return { status: 'skipped', reason: 'no such user' };
    if (notification.category !== 'security' && !(await this.verified.isVerified(user_id, contact.email))) {
      return { status: 'skipped', reason: 'e-mail address not verified' };
    }
    try {
      await this.mailer.send({
        to: { name: contact.full_name, address: contact.email },
        subject: notification.title,
        text: `${notification.body}\n\n— Protobank`,
        messageId: `<${delivery_id}@notifications.protobank>`,
        headers: { 'X-Protobank-Notification': notification.id },
      });
    } catch (err) {
      // The codes only (they reach logs and staff): the server's reply text can quote the address.
      const failure = smtpFailure(err);
      throw failure.permanent
        ? new PermanentDeliveryError(failure.message, failure.code)
        : new Error(failure.message);
    }
    return { status: 'sent' };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.mailer.onApplicationShutdown();
  }
}
