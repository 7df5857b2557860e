import {
  type BaseRpcContext,
  type CustomTransportStrategy,
  type MessageHandler,
  Server,
} from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import type { Logger } from 'pino';
import type { EventBase } from '@protobank/contracts';
import { requestContext } from '../../context/request-context';
import type { EventHeaders } from '../events/event-transport';
import { ATTR, contextFrom, SpanKind, tracingEnabled, withSpan } from '../../tracing/tracing';

interface Subscriber {
  /** `Class.method` (from @OnEvent's extras): names the handler in logs. */
  consumer: string;
  handler: MessageHandler;
  /** @OnEventBatch: the handler takes an array of payloads. */
  batch: boolean;
}

/** One event of a batch handed to deliverMany(). */
export interface Delivery {
  name: string;
  payload: EventBase;
  headers: EventHeaders;
  ctx: BaseRpcContext;
}

/**
 * What both of our transport strategies share: how the @EventPattern handlers Nest registers are run.
 *
 * Nest chains the handlers of one event pattern through `handler.next` and forkJoins them, which runs
 * them side by side and reports the first failure while the others may still be running. An event is
 * acked (or marked sent) only once every handler is done, so here each pattern keeps its subscriber
 * list: the registry holds one handler per event that runs them all in turn, tries every one, and fails
 * if any failed. The delivery is then retried whole; the inbox turns the repeats into no-ops for the
 * handlers that had succeeded.
 */
export abstract class EventServer extends Server implements CustomTransportStrategy {
  /** We await every handler's outcome and report failures ourselves (Nest then does not log them too). */
  override readonly propagatesEventHandlerErrors = true;
  private readonly subscribers = new Map<string, Subscriber[]>();

  protected abstract readonly log: Logger;

  override addHandler(
    pattern: unknown,
    callback: MessageHandler,
    isEventHandler = false,
    extras: Record<string, unknown> = {},
  ): void {
    if (!isEventHandler) return super.addHandler(pattern, callback, false, extras);
    const route = this.normalizePattern(pattern as string);
    const list = this.subscribers.get(route);
    const subscriber = {
      consumer: String(extras.consumer ?? `${route}#${list?.length ?? 0}`),
      handler: callback,
      batch: extras.batch === true,
    };
    if (list) {
      list.push(subscriber);
      return;
    }
    const all = [subscriber];
    this.subscribers.set(route, all);
    super.addHandler(
      pattern,
      (data: EventBase, ctx: BaseRpcContext) => this.runAll(route, all, data, ctx),
      true,
      extras,
    );
  }

  /**
   * Our patterns are plain strings (contract patterns, event names), as is the route Nest stores for them:
   * skip the JSON.parse Nest tries first, which throws (a few µs) for every message.
   */
  protected override getRouteFromPattern(pattern: string): string {
    return pattern;
  }

  /** The event names this app has handlers for. */
  eventNames(): string[] {
    return [...this.subscribers.keys()];
  }

  /** Whether this app has a handler for the event `name`. */
  protected handles(name: string): boolean {
    return this.subscribers.has(name);
  }

  /**
   * Runs every handler of `name` under the request id and caller that produced the event; rejects with
   * the first failure's error if any failed (after all were tried). An event nobody here handles is done.
   */
  protected deliver(
    name: string,
    payload: EventBase,
    headers: EventHeaders,
    ctx: BaseRpcContext,
  ): Promise<void> {
    const handler = this.getHandlerByPattern(name);
    if (!handler) return Promise.resolve();
    const requestId = headers.request_id ?? payload.event_id;
    const run = () =>
      requestContext.run({ requestId, caller: headers.caller }, () => handler(payload, ctx) as Promise<void>);
    if (!tracingEnabled()) return run();
    // This service's consumer span, a child of the relay's publish span (its context came with the event).
    const { system, destination } = this.destination();
    return withSpan(
      `process ${name}`,
      {
        kind: SpanKind.CONSUMER,
        parent: contextFrom(headers),
        attributes: {
          [ATTR.MESSAGING_SYSTEM]: system,
          [ATTR.MESSAGING_OPERATION_TYPE]: 'process',
          [ATTR.MESSAGING_OPERATION_NAME]: 'process',
          [ATTR.MESSAGING_DESTINATION_NAME]: destination,
          [ATTR.MESSAGING_CONSUMER_GROUP_NAME]: this.consumerGroup(),
          [ATTR.MESSAGING_MESSAGE_ID]: payload.event_id,
          [ATTR.REQUEST_ID]: requestId,
        },
      },
      run,
    );
  }

