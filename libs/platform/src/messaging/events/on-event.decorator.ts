import { SetMetadata } from '@nestjs/common';
import type { EventMap, EventName } from '@protobank/contracts';

export const ON_EVENT = Symbol('ON_EVENT');

/**
 * Marks a provider method as a consumer of an integration event. In the monolith the outbox relay calls
 * it in-process; in a split app it is fed from the service's durable RabbitMQ queue. Either way the
 * delivery is at-least-once: make the effect idempotent with InboxService.once().
 */
export function OnEvent<N extends EventName>(name: N) {
  return <T extends (event: EventMap[N]) => Promise<void>>(
    target: object,
    key: string | symbol,
    descriptor: TypedPropertyDescriptor<T>,
  ) => {
    SetMetadata(ON_EVENT, name)(target, key, descriptor);
  };
}
