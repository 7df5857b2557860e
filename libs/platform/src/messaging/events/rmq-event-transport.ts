import { Injectable } from '@nestjs/common';
import { lastValueFrom } from 'rxjs';
import { RmqClient } from '../transport/rmq-client';
import { EventTransport, type EventEnvelope } from './event-transport';

/**
 * Split mode: the relay emits each event through the app's ClientProxy, which resolves once the broker
 * confirmed the message; only then does the relay mark the outbox row sent.
 */
@Injectable()
export class RmqEventTransport extends EventTransport {
  constructor(private readonly client: RmqClient) {
    super();
  }

  override isAvailable(): boolean {
    return this.client.isConnected();
  }

  /** The broker is back: the relay sends what waited in the outbox at once, not at its next poll. */
  override onAvailable(listener: () => void): void {
    this.client.onConnected(listener);
  }

  /** A relay's whole claimed batch in one window: its publisher confirms overlap (one wait, not 100). */
  override inFlight(): number {
    return 100;
  }

  override describe(): { system: string; destination: string } {
    return this.client.eventDestination();
  }

  publish(envelope: EventEnvelope): Promise<void> {
    return lastValueFrom(this.client.emit(envelope.name, envelope), { defaultValue: undefined });
  }
}
