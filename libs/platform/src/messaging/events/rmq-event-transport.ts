import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { ChannelWrapper } from 'amqp-connection-manager';
import { toAmqpHeaders } from '../amqp-headers';
import { encode } from '../codec';
import { RmqConnection } from '../rmq-connection';
import { declareEventQueue } from './event-queues';
import { EventTransport, type EventEnvelope } from './event-transport';
import { SUBSCRIPTIONS, type Subscriptions } from './subscriptions';

/**
 * Split mode: publishes to the durable topic exchange with the event name as routing key, persistent,
 * on a confirm channel; publish() resolves only once the broker has taken the message, and only then
 * does the relay mark the outbox row sent. Before publishing anything it declares every consumer's queue
 * from the subscription table, so no event is routed to nowhere because its consumer has not started yet.
 */
@Injectable()
export class RmqEventTransport extends EventTransport implements OnModuleInit {
  private channel!: ChannelWrapper;

  constructor(
    private readonly rmq: RmqConnection,
    @Inject(SUBSCRIPTIONS) private readonly subscriptions: Subscriptions,
  ) {
    super();
  }

  onModuleInit(): void {
    this.channel = this.rmq.channel('event-publisher', async (ch) => {
      for (const [service, events] of Object.entries(this.subscriptions)) {
        await declareEventQueue(ch, this.rmq, service, events ?? []);
      }
    });
  }

  override isAvailable(): boolean {
    return this.rmq.isConnected();
  }

  async publish({ name, payload, headers }: EventEnvelope): Promise<void> {
    await this.channel.publish(this.rmq.eventsExchange, name, encode(payload), {
      persistent: true,
      messageId: payload.event_id,
      type: name,
      timestamp: Math.floor(Date.now() / 1000),
      contentType: 'application/json',
      headers: toAmqpHeaders(headers.request_id, headers.caller),
      timeout: 5000,
    });
  }
}
