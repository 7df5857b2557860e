import type { EventBase } from '@protobank/contracts';
import type { Caller } from '../../context/request-context';

export interface EventHeaders {
  request_id?: string;
  caller?: Caller;
}

export interface EventEnvelope {
  name: string;
  payload: EventBase;
  headers: EventHeaders;
}

/** Where the outbox relay hands events: local handlers (monolith) or the RabbitMQ exchange (split). */
export abstract class EventTransport {
  abstract publish(envelope: EventEnvelope): Promise<void>;
  /** How many events the relay may hand over at once. */
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
}
