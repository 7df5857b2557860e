import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Channel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import type { ContractDef } from '@protobank/contracts';
import { requestContext } from '../context/request-context';
import { AppError } from '../errors/app-error';
import { LOGGER } from '../logging/logging.tokens';
import { fromAmqpHeaders } from './amqp-headers';
import { decode, encode } from './codec';
import { RmqConnection, settle } from './rmq-connection';

export const SERVED_CONTRACTS = Symbol('SERVED_CONTRACTS');

type Handler = (...args: unknown[]) => Promise<unknown>;

/**
 * Serves the contracts a split app owns: one durable queue per service, each request dispatched by its
 * pattern to the same implementation the monolith injects locally. Acked after the reply is sent.
 */
@Injectable()
export class ContractServer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly handlers = new Map<string, Handler>();
  private readonly inFlight = new Set<Promise<void>>();
  private consumer?: { cancel(): Promise<void> };

  constructor(
    @Inject(SERVED_CONTRACTS) private readonly contracts: ContractDef<unknown>[],
    private readonly rmq: RmqConnection,
    private readonly moduleRef: ModuleRef,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    const queues = new Set<string>();
    for (const contract of this.contracts) {
      const impl = this.moduleRef.get<Record<string, Handler>>(contract.token, { strict: false });
      for (const [method, pattern] of Object.entries(contract.patterns) as [string, string][]) {
        if (typeof impl[method] !== 'function')
          throw new Error(`${contract.service} does not implement ${method}`);
        this.handlers.set(pattern, impl[method].bind(impl));
      }
      queues.add(this.rmq.name('rpc', contract.service));
    }
    if (queues.size === 0) return;
    this.consumer = this.rmq.consume('contract-server', {
      queues: [...queues],
      prefetch: 32,
      declare: async (ch) => {
        for (const queue of queues) await ch.assertQueue(queue, { durable: true });
      },
      onMessage: (ch, msg) => {
        const work = this.handle(ch, msg);
        this.inFlight.add(work);
        void work.finally(() => this.inFlight.delete(work));
      },
    });
  }

  private async handle(ch: Channel, msg: ConsumeMessage): Promise<void> {
    const pattern = String(msg.properties.type);
    const { requestId = String(msg.properties.correlationId), caller } = fromAmqpHeaders(msg.properties);
    const reply = await requestContext.run({ requestId, caller }, async () => {
      const handler = this.handlers.get(pattern);
      try {
        if (!handler) throw new AppError(501, 'unknown_pattern', `no handler for ${pattern}`);
        const { args } = decode<{ args: unknown[] }>(msg.content);
        return { ok: true, result: await handler(...args) };
      } catch (err) {
        if (err instanceof AppError) return { ok: false, error: err.toBody() };
        this.logger.error({ err, pattern }, 'contract handler failed');
        return {
          ok: false,
          error: { status: 500, code: 'internal_error', message: 'internal error', details: [] },
        };
      }
    });
    if (msg.properties.replyTo) {
      try {
        ch.sendToQueue(String(msg.properties.replyTo), encode(reply), {
          correlationId: msg.properties.correlationId as string,
          contentType: 'application/json',
        });
      } catch (err) {
        this.logger.warn({ err, pattern }, 'contract reply could not be sent');
      }
    }
    settle(ch, msg, 'ack');
  }

  /** Stop taking requests, let the ones in progress finish. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.consumer?.cancel();
    await Promise.allSettled([...this.inFlight]);
  }
}
