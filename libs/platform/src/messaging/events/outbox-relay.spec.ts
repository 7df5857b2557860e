import type { DiscoveryService } from '@nestjs/core';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { AppConfig } from '../../config/app-config';
import { EventTransport } from './event-transport';
import { OutboxRegistration } from './outbox-registration';
import { OutboxRelay } from './outbox-relay';

/** A transport that becomes available later, as the in-process strategy does once Nest starts it. */
class LateTransport extends EventTransport {
  listeners: (() => void)[] = [];
  publish(): Promise<void> {
    return Promise.resolve();
  }
  override onAvailable(listener: () => void): void {
    this.listeners.push(listener);
  }
}

describe('OutboxRelay', () => {
  it('drains as soon as its transport becomes available, not at its next poll', async () => {
    const transport = new LateTransport();
    const discovery = {
      getProviders: () => [{ instance: new OutboxRegistration('users') }],
    } as unknown as DiscoveryService;
    const config = { outboxPollMs: 3_600_000 } as AppConfig;
    const relay = new OutboxRelay({} as DataSource, transport, discovery, config, {} as Logger);
    // No LISTEN connection in a unit test; the wake-up under test does not need one.
    jest.spyOn(relay as unknown as { listen(): Promise<void> }, 'listen').mockResolvedValue();
    const kick = jest.spyOn(relay, 'kick').mockImplementation(() => undefined);

    relay.onApplicationBootstrap();
    try {
      expect(kick).toHaveBeenCalledTimes(1); // the first drain, at start-up
      expect(transport.listeners).toHaveLength(1);
      transport.listeners[0](); // the strategy starts listening
      expect(kick).toHaveBeenCalledTimes(2);
    } finally {
      await relay.beforeApplicationShutdown(); // stops its poll timer
    }
  });
});
