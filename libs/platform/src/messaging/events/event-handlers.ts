import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import type { EventBase, EventName } from '@protobank/contracts';
import { ON_EVENT } from './on-event.decorator';

export interface EventHandlerRef {
  /** `Class.method`: stable, so it doubles as the consumer name in inbox tables and logs. */
  name: string;
  handle: (event: EventBase) => Promise<void>;
}

/** Every @OnEvent method of the modules in this process, by event name. */
@Injectable()
export class EventHandlers implements OnModuleInit {
  private readonly byEvent = new Map<string, EventHandlerRef[]>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) continue;
      const proto = Object.getPrototypeOf(instance) as object;
      for (const method of this.scanner.getAllMethodNames(proto)) {
        const fn = instance[method];
        if (typeof fn !== 'function') continue;
        const event = this.reflector.get<EventName | undefined>(ON_EVENT, fn as () => void);
        if (!event) continue;
        const list = this.byEvent.get(event) ?? [];
        list.push({
          name: `${proto.constructor.name}.${method}`,
          handle: (payload) => (fn as (e: EventBase) => Promise<void>).call(instance, payload),
        });
        this.byEvent.set(event, list);
      }
    }
  }

  for(event: string): EventHandlerRef[] {
    return this.byEvent.get(event) ?? [];
  }

  eventNames(): string[] {
    return [...this.byEvent.keys()];
  }
}
