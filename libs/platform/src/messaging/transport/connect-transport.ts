import type { INestApplication } from '@nestjs/common';
import type { CustomTransportStrategy } from '@nestjs/microservices';

/** DI token of the app's transport strategy: InProcessServer (monolith) or RmqServer (split apps). */
export const TRANSPORT_STRATEGY = Symbol('TRANSPORT_STRATEGY');

/**
 * Makes the app hybrid: connects its transport strategy (a DI provider, so it can use our RabbitMQ
 * connection and the modules' implementations) as a Nest microservice. Nest registers the
 * @EventPattern handlers of every module's controllers on it right here.
 *
 * Not inheriting the HTTP app's config is deliberate: the global access-token and rate-limit guards,
 * validation pipe and HTTP error filter are about HTTP requests. An event was authorised when it was
 * produced, and its payload is typed and built by our own code.
 */
export function connectTransport(app: INestApplication): void {
  const strategy = app.get<CustomTransportStrategy>(TRANSPORT_STRATEGY);
  app.connectMicroservice({ strategy }, { inheritAppConfig: false });
}
