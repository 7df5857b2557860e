import { Inject, Injectable } from '@nestjs/common';
import { BaseRpcContext } from '@nestjs/microservices';
import type { Logger } from 'pino';
import { AppConfig } from '../../config/app-config';
import { LOGGER } from '../../logging/logging.tokens';
import { IN_PROCESS, type EventEnvelope, type EventTransport } from '../events/event-transport';
import { EventServer } from './event-server';

/** What an in-process handler's @Ctx() receives: the event as the relay handed it over. */
export class InProcessContext extends BaseRpcContext<[EventEnvelope]> {}

/**
 * The monolith's transport strategy: the outbox relay hands events straight to the @EventPattern
 * handlers Nest registered here, with no broker and no serialization. Contract tokens need no transport
 * at all in the monolith: they are bound to the modules' implementations by DI.
 */
@Injectable()
export class InProcessServer extends EventServer implements EventTransport {
  private listening = false;
  private readonly inFlightDeliveries = new Set<Promise<void>>();
  private readonly availableListeners: (() => void)[] = [];

  constructor(
    private readonly config: AppConfig,
    @Inject(LOGGER) protected readonly log: Logger,
  ) {
    super();
  }

  listen(callback: () => void): void {
    this.listening = true;
    callback();
    for (const listener of this.availableListeners) listener();
  }

  /** Takes no more events, and lets the ones being handled finish. */
  async close(): Promise<void> {
    this.listening = false;
    await Promise.allSettled([...this.inFlightDeliveries]);
  }

  on(): void {
    /* no connection, so no connection events */
  }

  unwrap<T>(): T {
    throw new Error('the in-process transport has no client library to unwrap');
  }

  /** The relay's whole claimed batch at once: batch handlers take it in one transaction each. */
  inFlight(): number {
    return 100;
  }

  /**
   * One-event handlers at once per event name: half the pool. Their transactions are also held to half the
   * pool in all (InboxService), so requests always find a connection.
   */
  private handlerConcurrency(): number {
    return Math.max(1, Math.floor(this.config.databasePoolSize / 2));
  }

  /** Until the app started its microservice (and after it closed it) the relay leaves rows for later. */
  isAvailable(): boolean {
    return this.listening;
  }

  /** The relay starts before Nest starts this strategy: events already in the outbox go as soon as it listens. */
  onAvailable(listener: () => void): void {
    this.availableListeners.push(listener);
  }

  describe(): { system: string; destination: string } {
    return IN_PROCESS;
  }

  protected destination(): { system: string; destination: string } {
    return IN_PROCESS;
  }

  protected consumerGroup(): string {
    return 'monolith';
  }

  /** A window from the relay, delivered together (deliverMany): one outcome per event. */
  publishMany(envelopes: EventEnvelope[]): Promise<unknown[]> {
    if (!this.listening) {
      return Promise.resolve(envelopes.map(() => new Error('the in-process transport is not listening')));
    }
    const work = this.deliverMany(
      envelopes.map((e) => ({
        name: e.name,
        payload: e.payload,
        headers: e.headers,
        ctx: new InProcessContext([e]),
      })),
      this.handlerConcurrency(),
    );
    // Settles either way: `work` is the caller's to handle, and a rejected copy would be unhandled.
    const tracked = work.then(
      () => undefined,
      () => undefined,
    );
    this.inFlightDeliveries.add(tracked);
    void tracked.finally(() => this.inFlightDeliveries.delete(tracked));
    return work;
  }

  publish(envelope: EventEnvelope): Promise<void> {
    if (!this.listening) return Promise.reject(new Error('the in-process transport is not listening'));
    const work = this.deliver(
      envelope.name,
      envelope.payload,
      envelope.headers,
      new InProcessContext([envelope]),
    );
    this.inFlightDeliveries.add(work);
    void work.catch(() => undefined).finally(() => this.inFlightDeliveries.delete(work));
    return work;
  }
}
