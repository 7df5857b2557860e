import { type DynamicModule, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { EVENT_SUBSCRIPTIONS, type ContractDef } from '@protobank/contracts';
import { InProcessDeadLetters, RmqDeadLetters } from './events/dead-letter-metrics';
import { EventRetention } from './events/event-retention';
import { EventHandlerPlacement } from './events/on-event.decorator';
import { EventTransport } from './events/event-transport';
import { InboxService } from './events/inbox.service';
import { OutboxRelay } from './events/outbox-relay';
import { OutboxService } from './events/outbox.service';
import { RmqEventTransport } from './events/rmq-event-transport';
import { SUBSCRIPTIONS, type Subscriptions } from './events/subscriptions';
import { RmqConnection } from './rmq-connection';
import { TRANSPORT_STRATEGY } from './transport/connect-transport';
import { InProcessServer } from './transport/in-process-server';
import { RmqClient } from './transport/rmq-client';
import { RmqServer } from './transport/rmq-server';
import { SERVED_CONTRACTS } from './transport/wire';

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
 * Contracts and events on @nestjs/microservices, one mechanism for both topologies; the app connects
 * TRANSPORT_STRATEGY as its microservice (connectTransport). With `local` (the monolith) contract
 * tokens are bound by the domain modules themselves and events go outbox -> relay -> the in-process
 * strategy -> @EventPattern handlers; nothing touches RabbitMQ. With `rmq` the tokens of `calls` are
 * bound to our ClientProxy, `serves` are answered by the RabbitMQ strategy, and events go outbox ->
 * relay -> ClientProxy.emit -> topic exchange -> per-service queues -> the strategy -> handlers.
 */
export class MessagingModule {
  static forRoot(options: MessagingOptions): DynamicModule {
    const providers: Provider[] = [
      OutboxService,
      InboxService,
      OutboxRelay,
      EventRetention,
      EventHandlerPlacement,
    ];
    const exports: (string | symbol | Provider)[] = [
      OutboxService,
      InboxService,
      OutboxRelay,
      EventRetention,
      TRANSPORT_STRATEGY,
    ];
    if (options.transport === 'local') {
      providers.push(
        InProcessServer,
        InProcessDeadLetters,
        { provide: TRANSPORT_STRATEGY, useExisting: InProcessServer },
        { provide: EventTransport, useExisting: InProcessServer },
      );
    } else {
      providers.push(
        RmqConnection,
        RmqClient,
        RmqServer,
        RmqDeadLetters,
        { provide: TRANSPORT_STRATEGY, useExisting: RmqServer },
        { provide: EventTransport, useClass: RmqEventTransport },
        { provide: SERVED_CONTRACTS, useValue: options.serves ?? [] },
        { provide: SUBSCRIPTIONS, useValue: options.subscriptions ?? EVENT_SUBSCRIPTIONS },
      );
      for (const contract of options.calls ?? []) {
        providers.push({
          provide: contract.token,
          useFactory: (client: RmqClient) => client.bind(contract),
          inject: [RmqClient],
        });
        exports.push(contract.token);
      }
      exports.push(RmqConnection);
    }
    return { module: MessagingModule, global: true, imports: [DiscoveryModule], providers, exports };
  }
}