  /**
   * Delivers events that arrived together; resolves to one outcome per delivery (undefined: every
   * handler succeeded; else the error), never rejects. Events are grouped by name: an @OnEventBatch
   * handler is called once per group with all its payloads (one transaction, see InboxService.onceEach),
   * and if that call fails, once per event, so that only the events that fail alone fail. One-event
   * handlers run per event, `concurrency` at a time. With tracing on, every event is delivered on its
   * own (deliver()), so each keeps its consumer span and its handlers' spans.
   */
  protected async deliverMany(deliveries: Delivery[], concurrency: number): Promise<unknown[]> {
    const outcomes: unknown[] = new Array(deliveries.length).fill(undefined);
    if (tracingEnabled()) {
      await eachLimited(deliveries.length, concurrency, async (i) => {
        const d = deliveries[i];
        outcomes[i] = await this.deliver(d.name, d.payload, d.headers, d.ctx).then(
          () => undefined,
          (err: unknown) => err ?? new Error('event delivery failed'),
        );
      });
      return outcomes;
    }
    const groups = new Map<string, number[]>();
    deliveries.forEach((d, i) => groups.set(d.name, [...(groups.get(d.name) ?? []), i]));
    const failures: { index: number; consumer: string; err: unknown }[] = [];
    const work: Promise<void>[] = [];
    for (const [name, indexes] of groups) {
      for (const sub of this.subscribers.get(name) ?? []) {
        work.push(
          sub.batch
            ? this.runBatch(
                sub,
                indexes.map((i) => deliveries[i]),
                (j, err) => failures.push({ index: indexes[j], consumer: sub.consumer, err }),
              )
            : eachLimited(indexes.length, concurrency, async (j) => {
                const d = deliveries[indexes[j]];
                await this.underEvent(d, () => this.call(sub.handler, d.payload, d.ctx)).catch(
                  (err: unknown) => failures.push({ index: indexes[j], consumer: sub.consumer, err }),
                );
              }),
        );
      }
    }
    await Promise.all(work);
    for (const { index, consumer, err } of failures) {
      const d = deliveries[index];
      this.log.error({ err, event: d.name, event_id: d.payload.event_id, consumer }, 'event handler failed');
      outcomes[index] ??= err ?? new Error(`a handler of ${d.name} failed`);
    }
    return outcomes;
  }

  /** A batch handler on the whole group; if that fails, on each event alone (a poison event fails alone). */
  private async runBatch(
    sub: Subscriber,
    group: Delivery[],
    fail: (index: number, err: unknown) => void,
  ): Promise<void> {
    if (group.length > 1) {
      try {
        // No single request produced a batch: its context is the first event's (logs carry its id).
        await this.underEvent(group[0], () =>
          this.call(
            sub.handler,
            group.map((d) => d.payload),
            group[0].ctx,
          ),
        );
        return;
      } catch (err) {
        this.log.warn(
          { err, event: group[0].name, events: group.length, consumer: sub.consumer },
          'event batch failed; handing its events over one by one',
        );
      }
    }
    for (let j = 0; j < group.length; j++) {
      const d = group[j];
      await this.underEvent(d, () => this.call(sub.handler, [d.payload], d.ctx)).catch((err: unknown) =>
        fail(j, err),
      );
    }
  }

  private underEvent<T>(d: Delivery, run: () => Promise<T>): Promise<T> {
    const requestId = d.headers.request_id ?? d.payload.event_id;
    return requestContext.run({ requestId, caller: d.headers.caller }, run);
  }

  /** Nest's handler proxy resolves to the value, or to a stream that errors (exception filter). */
  private async call(handler: MessageHandler, data: unknown, ctx: BaseRpcContext): Promise<void> {
    await lastValueFrom(this.transformToObservable(await handler(data, ctx)), { defaultValue: undefined });
  }

  /** For consumer spans: the messaging system and the queue this server takes events from. */
  protected abstract destination(): { system: string; destination: string };

  /** For consumer spans: who consumes (the service in split mode). */
  protected abstract consumerGroup(): string;

  private async runAll(
    event: string,
    all: Subscriber[],
    payload: EventBase,
    ctx: BaseRpcContext,
  ): Promise<void> {
    // The first failure's own error, as deliverMany's grouped path returns it: its status says whether
    // the event is kept through an outage (503/504) or requeued towards the dead letters.
    let failure: { err: unknown } | undefined;
    for (const { consumer, handler, batch } of all) {
      const run = async () => {
        await this.call(handler, batch ? [payload] : payload, ctx);
      };
      try {
        // Traced, each handler has a span of its own under the delivery's: in the monolith one delivery
        // runs every module's handler, and this tells them apart.
        if (tracingEnabled()) {
          await withSpan(
            consumer,
            { kind: SpanKind.INTERNAL, attributes: { [ATTR.CODE_FUNCTION_NAME]: consumer } },
            run,
          );
        } else await run();
      } catch (err) {
        failure ??= { err: err ?? new Error(`a handler of ${event} failed`) };
        this.log.error({ err, event, event_id: payload.event_id, consumer }, 'event handler failed');
      }
    }
    if (failure) throw failure.err;
  }
}

/** Runs work(0..n-1), at most `limit` at a time. */
async function eachLimited(n: number, limit: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < n) await work(next++);
  };
  await Promise.all(Array.from({ length: Math.min(n, Math.max(1, limit)) }, lane));
}
