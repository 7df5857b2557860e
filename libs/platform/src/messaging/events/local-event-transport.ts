import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '../../logging/logging.tokens';
import { dispatchEvent } from './dispatch';
import { EventHandlers } from './event-handlers';
import { EventTransport, type EventEnvelope } from './event-transport';

/** Monolith: the relay delivers straight to the handlers in this process. */
@Injectable()
export class LocalEventTransport extends EventTransport {
  constructor(
    private readonly handlers: EventHandlers,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    super();
  }

  publish(envelope: EventEnvelope): Promise<void> {
    return dispatchEvent(this.handlers, envelope, this.logger);
  }
}
