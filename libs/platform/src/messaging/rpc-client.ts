import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import type { ConsumeMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ContractDef, ServiceName } from '@protobank/contracts';
import { requestContext } from '../context/request-context';
import { AppError, type ErrorBody } from '../errors/app-error';
import { LOGGER } from '../logging/logging.tokens';
import { toAmqpHeaders } from './amqp-headers';
import { decode, encode } from './codec';
import { RmqConnection } from './rmq-connection';

type Reply = { ok: true; result: unknown } | { ok: false; error: ErrorBody };

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  timer: NodeJS.Timeout;
}

const REPLY_TO = 'amq.rabbitmq.reply-to';

/**
 * Request-reply over RabbitMQ: requests go to the owning service's queue, replies come back on the
 * direct reply-to pseudo-queue. Every call has a deadline (RPC_TIMEOUT_MS, then 504), and the request
 * carries the same deadline as its expiration so a late server does not act on an abandoned call.
 * The request id and the caller travel in headers; an AppError thrown remotely is re-thrown here with
 * the same status and code.
 */
@Injectable()
export class RpcClient implements OnModuleInit, OnApplicationBootstrap {
  private readonly pending = new Map<string, Pending>();
  private readonly services = new Set<ServiceName>();
  private channel!: ReturnType<RmqConnection['channel']>;

  constructor(
    private readonly rmq: RmqConnection,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    // Direct reply-to requires consuming on the channel that publishes; confirms are off on it.
    // Declaring the servers' queues here too means a request sent while a server is still starting
    // waits in its queue (until its expiration) instead of being dropped by the broker.
    this.channel = this.rmq.channel(
      'rpc-client',
      async (ch) => {
        for (const service of this.services)
          await ch.assertQueue(this.rmq.name('rpc', service), { durable: true });
        await ch.consume(REPLY_TO, (msg) => this.onReply(msg), { noAck: true });
      },
      false,
    );
  }

  /** Serve no request before the reply consumer is up; give up waiting (readiness will say why) after 10 s. */
  async onApplicationBootstrap(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 10_000)));
    const connected = await Promise.race([this.channel.waitForConnect().then(() => true), gaveUp]);
    clearTimeout(timer);
    if (!connected) this.logger.warn('RabbitMQ not reachable yet: contract calls fail with 503 until it is');
  }

  async call(service: ServiceName, pattern: string, args: unknown[]): Promise<unknown> {
    if (!this.rmq.isConnected()) {
      throw new AppError(503, 'dependency_unavailable', `${service} cannot be reached (message broker down)`);
    }
    const id = randomUUID();
    const timeoutMs = this.rmq.config.rpcTimeoutMs;
    const ctx = requestContext.current();
    const headers = toAmqpHeaders(ctx?.requestId, ctx?.caller);

    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.logger.warn({ service, pattern, timeout_ms: timeoutMs }, 'contract call timed out');
        reject(new AppError(504, 'dependency_timeout', `${service} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.channel
        .sendToQueue(this.rmq.name('rpc', service), encode({ args }), {
          correlationId: id,
          replyTo: REPLY_TO,
          type: pattern,
          headers,
          expiration: String(timeoutMs),
          contentType: 'application/json',
          timeout: timeoutMs,
        })
        .catch((err: unknown) => {
          const entry = this.pending.get(id);
          if (!entry) return;
          clearTimeout(entry.timer);
          this.pending.delete(id);
          this.logger.warn({ err, service, pattern }, 'contract call could not be sent');
          reject(new AppError(503, 'dependency_unavailable', `${service} cannot be reached`));
        });
    });
  }

  /** Builds the remote binding of a contract: one method per pattern, nothing hand-written. */
  bind<T>(contract: ContractDef<T>): T {
    this.services.add(contract.service);
    const api: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
    for (const [method, pattern] of Object.entries(contract.patterns) as [string, string][]) {
      api[method] = (...args: unknown[]) => this.call(contract.service, pattern, args);
    }
    return api as T;
  }

  private onReply(msg: ConsumeMessage | null): void {
    if (!msg) return;
    const entry = this.pending.get(msg.properties.correlationId as string);
    if (!entry) return; // the caller already gave up
    this.pending.delete(msg.properties.correlationId as string);
    clearTimeout(entry.timer);
    try {
      const reply = decode<Reply>(msg.content);
      if (reply.ok) entry.resolve(reply.result);
      else entry.reject(AppError.fromBody(reply.error));
    } catch (err) {
      entry.reject(err);
    }
  }
}
