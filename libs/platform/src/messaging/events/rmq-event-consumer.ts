import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import type { Channel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import type { EventBase, ServiceName } from '@protobank/contracts';
import { SERVICE_NAME } from '../../app/service.tokens';
import { LOGGER } from '../../logging/logging.tokens';
import { fromAmqpHeaders } from '../amqp-headers';
import { decode } from '../codec';
import { RmqConnection, settle } from '../rmq-connection';
import { dispatchEvent } from './dispatch';
import { declareEventQueue } from './event-queues';
import { EventHandlers } from './event-handlers';
import { SUBSCRIPTIONS, type Subscriptions } from './subscriptions';

/** Pause before a failed event goes back to the queue: 0.5 s, 1 s, 2 s, ... up to 10 s. */
const retryDelayMs = (deliveries: number) => Math.min(500 * 2 ** Math.max(0, deliveries - 1), 10_000);

/**
 * Split mode: one durable queue per consuming service, bound to the names its handlers take, so every
 * consuming service gets every event and instances of one service share the load. Acked only after
 * every handler committed; a failure is requeued after a pause (the inbox absorbs the repeats) until the
 * queue's delivery limit dead-letters it.
 */
@Injectable()
export class RmqEventConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private consumer?: { cancel(): Promise<void> };
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly rmq: RmqConnection,
    private readonly handlers: EventHandlers,
    @Inject(SUBSCRIPTIONS) private readonly subscriptions: Subscriptions,
    @Inject(SERVICE_NAME) private readonly service: string,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    const names = this.handlers.eventNames();
    if (names.length === 0) return;
    const subscribed = this.subscriptions[this.service as ServiceName] ?? [];
    const unlisted = names.filter((n) => !(subscribed as readonly string[]).includes(n));
    if (unlisted.length) {
      throw new Error(
        `${this.service} handles ${unlisted.join(', ')}: add them to EVENT_SUBSCRIPTIONS in @protobank/contracts`,
      );
    }
    const queue = this.rmq.name('events', this.service);
    this.consumer = this.rmq.consume('event-consumer', {
      queues: [queue],
      prefetch: 16,
      declare: (ch) => declareEventQueue(ch, this.rmq, this.service, subscribed),
      onMessage: (ch, msg) => {
        const work = this.handle(ch, msg);
        this.inFlight.add(work);
        void work.finally(() => this.inFlight.delete(work));
      },
    });
  }

  private async handle(ch: Channel, msg: ConsumeMessage): Promise<void> {
    const { requestId, caller } = fromAmqpHeaders(msg.properties);
    let payload: EventBase;
    try {
      payload = decode<EventBase>(msg.content);
    } catch (err) {
      // Requeueing a message that can never be decoded would loop: dead-letter it at once.
      this.logger.error(
        { err, event: msg.fields.routingKey, message_id: msg.properties.messageId },
        'undecodable event dead-lettered',
      );
      settle(ch, msg, 'reject');
      return;
    }
    try {
      await dispatchEvent(
        this.handlers,
        { name: msg.fields.routingKey, payload, headers: { request_id: requestId, caller } },
        this.logger,
      );
      settle(ch, msg, 'ack');
    } catch (err) {
      const deliveries = Number((msg.properties.headers ?? {})['x-delivery-count'] ?? 0) + 1;
      this.logger.warn({ err, event: msg.fields.routingKey, deliveries }, 'event delivery failed; requeued');
      await new Promise((r) => setTimeout(r, retryDelayMs(deliveries)));
      settle(ch, msg, 'requeue');
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.consumer?.cancel();
    await Promise.allSettled([...this.inFlight]);
  }
}
