import type { Logger } from 'pino';
import { requestContext } from '../../context/request-context';
import type { EventHandlers } from './event-handlers';
import type { EventEnvelope } from './event-transport';

/**
 * Runs every local handler of an event under the request id that produced it. All handlers are tried;
 * if any failed the whole delivery fails and is retried, which the inbox makes safe for the others.
 */
export async function dispatchEvent(
  handlers: EventHandlers,
  envelope: EventEnvelope,
  logger: Logger,
): Promise<void> {
  const failures: unknown[] = [];
  const requestId = envelope.headers.request_id ?? envelope.payload.event_id;
  await requestContext.run({ requestId, caller: envelope.headers.caller }, async () => {
    for (const handler of handlers.for(envelope.name)) {
      try {
        await handler.handle(envelope.payload);
      } catch (err) {
        logger.error(
          { err, event: envelope.name, event_id: envelope.payload.event_id, consumer: handler.name },
          'event handler failed',
        );
        failures.push(err);
      }
    }
  });
  if (failures.length) throw new Error(`${failures.length} handler(s) of ${envelope.name} failed`);
}
