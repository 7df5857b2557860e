/**
 * In-process Nest application contexts built from the real platform modules (no HTTP), for tests that
 * look at the contract and event mechanisms from both ends.
 */
import {
  Module,
  type DynamicModule,
  type INestApplicationContext,
  type Provider,
  type Type,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { ContractDef } from '@protobank/contracts';
import {
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
  serves?: ContractDef<unknown>[];
  calls?: ContractDef<unknown>[];
  subscriptions?: MessagingOptions['subscriptions'];
}

@Module({})
class TestRootModule {}

export async function createContext(o: ContextOptions): Promise<INestApplicationContext> {
  const config = loadConfig({ ...o.env, LOG_LEVEL: 'fatal' });
  const logger = createLogger(config, o.service);
  const ctx = await NestFactory.createApplicationContext(
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
    },
    { logger: false },
  );
  await ctx.init();
  return ctx;
}
