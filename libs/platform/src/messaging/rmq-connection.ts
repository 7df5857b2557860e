import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import amqp, { type AmqpConnectionManager, type ChannelWrapper } from 'amqp-connection-manager';
import type { Channel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import { AppConfig } from '../config/app-config';
import { LOGGER } from '../logging/logging.tokens';

export interface ConsumerOptions {
  /** Declares what the consumer needs (exchanges, queues, bindings); re-run after every reconnect. */
  declare: (ch: ConfirmChannel) => Promise<unknown>;
  queues: string[];
  prefetch: number;
  /** Settle (ack/nack) on `ch`, the channel that delivered: delivery tags mean nothing on another one. */
  onMessage: (ch: Channel, msg: ConsumeMessage) => void;
}

/**
 * The one RabbitMQ connection of a split app. amqp-connection-manager reconnects and re-runs each
 * channel's setup (exchanges, queues, consumers) after a broker restart. The monolith never creates it.
 */
@Injectable()
export class RmqConnection implements OnApplicationShutdown {
  readonly manager: AmqpConnectionManager;
  private readonly channels: ChannelWrapper[] = [];
  /** Channels whose last setup failed, or that the broker closed or cancelled, with why: readiness reports them. */
  private readonly broken = new Map<string, string>();
  /** Each channel's raw channel of the current connection, once its setup has run. */
  private readonly live = new Map<string, ConfirmChannel>();
  private closing = false;
  /** The connection a reconnect was forced from (lost): once per connection, whatever else it loses. */
  private forcedFrom: unknown;

  constructor(
    readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.manager = amqp.connect([config.rabbitmqUrl], {
      heartbeatIntervalInSeconds: 15,
      reconnectTimeInSeconds: 1,
    });
    this.manager.on('connect', () => this.logger.info('rabbitmq connected'));
    this.manager.on('disconnect', ({ err }) =>
      this.logger.warn({ err: err?.message }, 'rabbitmq disconnected'),
    );
  }

  /** Exchange and queue names all start with RABBITMQ_PREFIX, so deployments (and test runs) never mix. */
  name(...parts: string[]): string {
    return [this.config.rabbitmqPrefix, ...parts].join('.');
  }

  get eventsExchange(): string {
    return this.name('events');
  }

  isConnected(): boolean {
    return this.manager.isConnected();
  }

  /** What is wrong with the broker connection or a channel's setup; empty when all is well. */
  problems(): string[] {
    if (!this.isConnected()) return ['not connected'];
    return [...this.broken].map(([channel, why]) => `${channel}: ${why}`);
  }

  channel(name: string, setup: (ch: ConfirmChannel) => Promise<unknown>, confirm = true): ChannelWrapper {
    const channel = this.manager.createChannel({
      name,
      json: false,
      confirm,
      setup: async (ch: ConfirmChannel) => {
        try {
          await setup(ch);
          this.live.set(name, ch);
          ch.once('close', () => {
            closedChannels.add(ch);
            this.lost(name, ch, 'channel closed');
          });
          this.broken.delete(name);
        } catch (err) {
          this.broken.set(name, (err as Error).message);
          throw err;
        }
      },
    });
    // Without a listener an 'error' event (e.g. a setup interrupted by a broker restart) kills the process;
    // the wrapper recovers by itself on the next connection.
    channel.on('error', (err: Error) =>
      this.logger.warn({ err: err.message, channel: name }, 'rabbitmq channel error'),
    );
    this.channels.push(channel);
    return channel;
  }

  /**
   * A consumer that survives reconnects. It consumes on the raw channel of each connection and hands
   * that channel to `onMessage`, because acking through the wrapper after a reconnect would settle
   * whatever message holds the same delivery tag on the new channel.
   */
  consume(name: string, options: ConsumerOptions): { cancel(): Promise<void> } {
    let current: { ch: ConfirmChannel; tags: string[] } | undefined;
    let cancelled = false;
    this.channel(name, async (ch) => {
      await options.declare(ch);
      if (cancelled) return;
      await ch.prefetch(options.prefetch);
      const tags: string[] = [];
      for (const queue of options.queues) {
        // null: the broker cancelled the consumer (its queue was deleted, say), not us.
        const { consumerTag } = await ch.consume(
          queue,
          (msg) =>
            msg ? options.onMessage(ch, msg) : cancelled || this.lost(name, ch, `${queue} cancelled`),
          { noAck: false },
        );
        tags.push(consumerTag);
      }
      current = { ch, tags };
    });
    return {
      cancel: async () => {
        cancelled = true;
        const active = current;
        if (active) await Promise.allSettled(active.tags.map((tag) => active.ch.cancel(tag)));
      },
    };
  }

  /**
   * A channel the broker closed (an error on it, a consumer timeout) or a consumer it cancelled (its queue
   * deleted) while the connection stays up: amqp-connection-manager re-creates channels only when it
   * reconnects, so the consumer would stay gone, with readiness green. Reported as broken, then the
   * connection is made again, which re-runs every channel's setup (declaring the queue again). A channel
   * closed because the connection went is the manager's own case: it reconnects by itself.
   */
  private lost(name: string, ch: ConfirmChannel, why: string): void {
    if (this.closing || this.live.get(name) !== ch) return;
    this.live.delete(name);
    this.broken.set(name, why);
    const connection = this.manager.connection;
    // A connection closing closes its channels first: look again once its own close would have come.
    setTimeout(() => {
      // Set up again meanwhile, or the connection itself went (the manager reconnects by itself; that
      // includes the reconnect forced below, whose old channels close after it): nothing to do.
      if (this.closing || this.live.has(name) || !this.manager.isConnected()) return;
      if (this.manager.connection !== connection || this.forcedFrom === connection) return;
      this.forcedFrom = connection;
      this.logger.warn({ channel: name, reason: why }, 'rabbitmq channel lost: reconnecting');
      this.manager.reconnect();
    }, 200).unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    await Promise.allSettled(this.channels.map((c) => c.close()));
    await this.manager.close();
  }
}

const closedChannels = new WeakSet<Channel>();

/** Whether `ch` (a channel set up by RmqConnection) has closed: its deliveries are the broker's again. */
export function channelClosed(ch: Channel): boolean {
  return closedChannels.has(ch);
}

/** Ack or nack on the delivering channel; if that channel is gone the broker redelivers anyway. */
export function settle(ch: Channel, msg: ConsumeMessage, outcome: 'ack' | 'requeue' | 'reject'): void {
  try {
    if (outcome === 'ack') ch.ack(msg);
    else ch.nack(msg, false, outcome === 'requeue');
  } catch {
    /* channel closed: the message goes back to the queue by itself */
  }
}
