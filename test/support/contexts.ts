/**
 * In-process Nest applications built from the real platform modules, for tests that look at the contract
 * and event mechanisms from both ends. Hybrid like the real apps (their transport strategy connected and
 * started), but never listening on HTTP.
 */
import {
  Module,
  type DynamicModule,
  type InjectionToken,
  type INestApplicationContext,
  type ModuleMetadata,
  type Provider,
  type Type,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { ContractDef } from '@protobank/contracts';
import {
  connectTransport,
  createLogger,
  loadConfig,
  ConfigSource,
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
  /**
   * Providers replaced wherever a module provides them (a test's clock, a wrapped contract binding): a
   * module's own providers cannot be replaced from outside it otherwise.
   */
  overrides?: ProviderOverride[];
}

export type ProviderOverride =
  | { provide: InjectionToken; useValue: unknown }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  | { provide: InjectionToken; useFactory: (...args: any[]) => unknown; inject?: InjectionToken[] };

@Module({})
class TestRootModule {}

export async function createContext(o: ContextOptions): Promise<INestApplicationContext> {
  const env = { ...o.env, LOG_LEVEL: 'fatal' };
  const config = loadConfig(env);
  const logger = createLogger(config, o.service);
  const metadata: ModuleMetadata = {
    imports: [
      PlatformModule.forRoot({
        service: o.service,
        config,
        configSource: new ConfigSource(env),
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
  };
  const app = o.overrides?.length
    ? await withOverrides(metadata, o.overrides)
    : await NestFactory.create({ module: TestRootModule, ...metadata }, new FastifyAdapter(), {
        logger: false,
      });
  connectTransport(app);
  await app.init();
  await app.startAllMicroservices();
  return app;
}

/** The same application, built by @nestjs/testing, which can replace providers inside modules. */
async function withOverrides(metadata: ModuleMetadata, overrides: ProviderOverride[]) {
  const builder = Test.createTestingModule(metadata);
  for (const o of overrides) {
    const by = builder.overrideProvider(o.provide);
    if ('useValue' in o) by.useValue(o.useValue);
    else by.useFactory({ factory: o.useFactory, inject: o.inject });
  }
  const compiled = await builder.compile();
  return compiled.createNestApplication(new FastifyAdapter(), { logger: false });
}
