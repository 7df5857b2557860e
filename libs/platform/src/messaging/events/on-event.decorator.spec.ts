import { Controller, Injectable, Module } from '@nestjs/common';
import { DiscoveryModule, NestFactory } from '@nestjs/core';
import type { UserRegisteredEvent } from '@protobank/contracts';
import { EventHandlerPlacement, OnEvent } from './on-event.decorator';

@Injectable()
class MisplacedHandler {
  @OnEvent('user.registered')
  async on(_event: UserRegisteredEvent): Promise<void> {}
}

@Controller()
class PlacedHandler {
  @OnEvent('user.registered')
  async on(_event: UserRegisteredEvent): Promise<void> {}
}

const appWith = (module: { providers?: unknown[]; controllers?: unknown[] }) => {
  @Module({
    imports: [DiscoveryModule],
    providers: [EventHandlerPlacement, ...((module.providers ?? []) as never[])],
    controllers: (module.controllers ?? []) as never[],
  })
  class TestModule {}
  return NestFactory.createApplicationContext(TestModule, { logger: false, abortOnError: false });
};

describe('EventHandlerPlacement', () => {
  it('refuses to start an app whose @OnEvent handlers sit on a provider, where Nest would never run them', async () => {
    await expect(appWith({ providers: [MisplacedHandler] })).rejects.toThrow(
      "@OnEvent handlers run only on controllers: move MisplacedHandler from its module's providers to its controllers",
    );
  });

  it('lets handlers on controllers start', async () => {
    const app = await appWith({ controllers: [PlacedHandler] });
    await app.close();
  });
});
