import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import amqp, { type AmqpConnectionManager, type ChannelWrapper } from 'amqp-connection-manager';
import type { ConfirmChannel } from 'amqplib';
import type { Logger } from 'pino';
import { AppConfig } from '../config/app-config';
import { LOGGER } from '../logging/logging.tokens';

/**
 * The one RabbitMQ connection of a split app. amqp-connection-manager reconnects and re-runs each
 * channel's setup (exchanges, queues, consumers) after a broker restart. The monolith never creates it.
 */
@Injectable()
export class RmqConnection implements OnApplicationShutdown {
  readonly manager: AmqpConnectionManager;
  private readonly channels: ChannelWrapper[] = [];

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

  channel(name: string, setup: (ch: ConfirmChannel) => Promise<unknown>, confirm = true): ChannelWrapper {
    const channel = this.manager.createChannel({ name, json: false, confirm, setup });
    // Without a listener an 'error' event (e.g. a setup interrupted by a broker restart) kills the process;
    // the wrapper recovers by itself on the next connection.
    channel.on('error', (err: Error) =>
      this.logger.warn({ err: err.message, channel: name }, 'rabbitmq channel error'),
    );
    this.channels.push(channel);
    return channel;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled(this.channels.map((c) => c.close()));
    await this.manager.close();
  }
}
