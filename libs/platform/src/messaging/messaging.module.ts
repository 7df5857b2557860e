import { type DynamicModule, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { EVENT_SUBSCRIPTIONS, type ContractDef } from '@protobank/contracts';
import { ContractServer, SERVED_CONTRACTS } from './contract-server';
import { EventHandlers } from './events/event-handlers';
import { EventRetention } from './events/event-retention';
import { EventTransport } from './events/event-transport';
import { InboxService } from './events/inbox.service';
import { LocalEventTransport } from './events/local-event-transport';
import { OutboxRelay } from './events/outbox-relay';
import { OutboxService } from './events/outbox.service';
import { RmqEventConsumer } from './events/rmq-event-consumer';
import { RmqEventTransport } from './events/rmq-event-transport';
import { SUBSCRIPTIONS, type Subscriptions } from './events/subscriptions';
import { RmqConnection } from './rmq-connection';
import { RpcClient } from './rpc-client';

export type Transport = 'local' | 'rmq';

export interface MessagingOptions {
  transport: Transport;
  /** Contracts this app owns and serves over RabbitMQ (split apps only). */
  serves?: ContractDef<unknown>[];
  /** Contracts of other services this app calls; bound to RabbitMQ clients (split apps only). */
  calls?: ContractDef<unknown>[];
  /** Which service consumes which events; defaults to contracts' EVENT_SUBSCRIPTIONS. */
  subscriptions?: Subscriptions;
}

/**
 * Contracts and events, one mechanism for both topologies. With `local` (the monolith) contract tokens
 * are bound by the domain modules themselves and events go outbox -> relay -> local handlers; nothing
 * touches RabbitMQ. With `rmq` the tokens of `calls` are bound to generic RabbitMQ clients, `serves`
 * are answered from the broker, and events go outbox -> relay -> topic exchange -> per-service queues.
 */
export class MessagingModule {
  static forRoot(options: MessagingOptions): DynamicModule {
    const providers: Provider[] = [EventHandlers, OutboxService, InboxService, OutboxRelay, EventRetention];
    const exports: (string | symbol | Provider)[] = [
      OutboxService,
      InboxService,
      OutboxRelay,
      EventRetention,
    ];
    if (options.transport === 'local') {
      providers.push({ provide: EventTransport, useClass: LocalEventTransport });
    } else {
      providers.push(
        RmqConnection,
        RpcClient,
        RmqEventConsumer,
        { provide: EventTransport, useClass: RmqEventTransport },
        { provide: SERVED_CONTRACTS, useValue: options.serves ?? [] },
        { provide: SUBSCRIPTIONS, useValue: options.subscriptions ?? EVENT_SUBSCRIPTIONS },
        ContractServer,
      );
      for (const contract of options.calls ?? []) {
        providers.push({
          provide: contract.token,
          useFactory: (rpc: RpcClient) => rpc.bind(contract),
          inject: [RpcClient],
        });
        exports.push(contract.token);
      }
      exports.push(RmqConnection);
    }
    return { module: MessagingModule, global: true, imports: [DiscoveryModule], providers, exports };
  }
}
