/**
 * In-process Nest applications built from the real platform modules, for tests that look at the contract
 * and event mechanisms from both ends. Hybrid like the real apps (their transport strategy connected and
 * started), but never listening on HTTP.
 */
import {
  Module,
  type DynamicModule,
  type INestApplicationContext,
  type Provider,
  type Type,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { ContractDef } from '@protobank/contracts';
import {
  connectTransport,
  createLogger,
  loadConfig,
  PlatformModule,
  type MessagingOptions,
  type Transport,
} from '@protobank/platform';

export interface ContextOptions {
  service: string;
  transport: Transport;
  env: Record<string, string>;
  modules?: (Type<unknown> | DynamicModule)[];
  providers?: Provider[];
  /** Classes with @OnEvent handlers go here: Nest registers event handlers of controllers only. */
  controllers?: Type<unknown>[];
  serves?: ContractDef<unknown>[];
  calls?: ContractDef<unknown>[];
  subscriptions?: MessagingOptions['subscriptions'];
}

@Module({})
class TestRootModule {}

export async function createContext(o: ContextOptions): Promise<INestApplicationContext> {
  const config = loadConfig({ ...o.env, LOG_LEVEL: 'fatal' });
  const logger = createLogger(config, o.service);
  const app = await NestFactory.create(
    {
      module: TestRootModule,
      imports: [
        PlatformModule.forRoot({
          service: o.service,
          config,
          logger,
          transport: o.transport,
          serves: o.serves,
          calls: o.calls,
          subscriptions: o.subscriptions,
        }),
        ...(o.modules ?? []),
      ],
      providers: o.providers ?? [],
      controllers: o.controllers ?? [],
    },
    new FastifyAdapter(),
    { logger: false },
  );
  connectTransport(app);
  await app.init();
  await app.startAllMicroservices();
  return app;
}
