import {
  Catch,
  Injectable,
  type OnModuleInit,
  type RpcExceptionFilter,
  SetMetadata,
  UseFilters,
} from '@nestjs/common';
import { DiscoveryService, Reflector } from '@nestjs/core';
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

/** Marks a class that has @OnEvent methods, so a misplaced one is found at startup. */
const HAS_EVENT_HANDLERS = 'protobank:has-event-handlers';

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
    handlerFor(name, false, target, key, descriptor);
  };
}

/**
 * @OnEvent for a handler that takes the events of a batch at once (`events: EventMap[N][]`), to apply
 * them in one transaction (InboxService.onceEach). Batches are what arrived together: a window the
 * outbox relay claimed (monolith), or the messages a RabbitMQ prefetch window delivered at once (split).
 * If the call fails, each event of the batch is handed over again alone (a batch of one), so one bad
 * event fails (and is retried, then dead-lettered) by itself. With tracing on every call is a batch of
 * one, so each event keeps its own consumer span and handler span. The extras carry `batch: true`.
 */
export function OnEventBatch<N extends EventName>(name: N) {
  return <T extends (events: EventMap[N][]) => Promise<void>>(
    target: object,
    key: string | symbol,
    descriptor: TypedPropertyDescriptor<T>,
  ): void => {
    handlerFor(name, true, target, key, descriptor);
  };
}

/** What both decorators do: mark the class, register the pattern with its extras, let errors through. */
function handlerFor(
  name: EventName,
  batch: boolean,
  target: object,
  key: string | symbol,
  descriptor: PropertyDescriptor,
): void {
  const consumer = `${target.constructor.name}.${String(key)}`;
  SetMetadata(HAS_EVENT_HANDLERS, true)(target.constructor);
  (EventPattern(name, batch ? { consumer, batch } : { consumer }) as MethodDecorator)(
    target,
    key,
    descriptor,
  );
  UseFilters(passThrough)(target, key, descriptor);
}

/**
 * Refuses to start an app with @OnEvent methods on a provider: Nest registers event handlers of
 * controllers only, so those would never run, and their events would be acked (or marked sent) unhandled.
 */
@Injectable()
export class EventHandlerPlacement implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly reflector: Reflector,
  ) {}

  onModuleInit(): void {
    const misplaced = this.discovery
      .getProviders()
      .map((w) => w.metatype)
      .filter((t): t is NonNullable<typeof t> => typeof t === 'function')
      .filter((t) => this.reflector.get<boolean>(HAS_EVENT_HANDLERS, t) === true)
      .map((t) => t.name);
    if (misplaced.length) {
      throw new Error(
        `@OnEvent handlers run only on controllers: move ${[...new Set(misplaced)].join(', ')} from its module's providers to its controllers`,
      );
    }
  }
}
