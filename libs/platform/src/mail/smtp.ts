import type { SendMailOptions, Transporter } from 'nodemailer';
import type { AppConfig } from '../config/app-config';

/**
 * A pooled SMTP transport for SMTP_HOST, SMTP_PORT, ...: TLS is required whenever there is a login
 * (SMTP_USER), and in production unless the relay is on loopback (`smtp.requireTls`), so that a server (or
 * a man in the middle) offering no STARTTLS is refused rather than sent the password, the customers' mail
 * and their reset tokens in plain text. nodemailer is loaded at the first call, so an app
 * that never sends (auth, until someone asks for a password reset) does not hold it. Close it at shutdown.
 */
export async function smtpTransport(smtp: AppConfig['smtp']): Promise<Transporter> {
  // A real import() in the built CommonJS (module nodenext), which Node runs; Jest cannot without
  // --experimental-vm-modules, so unit tests mock this function rather than send.
  const { createTransport } = await import('nodemailer');
  return createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    auth: smtp.user ? { user: smtp.user, pass: smtp.password } : undefined,
    requireTLS: smtp.requireTls,
    tls: { minVersion: 'TLSv1.2' },
    pool: true,
    maxConnections: 3,
    connectionTimeout: 5000,
    greetingTimeout: 5000,
    socketTimeout: 10000,
  });
}

/**
 * What a failed send was, for logs and retries: the SMTP reply code and nodemailer's error kind only,
 * since the server's reply text can quote the recipient's address. A 5xx reply is permanent (a rejected
 * address); anything else (a 4xx, a timeout, a refused connection) may pass on a retry.
 */
export function smtpFailure(err: unknown): { message: string; code?: number; permanent: boolean } {
  const { responseCode: code, code: kind } = (err ?? {}) as { responseCode?: number; code?: string };
  return {
    message: `smtp ${code ?? 'error'}${kind ? ` ${kind}` : ''}`,
    code,
    permanent: !!code && code >= 500,
  };
}

/**
 * An app's SMTP relay: one pooled transport (smtpTransport), made at the first e-mail and made again after
 * a failure to make it (nodemailer not loading), closed when the app stops. Shared by the senders of one
 * app (auth's password-reset and address-verification e-mails; notifications' email channel).
 */
export class SmtpMailer {
  private transport?: Promise<Transporter>;

  constructor(private readonly smtp: AppConfig['smtp']) {}

  /** Whether SMTP_HOST is set: without it nothing can be sent. */
  get configured(): boolean {
    return !!this.smtp.host;
  }

  /** Sends from MAIL_FROM; throws what the relay or nodemailer threw (read it with smtpFailure). */
  async send(mail: Omit<SendMailOptions, 'from'>): Promise<void> {
    const transport = await this.transporter();
    await transport.sendMail({ from: this.smtp.from, ...mail });
  }

  private transporter(): Promise<Transporter> {
    this.transport ??= smtpTransport(this.smtp).catch((err: unknown) => {
      this.transport = undefined;
      throw err;
    });
    return this.transport;
  }

  async onApplicationShutdown(): Promise<void> {
    (await this.transport?.catch(() => undefined))?.close();
  }
}
