/**
 * The outside world of notifications, in-process: a real SMTP server (smtp-server) that keeps what it
 * receives, and an HTTP receiver standing in for the SMS and push providers' webhooks.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface Mail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  headers: Record<string, string>;
}

export interface Hook {
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
  body: Record<string, unknown>;
}

export interface Receivers {
  mails: Mail[];
  hooks: Hook[];
  /** Decides each webhook's status (default 200); every request is recorded whatever it answers. */
  webhookStatus: (hook: Hook) => number;
  env: Record<string, string>;
  stop(): Promise<void>;
}

export const WEBHOOK_SECRET = 'a-test-webhook-signing-secret';

/** The text of a single-part message, its transfer encoding undone. */
export function parseMail(raw: string): { headers: Record<string, string>; text: string } {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const headers: Record<string, string> = {};
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = raw.slice(split + 4);
  const encoding = (headers['content-transfer-encoding'] ?? '7bit').toLowerCase();
  if (encoding === 'quoted-printable') {
    const bytes = body
      .replace(/=\r\n/g, '')
      .replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    body = Buffer.from(bytes, 'latin1').toString('utf8');
  } else if (encoding === 'base64') {
    body = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  }
  return { headers, text: body };
}

export async function startReceivers(): Promise<Receivers> {
  const mails: Mail[] = [];
  const hooks: Hook[] = [];
  const receivers = { mails, hooks, webhookStatus: () => 200 } as unknown as Receivers;
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const { headers, text } = parseMail(Buffer.concat(chunks).toString('latin1'));
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          subject: headers.subject ?? '',
          text,
          headers,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  const smtpPort = (smtp.server.address() as AddressInfo).port;

  const http: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const hook: Hook = { path: req.url ?? '', headers: req.headers, raw, body: JSON.parse(raw || '{}') };
      hooks.push(hook);
      res.writeHead(receivers.webhookStatus(hook)).end();
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const hookPort = (http.address() as AddressInfo).port;

  receivers.env = {
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(smtpPort),
    SMS_WEBHOOK_URL: `http://127.0.0.1:${hookPort}/sms`,
    PUSH_WEBHOOK_URL: `http://127.0.0.1:${hookPort}/push`,
    WEBHOOK_SIGNING_SECRET: WEBHOOK_SECRET,
    // Quick retries, so exhausting them takes a moment: 100 ms, 200 ms.
    NOTIFICATION_DELIVERY_ATTEMPTS: '3',
    NOTIFICATION_RETRY_DELAY_MS: '100',
    // Streams of ended sessions close within a second.
    NOTIFICATION_STREAM_HEARTBEAT_MS: '1000',
  };
  receivers.stop = async () => {
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  };
  return receivers;
}
