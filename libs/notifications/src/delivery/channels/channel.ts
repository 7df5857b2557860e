import type { UserContact } from '@protobank/contracts';
import type { Channel } from '../../preferences/preference-rules';
import type { NotificationView } from '../../store/notifications.service';

/** One delivery to send: the stored notification, and the user's contact when the channel needs one. */
export interface Outgoing {
  delivery_id: string;
  user_id: string;
  notification: NotificationView;
  contact?: UserContact;
}

export type SendResult = { status: 'sent' } | { status: 'skipped'; reason: string };

export interface DeliveryChannel {
  readonly name: Channel;
  /** Whether the channel needs the user's contact (e-mail address, phone number). */
  readonly needsContact: boolean;
  /** Why the channel cannot send at all (not configured), checked before anything is looked up. */
  unavailable(): string | undefined;
  send(message: Outgoing): Promise<SendResult>;
}

/** A refusal that will not change on retry (a rejected address, a 4xx from a provider): fail at once. */
export class PermanentDeliveryError extends Error {
  override name = 'PermanentDeliveryError';

  /** The provider's status (a webhook's HTTP answer, an SMTP reply code), when it gave one. */
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export const DELIVERY_CHANNELS = Symbol('DELIVERY_CHANNELS');
