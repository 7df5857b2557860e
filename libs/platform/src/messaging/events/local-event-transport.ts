import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { AppConfig } from '../../config/app-config';
import { LOGGER } from '../../logging/logging.tokens';
import { dispatchEvent } from './dispatch';
import { EventHandlers } from './event-handlers';
import { EventTransport, type EventEnvelope } from './event-transport';

/** Monolith: the relay delivers straight to the handlers in this process. */
@Injectable()
export class LocalEventTransport extends EventTransport {
  constructor(
    private readonly handlers: EventHandlers,
    private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    super();
  }

  /** Handlers take pooled connections: half the pool at most, so requests always find one. */
  override inFlight(): number {
    return Math.max(1, Math.floor(this.config.databasePoolSize / 2));
  }

  publish(envelope: EventEnvelope): Promise<void> {
    return dispatchEvent(this.handlers, envelope, this.logger);
  }
}
