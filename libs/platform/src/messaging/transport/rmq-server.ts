import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { RmqContext } from '@nestjs/microservices';
import type { Channel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import {
  RETIRED_EVENT_SUBSCRIPTIONS,
  type ContractDef,
  type EventBase,
  type ServiceName,
} from '@protobank/contracts';
import { SERVICE_NAME } from '../../app/service.tokens';
import { requestContext } from '../../context/request-context';
import { AppError, isChosenUnavailable } from '../../errors/app-error';
import { toErrorBody } from '../../http/error-body';
import { LOGGER } from '../../logging/logging.tokens';
import { MetricsService } from '../../metrics/metrics.service';
import { fromAmqpHeaders, pastDeadline } from '../amqp-headers';
import { decode, encode } from '../codec';
import { declareEventQueue } from '../events/event-queues';
import { SUBSCRIPTIONS, type Subscriptions } from '../events/subscriptions';
import { channelClosed, RmqConnection, settle } from '../rmq-connection';
import {
  ATTR,
  contextFrom,
  failSpan,
  SpanKind,
  tracingEnabled,
  withSpan,
  type TraceHeaders,
} from '../../tracing/tracing';
import { EventServer, type Delivery } from './event-server';
import { SERVED_CONTRACTS, type Reply } from './wire';

/** The most events one batch takes; the queue prefetches this many per batch in flight. */
const EVENT_BATCH_MAX = 64;

/** Pause before a failed event is tried again: 0.5 s, 1 s, 2 s, ... up to 10 s. */
const retryDelayMs = (deliveries: number) => Math.min(500 * 2 ** Math.max(0, deliveries - 1), 10_000);

/**
 * A failure that says nothing about the event: a dependency down or too slow (503 and 504: Postgres or
 * Redis unreachable, another app's contract call unanswered). Such an event is kept and tried again here
 * rather than requeued, so that an outage longer than EVENT_MAX_DELIVERIES pauses (about a minute) does
 * not use up the broker's delivery limit and dead-letter every event in flight (the audit trail's, the
 * session revocations', the notifications'), which the runbook would then have to shovel back by hand.
 */
const isTransient = (err: unknown) => [503, 504].includes(toErrorBody(err).status);

/**
 * An event's name: the `type` the relay gives every event, else its routing key. A dead-lettered event
 * carries the service's name as its routing key, and one moved back to its queue (the runbook's shovel
 * publishes it to that queue by name) the queue's, while its `type` stays the event's.
 */
const eventName = (msg: ConsumeMessage): string =>
  typeof msg.properties.type === 'string' && msg.properties.type !== ''
    ? msg.properties.type
    : msg.fields.routingKey;
/**
 * How long an event is kept through such failures before it goes back to the queue after all (where the
 * delivery limit applies): well within RabbitMQ's consumer_timeout (30 min by default), past which the
 * broker closes a channel holding an unacked delivery.
 */
const KEEP_MAX_MS = 10 * 60_000;

/**
 * A split app's transport strategy, on our RabbitMQ connection (amqp-connection-manager: reconnects and
 * re-declares after a broker restart).
 *
 * - Contract calls: the methods of each served contract are registered as message handlers, one per
 *   pattern of its `patterns` map, so no module writes adapters. Requests come from the service's
 *   durable `rpc.<service>` queue; an AppError goes back as its body (status, code, details), anything
 *   else as a 500 that reveals nothing. Acked once the reply is sent.
 * - Events: the @EventPattern handlers Nest registered take the service's durable quorum queue (bound
 *   to the service's EVENT_SUBSCRIPTIONS). Acked on the delivering channel only after every handler
 *   committed; a failure is requeued after a pause until the queue's delivery limit dead-letters it, but
 *   one caused by an outage (503/504) is kept and tried again here for up to KEEP_MAX_MS, using up none
 *   of that limit.
 * - Drain: consuming stops and in-flight messages finish at beforeApplicationShutdown (while HTTP is
 *   still draining), not only at close(), which Nest calls after the HTTP server has closed.
 */
@Injectable()
export class RmqServer extends EventServer implements BeforeApplicationShutdown {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly consumers: { cancel(): Promise<void> }[] = [];
  private draining?: Promise<void>;
  private readonly wakeOnDrain = new Set<() => void>();
  /** Events delivered and not yet handed to a batch (see collect). */
  private waiting: { ch: Channel; msg: ConsumeMessage }[] = [];
  /** Loops taking batches from `waiting` (see collect), at most EVENT_BATCHES_IN_FLIGHT. */
  private batchers = 0;
  /** A batcher is waiting for the rest of a socket read: the messages of that read are its. */
  private starting = false;
  /** An event kept through transient failures (see isTransient): attempts made here, and since when. */
  private readonly kept = new WeakMap<ConsumeMessage, { attempts: number; since: number }>();
  /** What became of each failed delivery (EventsKeptRetrying alerts on `kept`). */
  private readonly failures: Counter<'event' | 'outcome'>;
  private readonly dropped: Counter<'pattern'>;

  constructor(
    private readonly rmq: RmqConnection,
    private readonly moduleRef: ModuleRef,
    @Inject(SERVED_CONTRACTS) private readonly contracts: ContractDef<unknown>[],
    @Inject(SUBSCRIPTIONS) private readonly subscriptions: Subscriptions,
    @Inject(SERVICE_NAME) private readonly service: string,
    @Inject(LOGGER) protected readonly log: Logger,
    metrics: MetricsService,
  ) {
    super();
    this.dropped = metrics.counter(
      'contract_calls_dropped_total',
      'Contract calls this server read past their deadline and dropped unanswered (the caller had answered ' +
        "504): the app was paused or starved, or its clock is ahead of the callers'",
      ['pattern'],
    );
    this.failures = metrics.counter(
      'event_delivery_failures_total',
      'Failed deliveries of events to this consumer, by event and outcome: kept (a dependency was ' +
        'unavailable: tried again here), requeued (counts toward EVENT_MAX_DELIVERIES), redelivered (its ' +
        'channel closed: the broker delivers it again)',
      ['event', 'outcome'],
    );
    this.rmq.manager.on('connect', () => this._status$.next('connected'));
    this.rmq.manager.on('disconnect', () => this._status$.next('disconnected'));
  }

  listen(callback: (err?: unknown) => void): void {
    try {
      this.serveContracts();
      this.consumeEvents();
      callback();
    } catch (err) {
      callback(err);
    }
  }

  close(): Promise<void> {
    return this.drain();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.drain();
  }

  /** Connection changes are reported through `status` ('connected' / 'disconnected'). */
  on(): void {}

  protected destination(): { system: string; destination: string } {
    return { system: 'rabbitmq', destination: this.rmq.name('events', this.service) };
  }

  protected consumerGroup(): string {
    return this.service;
  }

  unwrap<T>(): T {
    return this.rmq.manager as T;
  }

  /** Stop taking messages, let the ones in progress finish (and ack). Once, whoever asks first. */
  private drain(): Promise<void> {
    this.draining ??= (async () => {
      for (const wake of this.wakeOnDrain) wake();
      await Promise.allSettled(this.consumers.map((c) => c.cancel()));
      await Promise.allSettled([...this.inFlight]);
    })();
    return this.draining;
  }

  /** Waits `ms`, or less if a drain begins meanwhile. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakeOnDrain.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakeOnDrain.add(wake);
    });
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    // Work fails only outside the handlers' own error handling (a bug): logged, as an unhandled rejection
    // would instead end the process; its messages stay unacked until the channel closes and redelivers.
    void work
      .catch((err: unknown) => this.log.error({ err }, 'event or request work failed outside its handlers'))
      .finally(() => this.inFlight.delete(work));
  }

  private serveContracts(): void {
    const queues = new Set<string>();
    for (const contract of this.contracts) {
      const impl = this.moduleRef.get<Record<string, (...args: unknown[]) => Promise<unknown>>>(
        contract.token,
        {
          strict: false,
        },
      );
      for (const [method, pattern] of Object.entries(contract.patterns) as [string, string][]) {
        if (typeof impl[method] !== 'function')
          throw new Error(`${contract.service} does not implement ${method}`);
        this.addHandler(pattern, (args: unknown[]) => impl[method](...args));
      }
      queues.add(this.rmq.name('rpc', contract.service));
    }
    if (queues.size === 0) return;
    this.consumers.push(
      this.rmq.consume('contract-server', {
        queues: [...queues],
        prefetch: 32,
        declare: async (ch) => {
          for (const queue of queues) await ch.assertQueue(queue, { durable: true });
        },
        onMessage: (ch, msg) => this.track(this.answer(ch, msg)),
      }),
    );
  }

  private async answer(ch: Channel, msg: ConsumeMessage): Promise<void> {
    const pattern = String(msg.properties.type);
    const {
      requestId = String(msg.properties.correlationId),
      caller,
      trace,
    } = fromAmqpHeaders(msg.properties);
    // Its caller has answered 504 already (this app was paused or starved while the request waited in
    // its prefetch): acting now would do what the client was told failed (helper-122 had an account
    // frozen, another closed and a card hold placed, each seconds after its 504). No reply: nobody waits.
    const late = pastDeadline(msg.properties);
    if (late !== undefined) {
      this.log.warn(
        { pattern, request_id: requestId, late_ms: late },
        'contract call past its deadline: dropped',
      );
      this.dropped.inc({ pattern });
      settle(ch, msg, 'ack');
      return;
    }
    const context = new RmqContext([msg, ch, pattern]);
    const run = () => requestContext.run({ requestId, caller }, () => this.invoke(pattern, msg, context));
    const reply = tracingEnabled() ? await this.traced(pattern, msg, trace, requestId, run) : await run();
    if (msg.properties.replyTo) {
      try {
        ch.sendToQueue(String(msg.properties.replyTo), encode(reply), {
          correlationId: msg.properties.correlationId as string,
          contentType: 'application/json',
        });
      } catch (err) {
        this.log.warn({ err, pattern }, 'contract reply could not be sent');
      }
    }
    settle(ch, msg, 'ack');
  }

  /** The server's span of a contract call, a child of the caller's (its context came in the headers). */
  private traced(
    pattern: string,
    msg: ConsumeMessage,
    trace: TraceHeaders | undefined,
    requestId: string,
    run: () => Promise<Reply>,
  ): Promise<Reply> {
    return withSpan(
      `process ${pattern}`,
      {
        kind: SpanKind.SERVER,
        parent: contextFrom(trace),
        attributes: {
          [ATTR.MESSAGING_SYSTEM]: 'rabbitmq',
          [ATTR.MESSAGING_OPERATION_TYPE]: 'process',
          [ATTR.MESSAGING_OPERATION_NAME]: 'process',
          [ATTR.MESSAGING_DESTINATION_NAME]: msg.fields.routingKey,
          [ATTR.RPC_SERVICE]: this.service,
          [ATTR.RPC_METHOD]: pattern,
          [ATTR.REQUEST_ID]: requestId,
        },
      },
      async (span) => {
        const reply = await run();
        if (!reply.ok) failSpan(span, undefined, reply.error.code);
        return reply;
      },
    );
  }

  /** Errors are serialized here: contract handlers are not run through Nest's RPC exception filters. */
  private async invoke(pattern: string, msg: ConsumeMessage, context: RmqContext): Promise<Reply> {
    const handler = this.getHandlerByPattern(pattern);
    try {
      if (!handler || handler.isEventHandler) {
        this.log.error({ pattern }, 'contract request for a pattern this app does not serve');
        throw new AppError(501, 'unknown_pattern', 'This operation is not available here');
      }
      const { args } = decode<{ args: unknown[] }>(msg.content);
      return { ok: true, result: await handler(args, context) };
    } catch (err) {
      // The same mapping as over HTTP, so both topologies answer alike: a deadlock is a 409, a database
      // or Redis outage a 503, anything unknown a 500 that reveals nothing (and is logged here).
      const error = toErrorBody(err);
      if (isChosenUnavailable(err))
        this.log.warn(
          { status: error.status, code: error.code, details: error.details, pattern },
          `contract call unavailable: ${error.message}`,
        );
      else if (error.status >= 500) this.log.error({ err, pattern }, 'contract handler failed');
      const headers = err instanceof AppError && Object.keys(err.headers).length ? err.headers : undefined;
      return { ok: false, error, ...(headers && { headers }) };
    }
  }

  private consumeEvents(): void {
    const names = this.eventNames();
    const subscribed = (this.subscriptions[this.service as ServiceName] ?? []) as readonly string[];
    const unlisted = names.filter((n) => !subscribed.includes(n));
    if (unlisted.length) {
      throw new Error(
        `${this.service} handles ${unlisted.join(', ')}: add them to EVENT_SUBSCRIPTIONS in @protobank/contracts`,
      );
    }
    if (names.length === 0) return;
    // Every series from the start at 0, so that a dashboard shows none failed and the first failure is an
    // increase (a series born at 1 is not one).
    for (const event of names) {
      for (const outcome of ['kept', 'requeued', 'redelivered']) this.failures.inc({ event, outcome }, 0);
    }
    this.consumers.push(
      this.rmq.consume('event-consumer', {
        queues: [this.rmq.name('events', this.service)],
        prefetch: EVENT_BATCH_MAX * this.rmq.config.eventBatchesInFlight,
        declare: (ch) =>
          declareEventQueue(
            ch,
            this.rmq,
            this.service,
            subscribed,
            RETIRED_EVENT_SUBSCRIPTIONS[this.service as ServiceName],
          ),
        onMessage: (ch, msg) => this.collect(ch, msg),
      }),
    );
  }

  /**
   * Events delivered together go to their handlers together (deliverMany: an @OnEventBatch handler takes
   * them in one transaction). Natural batching, as the ledger does: a message that finds a batch slot
   * free goes at once (after the rest of its socket read), and the messages that came while every slot
   * was busy form the next batches, up to EVENT_BATCH_MAX each. Batches in flight may share a consumer:
   * consumers are idempotent and order-free, and take their row locks in id order (InboxService).
   * Several in flight, because a batch mostly waits (a contract call over the broker, its transaction's
   * round trips and commit): one at a time, the notifications app used an eighth of a core and fell
   * behind the ledger (docs/architecture.md, "Events in batches").
   */
  private collect(ch: Channel, msg: ConsumeMessage): void {
    this.waiting.push({ ch, msg });
    if (this.starting || this.batchers >= this.rmq.config.eventBatchesInFlight) return;
    this.batchers++;
    this.starting = true;
    const work = (async () => {
      try {
        await new Promise((resolve) => setImmediate(resolve)); // the rest of this socket read
        this.starting = false;
        while (this.waiting.length) await this.takeBatch(this.waiting.splice(0, EVENT_BATCH_MAX));
      } finally {
        this.batchers--;
      }
    })();
    this.track(work);
  }

  /** Decodes, delivers and settles a batch: each message is acked once its event's handlers committed. */
  private async takeBatch(batch: { ch: Channel; msg: ConsumeMessage }[]): Promise<void> {
    const taken: { ch: Channel; msg: ConsumeMessage; delivery: Delivery }[] = [];
    const unhandled: { ch: Channel; msg: ConsumeMessage; err: Error }[] = [];
    for (const { ch, msg } of batch) {
      const name = eventName(msg);
      let payload: EventBase;
      try {
        payload = decode<EventBase>(msg.content);
        // JSON that is no event (null, a number, an array) would fail every handler the same way.
        if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
          throw new Error('the event is not a JSON object');
        }
      } catch (err) {
        // Requeueing a message that can never be decoded would loop: dead-letter it at once.
        this.log.error(
          { err, event: name, message_id: msg.properties.messageId },
          'undecodable event dead-lettered',
        );
        settle(ch, msg, 'reject');
        continue;
      }
      if (!this.handles(name)) {
        // Bound here by a publisher that knows of a subscription this version of the app lacks (a rolling
        // deploy: a newer instance on this queue takes it), or moved here by hand: failed like an event
        // whose handler failed, so it goes back to the queue and, past EVENT_MAX_DELIVERIES, to the
        // dead-letter queue for an operator, rather than being acknowledged and lost. (A subscription
        // removed for good is unbound: RETIRED_EVENT_SUBSCRIPTIONS.)
        unhandled.push({ ch, msg, err: new Error(`no handler here for the event ${name}`) });
        continue;
      }
      const { requestId, caller, trace } = fromAmqpHeaders(msg.properties);
      const headers = { request_id: requestId, caller, ...trace };
      taken.push({ ch, msg, delivery: { name, payload, headers, ctx: new RmqContext([msg, ch, name]) } });
    }
    const outcomes = await this.deliverMany(
      taken.map((t) => t.delivery),
      EVENT_BATCH_MAX,
    );
    const failed = [
      ...taken.map((t, i) => ({ ...t, err: outcomes[i] })).filter((t) => t.err !== undefined),
      ...unhandled,
    ];
    taken.forEach((t, i) => outcomes[i] === undefined && settle(t.ch, t.msg, 'ack'));
    if (failed.length === 0) return;
    // Attempts so far: the broker's deliveries, and those made here while the event was kept.
    const attempts = (msg: ConsumeMessage) =>
      Number((msg.properties.headers ?? {})['x-delivery-count'] ?? 0) +
      (this.kept.get(msg)?.attempts ?? 0) +
      1;
    // Metrics carry the names of events handled here only: a `type` no handler takes is any publisher's.
    const label = (msg: ConsumeMessage) => {
      const name = eventName(msg);
      return this.handles(name) ? name : 'unhandled';
    };
    for (const { msg, err } of failed) {
      const kept = isTransient(err);
      this.log.warn(
        { err, event: eventName(msg), attempts: attempts(msg) },
        kept
          ? 'event delivery failed (a dependency is unavailable); kept and tried again'
          : 'event delivery failed; requeued',
      );
    }
    // The pause spares a failing dependency, and does not hold up the next batch; while draining, the
    // messages go back at once instead of holding up the shutdown (another instance, or this one after
    // its restart, takes them). Events failed by an outage stay unacked here (the prefetch then holds the
    // rest back) and are tried again after the pause; the others go back to the queue, whose delivery
    // limit dead-letters an event that keeps failing.
    this.track(
      (async () => {
        if (!this.draining) await this.pause(retryDelayMs(Math.min(...failed.map((f) => attempts(f.msg)))));
        for (const { ch, msg, err } of failed) {
          const kept = this.kept.get(msg) ?? { attempts: 0, since: Date.now() };
          const event = label(msg);
          if (channelClosed(ch)) {
            // The broker delivers it again, on the channel that replaced it.
            this.failures.inc({ event, outcome: 'redelivered' });
          } else if (this.draining || !isTransient(err) || Date.now() - kept.since >= KEEP_MAX_MS) {
            this.failures.inc({ event, outcome: 'requeued' });
            settle(ch, msg, 'requeue');
          } else {
            this.failures.inc({ event, outcome: 'kept' });
            this.kept.set(msg, { attempts: kept.attempts + 1, since: kept.since });
            this.collect(ch, msg);
          }
        }
      })(),
    );
  }
}
