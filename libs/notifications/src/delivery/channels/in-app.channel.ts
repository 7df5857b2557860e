import { Injectable } from '@nestjs/common';
import { StreamHub, type StreamMessage } from '../../stream/stream-hub';
import type { DeliveryChannel, Outgoing, SendResult } from './channel';

/** The app: the notification is already in the user's list; this pushes it to their open streams. */
@Injectable()
export class InAppChannel implements DeliveryChannel {
  readonly name = 'in_app' as const;
  readonly needsContact = false;

  constructor(private readonly hub: StreamHub) {}

  unavailable(): undefined {
    return undefined;
  }

  async send({ user_id, notification }: Outgoing): Promise<SendResult> {
    await this.hub.publish(user_id, notification);
    return { status: 'sent' };
  }

  /** Pushes a batch's notifications in one message (see StreamHub.publishMany); all or none. */
  async sendMany(messages: StreamMessage[]): Promise<void> {
    await this.hub.publishMany(messages);
  }
}
