import { Injectable } from '@nestjs/common';
import { WebhookClient } from './webhook';
import { NotificationsConfig } from '../../notifications.config';

/** Sends a text message. Implementations: the webhook adapter below; a vendor SDK would be another. */
export interface SmsProvider {
  readonly configured: boolean;
  send(message: { id: string; to: string; text: string }): Promise<void>;
}

/** Sends a push notification to the user's devices (the provider maps our user id to device tokens). */
export interface PushProvider {
  readonly configured: boolean;
  send(message: {
    id: string;
    user_id: string;
    title: string;
    body: string;
    data: Record<string, unknown>;
  }): Promise<void>;
}

export const SMS_PROVIDER = Symbol('SMS_PROVIDER');
export const PUSH_PROVIDER = Symbol('PUSH_PROVIDER');

@Injectable()
export class WebhookSmsProvider implements SmsProvider {
  constructor(
    private readonly config: NotificationsConfig,
    private readonly webhook: WebhookClient,
  ) {}

  get configured(): boolean {
    return !!this.config.smsWebhookUrl;
  }

  send(message: { id: string; to: string; text: string }): Promise<void> {
    return this.webhook.post(this.config.smsWebhookUrl!, message.id, message);
  }
}

@Injectable()
export class WebhookPushProvider implements PushProvider {
  constructor(
    private readonly config: NotificationsConfig,
    private readonly webhook: WebhookClient,
  ) {}

  get configured(): boolean {
    return !!this.config.pushWebhookUrl;
  }

  send(message: Parameters<PushProvider['send']>[0]): Promise<void> {
    return this.webhook.post(this.config.pushWebhookUrl!, message.id, message);
  }
}
