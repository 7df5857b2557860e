import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '@protobank/platform';
import { createTransport, type Transporter } from 'nodemailer';
import { PermanentDeliveryError, type DeliveryChannel, type Outgoing, type SendResult } from './channel';

/**
 * E-mail over SMTP (SMTP_HOST, SMTP_PORT, ...), through a small pool of reused connections; TLS is
 * required whenever there is a login (SMTP_USER). The SMTP
 * reply decides what a failure is: 5xx is permanent (a rejected address), anything else is retried.
 * The Message-ID is the delivery id, so a message sent twice (a crash between sending and recording it)
 * is recognisably the same message.
 */
@Injectable()
export class EmailChannel implements DeliveryChannel, OnApplicationShutdown {
  readonly name = 'email' as const;
  readonly needsContact = true;
  private transport?: Transporter;

  constructor(private readonly config: AppConfig) {}

  private transporter(): Transporter {
    const smtp = this.config.smtp;
    this.transport ??= createTransport({
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      auth: smtp.user ? { user: smtp.user, pass: smtp.password } : undefined,
      // With a login, never in clear: a server (or a man in the middle) that offers no STARTTLS is refused,
      // rather than sent the password and the customers' mail in plain text.
      requireTLS: !!smtp.user,
      tls: { minVersion: 'TLSv1.2' },
      pool: true,
      maxConnections: 3,
      connectionTimeout: 5000,
      greetingTimeout: 5000,
      socketTimeout: 10000,
    });
    return this.transport;
  }

  unavailable(): string | undefined {
    return this.config.smtp.host ? undefined : 'email is not configured (SMTP_HOST)';
  }

  async send({ delivery_id, notification, contact }: Outgoing): Promise<SendResult> {
    if (!contact) return { status: 'skipped', reason: 'no such user' };
    try {
      await this.transporter().sendMail({
        from: this.config.smtp.from,
        to: { name: contact.full_name, address: contact.email },
        subject: notification.title,
        text: `${notification.body}\n\n— Protobank`,
        messageId: `<${delivery_id}@notifications.protobank>`,
        headers: { 'X-Protobank-Notification': notification.id },
      });
    } catch (err) {
      // The server's reply text can quote the recipient's address: keep the codes only (they reach logs and staff).
      const { responseCode: code, code: kind } = err as { responseCode?: number; code?: string };
      const message = `smtp ${code ?? 'error'}${kind ? ` ${kind}` : ''}`;
      throw code && code >= 500 ? new PermanentDeliveryError(message) : new Error(message);
    }
    return { status: 'sent' };
  }

  onApplicationShutdown(): void {
    this.transport?.close();
  }
}
