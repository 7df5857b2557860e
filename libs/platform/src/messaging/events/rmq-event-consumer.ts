import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { ChannelWrapper } from 'amqp-connection-manager';
import type { ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import type { EventBase } from '@protobank/contracts';
import { LOGGER } from '../../logging/logging.tokens';
import { SERVICE_NAME } from '../../app/service.tokens';
import { fromAmqpHeaders } from '../amqp-headers';
import { decode } from '../codec';
import { RmqConnection } from '../rmq-connection';
import { dispatchEvent } from './dispatch';
import { EventHandlers } from './event-handlers';

const RETRY_DELAY_MS = 1000;

/**
 * Split mode: one durable queue per consuming service, bound to the names its handlers take, so every
 * consuming service gets every event and instances of one service share the load. Acked only after
 * every handler committed; a failure is requeued after a pause (the inbox absorbs the repeats).
 */
@Injectable()
export class RmqEventConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private channel?: ChannelWrapper;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly rmq: RmqConnection,
    private readonly handlers: EventHandlers,
    @Inject(SERVICE_NAME) private readonly service: string,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  get queue(): string {
    return this.rmq.name('events', this.service);
  }

  onApplicationBootstrap(): void {
    const names = this.handlers.eventNames();
    if (names.length === 0) return;
    const channel = this.rmq.channel('event-consumer', async (ch) => {
      await ch.assertExchange(this.rmq.eventsExchange, 'topic', { durable: true });
      await ch.assertQueue(this.queue, { durable: true });
      for (const name of names) await ch.bindQueue(this.queue, this.rmq.eventsExchange, name);
    });
    this.channel = channel;
    void channel.consume(
      this.queue,
      (msg) => {
        const work = this.handle(channel, msg);
        this.inFlight.add(work);
        void work.finally(() => this.inFlight.delete(work));
      },
      { noAck: false, prefetch: 16 },
    );
  }

  private async handle(channel: ChannelWrapper, msg: ConsumeMessage): Promise<void> {
    const { requestId, caller } = fromAmqpHeaders(msg.properties);
    let payload: EventBase;
    try {
      payload = decode<EventBase>(msg.content);
    } catch (err) {
      // Requeueing a message that can never be decoded would loop forever: drop it, loudly.
      this.logger.error(
        { err, event: msg.fields.routingKey, message_id: msg.properties.messageId },
        'undecodable event dropped',
      );
      channel.nack(msg, false, false);
      return;
    }
    try {
      await dispatchEvent(
        this.handlers,
        {
          name: msg.fields.routingKey,
          payload,
          headers: { request_id: requestId, caller },
        },
        this.logger,
      );
      channel.ack(msg);
    } catch (err) {
      this.logger.warn({ err, event: msg.fields.routingKey }, 'event delivery failed; requeued');
      await new Promise((r) => setTimeout(r, RETRY_DELAY_MS));
      channel.nack(msg, false, true);
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.channel?.cancelAll().catch(() => undefined);
    await Promise.allSettled([...this.inFlight]);
  }
}
