import type { EventBase } from '@protobank/contracts';
import type { Caller } from '../../context/request-context';
import type { TraceHeaders } from '../../tracing/tracing';

/**
 * What travels with an event besides its payload, in the outbox row's `headers` (jsonb) and then in
 * message headers: the producing request's id and caller, and (tracing on) its W3C trace context: the
 * row keeps the writer's, the relay hands on its publish span's.
 */
export interface EventHeaders extends TraceHeaders {
  request_id?: string;
  caller?: Caller;
}

export interface EventEnvelope {
  name: string;
  payload: EventBase;
  headers: EventHeaders;
}

/** The monolith's events, handed to local handlers. */
export const IN_PROCESS = { system: 'protobank.in_process', destination: 'in-process' };

/** Where the outbox relay hands events: local handlers (monolith) or the RabbitMQ exchange (split). */
export abstract class EventTransport {
  abstract publish(envelope: EventEnvelope): Promise<void>;
  /**
   * Hands over a window of events at once; one outcome per envelope (undefined: delivered, else the
   * error), never rejects. By default each is published side by side (over RabbitMQ their confirms
   * overlap); the in-process strategy hands the window to batch handlers.
   */
  async publishMany(envelopes: EventEnvelope[]): Promise<unknown[]> {
    const results = await Promise.allSettled(envelopes.map((e) => this.publish(e)));
    return results.map((r) =>
      r.status === 'fulfilled' ? undefined : (r.reason ?? new Error('not published')),
    );
  }
  /** How many events the relay may hand over at once (one publishMany). */
  inFlight(): number {
    return 16;
  }
  /** False while delivery cannot work (broker disconnected): the relay then leaves rows unclaimed. */
  isAvailable(): boolean {
    return true;
  }
  /** Calls `listener` each time delivery becomes possible again, so the relay need not wait for its poll. */
  onAvailable(_listener: () => void): void {
    /* a transport that is always available never becomes available */
  }
  /** For the relay's publish spans: the messaging system and where events go. */
  describe(): { system: string; destination: string } {
    return IN_PROCESS;
  }
}
