import { Catch, type RpcExceptionFilter, UseFilters } from '@nestjs/common';
import { EventPattern } from '@nestjs/microservices';
import type { EventMap, EventName } from '@protobank/contracts';
import { throwError, type Observable } from 'rxjs';

/**
 * Hands a handler's error to our transport strategy as it was thrown. Nest's default RPC filter would
 * replace it by a generic 'Internal server error' (and log it under its own name): the strategy logs it
 * with the event and the consumer, and fails the delivery so it is retried.
 */
@Catch()
class PassEventErrorsThrough implements RpcExceptionFilter<unknown> {
  catch(exception: unknown): Observable<never> {
    return throwError(() => exception);
  }
}
const passThrough = new PassEventErrorsThrough();

/**
 * Nest's @EventPattern, typed by EventMap: the method must take the event's payload. Put it on a method
 * of a class listed in its module's `controllers` (Nest looks for event handlers only there). In the
 * monolith the outbox relay hands the event to the in-process strategy; in a split app it comes from the
 * service's durable RabbitMQ queue. Either way delivery is at least once: make the effect idempotent
 * with InboxService.once(). `Class.method` travels as the pattern's `consumer` extra, to name the
 * handler in logs.
 */
export function OnEvent<N extends EventName>(name: N) {
  return <T extends (event: EventMap[N]) => Promise<void>>(
    target: object,
    key: string | symbol,
    descriptor: TypedPropertyDescriptor<T>,
  ): void => {
    const consumer = `${target.constructor.name}.${String(key)}`;
    (EventPattern(name, { consumer }) as MethodDecorator)(target, key, descriptor);
    UseFilters(passThrough)(target, key, descriptor);
  };
}
