import { Module } from '@nestjs/common';
import { type ConfigSchema, type ConfigValues, configProvider, isLoopbackHost } from '@protobank/platform';

/** The variables the notifications module reads, with their defaults and meaning (README's configuration table). */
export const NOTIFICATIONS_VARIABLES = {
  SMS_WEBHOOK_URL: {
    kind: 'url',
    protocols: ['http:', 'https:'],
    secret: true,
    doc: 'SMS provider webhook (POST JSON); without it the sms channel is off. Production wants https: (http: only to a loopback host) and WEBHOOK_SIGNING_SECRET.',
  },
  PUSH_WEBHOOK_URL: {
    kind: 'url',
    protocols: ['http:', 'https:'],
    secret: true,
    doc: 'Push provider webhook (POST JSON); without it the push channel is off. Production wants https: (http: only to a loopback host) and WEBHOOK_SIGNING_SECRET.',
  },
  WEBHOOK_SIGNING_SECRET: {
    kind: 'string',
    secret: true,
    doc: 'Signs webhook bodies (X-Protobank-Signature: t=<unix seconds>,sha256=<hex HMAC-SHA-256 of t.body>); unsigned without it, which production refuses while a webhook is set; 32+ characters in production.',
  },
  NOTIFICATION_DELIVERY_ATTEMPTS: {
    kind: 'int',
    min: 1,
    max: 50,
    default: '6',
    doc: 'Tries per notification delivery before it is marked failed and listed for staff.',
  },
  NOTIFICATION_RETRY_DELAY_MS: {
    kind: 'int',
    min: 1,
    max: 3600000,
    default: '2000',
    doc: 'First retry delay of a failed delivery; it doubles on each further try.',
  },
  NOTIFICATION_STREAMS_PER_USER: {
    kind: 'int',
    min: 1,
    max: 100,
    default: '5',
    doc: 'Open /notifications/stream connections one user may hold; the oldest is closed beyond it.',
  },
  NOTIFICATION_STREAM_HEARTBEAT_MS: {
    kind: 'int',
    min: 100,
    // Below nginx's proxy_read_timeout (30 s), or it would cut idle streams.
    max: 25000,
    default: '15000',
    doc: 'How often an open stream gets a keep-alive comment and its session is checked (ended ones close).',
  },
} as const satisfies ConfigSchema;

/**
 * The notifications module's configuration: the SMS and push webhooks, delivery retries, the live
 * stream. E-mail goes through the platform's SMTP settings (auth sends mail too). Read once when an app
 * hosting the module boots (configProvider).
 */
export class NotificationsConfig {
  static readonly variables = NOTIFICATIONS_VARIABLES;

  readonly smsWebhookUrl: string | undefined;
  readonly pushWebhookUrl: string | undefined;
  readonly webhookSigningSecret: string | undefined;
  readonly notificationDeliveryAttempts: number;
  readonly notificationRetryDelayMs: number;
  readonly notificationStreamsPerUser: number;
  readonly notificationStreamHeartbeatMs: number;

  constructor(v: ConfigValues<typeof NOTIFICATIONS_VARIABLES>) {
    this.smsWebhookUrl = v.SMS_WEBHOOK_URL;
    this.pushWebhookUrl = v.PUSH_WEBHOOK_URL;
    this.webhookSigningSecret = v.WEBHOOK_SIGNING_SECRET;
    this.notificationDeliveryAttempts = Number(v.NOTIFICATION_DELIVERY_ATTEMPTS);
    this.notificationRetryDelayMs = Number(v.NOTIFICATION_RETRY_DELAY_MS);
    this.notificationStreamsPerUser = Number(v.NOTIFICATION_STREAMS_PER_USER);
    this.notificationStreamHeartbeatMs = Number(v.NOTIFICATION_STREAM_HEARTBEAT_MS);
  }

  /**
   * Production's rules for the SMS and push webhooks: they carry customers' phone numbers and messages,
   * so they travel over TLS (http only to a loopback sidecar, which never leaves the host), and they are
   * signed, so that a receiver can tell Protobank's requests from forgeries. Never repeats a URL (it may
   * hold a token).
   */
  static problems(v: ConfigValues<typeof NOTIFICATIONS_VARIABLES>, production: boolean): string[] {
    if (!production) return [];
    const problems: string[] = [];
    const hooks = (['SMS_WEBHOOK_URL', 'PUSH_WEBHOOK_URL'] as const).filter((name) => v[name] !== undefined);
    for (const name of hooks) {
      // A value that is not a URL at all already has its problem from the variable's own check.
      if (!URL.canParse(v[name]!)) continue;
      const url = new URL(v[name]!);
      if (url.protocol !== 'https:' && !isLoopbackHost(url.hostname)) {
        problems.push(
          `${name} must use https: in production (it carries customers' phone numbers and messages)`,
        );
      }
    }
    const secret = v.WEBHOOK_SIGNING_SECRET;
    if (hooks.length && secret === undefined) {
      problems.push(`WEBHOOK_SIGNING_SECRET must be set in production while ${hooks.join(' or ')} is`);
    } else if (secret !== undefined && secret.length < 32) {
      problems.push('WEBHOOK_SIGNING_SECRET must be at least 32 characters in production');
    }
    return problems;
  }
}

/**
 * NotificationsConfig for the module's classes, as a module of its own so that the delivery queue's
 * options (BullModule.registerQueueAsync, built in BullMQ's module) read the same instance.
 */
@Module({ providers: [configProvider(NotificationsConfig)], exports: [NotificationsConfig] })
export class NotificationsConfigModule {}
