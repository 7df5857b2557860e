import type { Channel } from 'amqplib';
import type { RmqConnection } from '../rmq-connection';

/**
 * The durable queue of one consuming service, bound to the events it takes. A quorum queue, so the broker
 * counts deliveries: after EVENT_MAX_DELIVERIES failed attempts (or an undecodable message) the event is
 * dead-lettered to `<prefix>.dead.events.<service>` for an operator, instead of looping forever.
 * Declared identically by the consumer and by every publisher (the arguments must match everywhere).
 */
export async function declareEventQueue(
  ch: Channel,
  rmq: RmqConnection,
  service: string,
  events: readonly string[],
  retired: readonly string[] = [],
): Promise<string> {
  const dead = rmq.name('dead');
  await ch.assertExchange(rmq.eventsExchange, 'topic', { durable: true });
  await ch.assertExchange(dead, 'direct', { durable: true });
  const deadQueue = rmq.name('dead', 'events', service);
  await ch.assertQueue(deadQueue, { durable: true });
  await ch.bindQueue(deadQueue, dead, service);
  const queue = rmq.name('events', service);
  await ch
    .assertQueue(queue, {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        'x-delivery-limit': rmq.config.eventMaxDeliveries,
        'x-dead-letter-exchange': dead,
        'x-dead-letter-routing-key': service,
      },
    })
    .catch((err: unknown) => {
      // The broker keeps a queue's arguments from its first declaration and refuses any other (406).
      if (err instanceof Error && /x-delivery-limit/.test(err.message)) {
        throw new Error(
          `RabbitMQ refused queue ${queue}: it was declared with another EVENT_MAX_DELIVERIES ` +
            `(${rmq.config.eventMaxDeliveries} now). Give every app the value the queues have, or drain and ` +
            `delete the event queues to change it (docs/architecture.md, Events). Broker said: ${err.message}`,
          { cause: err },
        );
      }
      throw err;
    });
  for (const event of events) await ch.bindQueue(queue, rmq.eventsExchange, event);
  // A subscription dropped for good (RETIRED_EVENT_SUBSCRIPTIONS): unbinding one that is not there is no
  // error.
  for (const event of retired) {
    if (!events.includes(event)) await ch.unbindQueue(queue, rmq.eventsExchange, event);
  }
  return queue;
}
