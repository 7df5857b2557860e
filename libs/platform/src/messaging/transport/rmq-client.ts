import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import type { ChannelWrapper } from 'amqp-connection-manager';
import type { ConsumeMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { lastValueFrom, throwError, timeout } from 'rxjs';
import { RETIRED_EVENT_SUBSCRIPTIONS, type ContractDef, type ServiceName } from '@protobank/contracts';
import { requestContext } from '../../context/request-context';
import { AppError } from '../../errors/app-error';
import { LOGGER } from '../../logging/logging.tokens';
import { DEADLINE_HEADER, toAmqpHeaders } from '../amqp-headers';
import { decode, encode } from '../codec';
import { declareEventQueue } from '../events/event-queues';
import type { EventEnvelope } from '../events/event-transport';
import { SUBSCRIPTIONS, type Subscriptions } from '../events/subscriptions';
import { RmqConnection } from '../rmq-connection';
import { ATTR, SpanKind, traceHeaders, tracingEnabled, withSpan } from '../../tracing/tracing';
import type { Reply } from './wire';

const REPLY_TO = 'amq.rabbitmq.reply-to';

/**
 * A split app's ClientProxy, on our RabbitMQ connection.
 *
 * - `send(pattern, args)`: request-reply. The request goes to the owning service's queue, the reply comes
 *   back on the direct reply-to pseudo-queue. The request id and the caller travel in headers, and the
 *   request expires with the caller's deadline, in its queue and (DEADLINE_HEADER) at the server, so a
 *   late server does not act on an abandoned call. An
 *   AppError thrown remotely comes back with the same status, code and details.
 * - `emit(name, envelope)`: an event to the topic exchange (the event name is the routing key), on a
 *   confirm channel: it resolves once the broker has the message. That channel first declares every
 *   consumer's queue from EVENT_SUBSCRIPTIONS, so no event is routed to nowhere because its consumer
 *   has not started yet.
 *
 * Contract bindings are built by `bind()` from each contract's `patterns` map, with the deadline.
 */
/**
 * The call could not be sent (the broker unreachable): the client is told what it can act on, as the
 * monolith would tell it of its own outage; why goes to the log (the connection's, or the send's).
 */
const unavailable = () =>
  new AppError(
    503,
    'dependency_unavailable',
    'A service this request needs is unavailable; try again shortly',
  ).withHeaders({ 'Retry-After': '1' });

@Injectable()
export class RmqClient extends ClientProxy implements OnModuleInit, OnApplicationBootstrap {
  private readonly pending = new Map<string, (packet: WritePacket) => void>();
  /** pattern -> the queue of the service that owns it (from the bound contracts). */
  private readonly routes = new Map<string, string>();
  private rpc!: ChannelWrapper;
  private events!: ChannelWrapper;

  constructor(
    private readonly rmq: RmqConnection,
    @Inject(SUBSCRIPTIONS) private readonly subscriptions: Subscriptions,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    super();
    this.rmq.manager.on('connect', () => this._status$.next('connected'));
    this.rmq.manager.on('disconnect', () => this._status$.next('disconnected'));
  }

  onModuleInit(): void {
    // Direct reply-to requires consuming on the channel that publishes; confirms are off on it.
    // Declaring the servers' queues here too means a request sent while a server is still starting
    // waits in its queue (until its expiration) instead of being dropped by the broker.
    this.rpc = this.rmq.channel(
      'rpc-client',
      async (ch) => {
        for (const queue of new Set(this.routes.values())) await ch.assertQueue(queue, { durable: true });
        await ch.consume(REPLY_TO, (msg) => this.onReply(msg), { noAck: true });
      },
      false,
    );
    this.events = this.rmq.channel('event-publisher', async (ch) => {
      for (const [service, events] of Object.entries(this.subscriptions)) {
        const retired = RETIRED_EVENT_SUBSCRIPTIONS[service as ServiceName];
        await declareEventQueue(ch, this.rmq, service, events ?? [], retired);
      }
    });
  }

  /** Serve no request before the reply consumer is up; give up waiting (readiness will say why) after 10 s. */
  async onApplicationBootstrap(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 10_000)));
    const connected = await Promise.race([this.rpc.waitForConnect().then(() => true), gaveUp]);
    clearTimeout(timer);
    if (!connected) this.logger.warn('RabbitMQ not reachable yet: contract calls fail with 503 until it is');
  }

  /**
   * Called by send() and emit() before each message. The connection is shared and reconnects by itself,
   * so there is nothing to open here: while it is down, fail fast (503) rather than queue.
   */
  connect(): Promise<void> {
    if (this.rmq.isConnected()) return Promise.resolve();
    return Promise.reject(unavailable());
  }

  /** The channels belong to RmqConnection, which closes them after the app's consumers have drained. */
  close(): void {}

  unwrap<T>(): T {
    return this.rmq.manager as T;
  }

  isConnected(): boolean {
    return this.rmq.isConnected();
  }

  /** Calls `listener` each time the connection to the broker is made (at start, and after every outage). */
  onConnected(listener: () => void): void {
    this.rmq.manager.on('connect', () => listener());
  }

  /** Where events go: RabbitMQ's topic exchange (the event name is the routing key). */
  eventDestination(): { system: string; destination: string } {
    return { system: 'rabbitmq', destination: this.rmq.eventsExchange };
  }

  /** The remote binding of a contract: one method per pattern, each a `send` with the deadline. */
  bind<T>(contract: ContractDef<T>): T {
    const queue = this.rmq.name('rpc', contract.service);
    const api: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
    for (const [method, pattern] of Object.entries(contract.patterns) as [string, string][]) {
      this.routes.set(pattern, queue);
      api[method] = (...args: unknown[]) => this.call(contract.service, pattern, args);
    }
    return api as T;
  }

  private call(service: string, pattern: string, args: unknown[]): Promise<unknown> {
    if (!tracingEnabled()) return this.callNow(service, pattern, args);
    // The caller's span of a contract call: it lasts until the reply (or the deadline), and its context
    // goes in the request's headers (publish() below), so the server's span is its child.
    return withSpan(
      `send ${pattern}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          [ATTR.MESSAGING_SYSTEM]: 'rabbitmq',
          [ATTR.MESSAGING_OPERATION_TYPE]: 'send',
          [ATTR.MESSAGING_OPERATION_NAME]: 'send',
          [ATTR.MESSAGING_DESTINATION_NAME]: this.routes.get(pattern) ?? '',
          [ATTR.RPC_SERVICE]: service,
          [ATTR.RPC_METHOD]: pattern,
        },
      },
      () => this.callNow(service, pattern, args),
    );
  }

  private callNow(service: string, pattern: string, args: unknown[]): Promise<unknown> {
    const ms = this.rmq.config.rpcTimeoutMs;
    return lastValueFrom(
      this.send(pattern, args).pipe(
        timeout({
          first: ms,
          with: () => {
            this.logger.warn({ service, pattern, timeout_ms: ms }, 'contract call timed out');
            return throwError(
              () =>
                new AppError(
                  504,
                  'dependency_timeout',
                  'A service this request needs did not answer in time; try again shortly',
                ),
            );
          },
        }),
      ),
      { defaultValue: undefined },
    );
  }

  /** One request; returns the teardown that forgets it (the deadline passed, or the caller went away). */
  protected publish(packet: ReadPacket<unknown[]>, callback: (packet: WritePacket) => void): () => void {
    const pattern = String(packet.pattern);
    const queue = this.routes.get(pattern);
    if (!queue) {
      this.logger.error({ pattern }, 'contract call: no contract is bound for this pattern');
      callback({ err: new AppError(501, 'unknown_pattern', 'This operation is not available here') });
      return () => undefined;
    }
    const id = randomUUID();
    const ms = this.rmq.config.rpcTimeoutMs;
    const ctx = requestContext.current();
    this.pending.set(id, callback);
    this.rpc
      .sendToQueue(queue, encode({ args: packet.data }), {
        correlationId: id,
        replyTo: REPLY_TO,
        type: pattern,
        headers: {
          ...toAmqpHeaders(ctx?.requestId, ctx?.caller, traceHeaders()),
          [DEADLINE_HEADER]: String(Date.now() + ms),
        },
        expiration: String(ms),
        contentType: 'application/json',
        timeout: ms,
      })
      .catch((err: unknown) => {
        if (!this.pending.delete(id)) return;
        this.logger.warn({ err, pattern }, 'contract call could not be sent');
        callback({ err: unavailable() });
      });
    return () => this.pending.delete(id);
  }

  /** One event, confirmed by the broker. `packet.data` is the outbox row's payload and headers. */
  protected async dispatchEvent<T = void>(packet: ReadPacket<EventEnvelope>): Promise<T> {
    const { name, payload, headers } = packet.data;
    await this.events.publish(this.rmq.eventsExchange, name, encode(payload), {
      persistent: true,
      messageId: payload.event_id,
      type: name,
      timestamp: Math.floor(Date.now() / 1000),
      contentType: 'application/json',
      // The relay's publish span, which it put in the envelope: the consumers' spans are its children.
      headers: toAmqpHeaders(headers.request_id, headers.caller, headers),
      timeout: 5000,
    });
    return undefined as T;
  }

  private onReply(msg: ConsumeMessage | null): void {
    if (!msg) return;
    const id = msg.properties.correlationId as string;
    const callback = this.pending.get(id);
    if (!callback) return; // the caller already gave up
    this.pending.delete(id);
    try {
      const reply = decode<Reply>(msg.content);
      callback(
        reply.ok
          ? { response: reply.result, isDisposed: true }
          : { err: AppError.fromBody(reply.error).withHeaders(reply.headers ?? {}) },
      );
    } catch (err) {
      callback({ err });
    }
  }
}
