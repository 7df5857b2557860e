import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { RmqConnection } from '../rmq-connection';
import { RmqClient } from '../transport/rmq-client';
import { RmqEventTransport } from './rmq-event-transport';

describe('RmqEventTransport', () => {
  it('tells the relay each time the broker connection is made again, so waiting events go at once', () => {
    const manager = new EventEmitter();
    let connected = false;
    const rmq = { manager, isConnected: () => connected } as unknown as RmqConnection;
    const transport = new RmqEventTransport(new RmqClient(rmq, {}, {} as Logger));
    const wakeUps: boolean[] = [];
    transport.onAvailable(() => wakeUps.push(transport.isAvailable()));

    connected = true;
    manager.emit('connect', {});
    connected = false;
    manager.emit('disconnect', { err: new Error('broker stopped') });
    connected = true;
    manager.emit('connect', {}); // after the outage

    expect(wakeUps).toEqual([true, true]);
  });
});
