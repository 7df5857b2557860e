import type { AppConfig, MetricsService, RedisService } from '@protobank/platform';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { NotificationView } from '../store/notifications.service';
import { StreamHub } from './stream-hub';
import type { NotificationsConfig } from '../notifications.config';

/**
 * A response that records what is written, and closes like a socket would. Like Node's, a write or an
 * end with a chunk after the end emits 'error' (a process with no listener for it would crash): those
 * are recorded in `afterEnd`.
 */
class FakeResponse extends EventEmitter {
  chunks: string[] = [];
  afterEnd: string[] = [];
  destroyed = false;
  writableEnded = false;
  write(chunk: string) {
    if (this.writableEnded) return this.writeAfterEnd(chunk);
    this.chunks.push(chunk);
    return true;
  }
  end(chunk?: string) {
    if (this.writableEnded) return chunk ? this.writeAfterEnd(chunk) : undefined;
    if (chunk) this.chunks.push(chunk);
    this.writableEnded = true;
    process.nextTick(() => this.emit('close'));
  }
  private writeAfterEnd(chunk: string) {
    this.afterEnd.push(chunk);
    process.nextTick(() => this.emit('error', new Error('write after end')));
    return false;
  }
}

/** Sessions that exist, as the hub asks Redis before each push; `down` makes Redis fail. */
const sessions = { live: new Set(['s1', 's2', 's3']), down: false };
const published: [string, string][] = [];
const redis = {
  client: {
    publish: async (channel: string, message: string) => void published.push([channel, message]),
    exists: async (key: string) => {
      if (sessions.down) throw new Error('redis down');
      return sessions.live.has(key.replace('auth:session:', '')) ? 1 : 0;
    },
  },
} as unknown as RedisService;

const hubWith = (perUser: number) =>
  new StreamHub(
    { redisKeyPrefix: 't:' } as AppConfig,
    { notificationStreamsPerUser: perUser } as NotificationsConfig,
    redis,
    { debug: () => undefined, warn: () => undefined } as unknown as Logger,
    { gauge: () => undefined } as unknown as MetricsService,
  );
const expiry = () => Math.floor(Date.now() / 1000) + 60;
/** A message of one notification, as an instance published it before publishMany (a rolling deploy). */
const beat = (hub: StreamHub) => (hub as unknown as { beat(): Promise<void> }).beat();
const dispatch = (hub: StreamHub, userId: string, id: string) =>
  (hub as unknown as { dispatch(m: string): Promise<void> }).dispatch(
    JSON.stringify({ user_id: userId, notification: { id, body: 'You sent £25.50 to Bob Smith' } }),
  );

/** A message as publishMany sends it: several notifications, for one user or more, in one array. */
const dispatchMany = (hub: StreamHub, items: [string, string][]) =>
  (hub as unknown as { dispatch(m: string): Promise<void> }).dispatch(
    JSON.stringify(items.map(([user_id, id]) => ({ user_id, notification: { id, body: 'You sent £1.00' } }))),
  );

describe('StreamHub', () => {
  it("publishes a batch's notifications as one message, which reaches each user's streams in order", async () => {
    const hub = hubWith(5);
    published.length = 0;
    const view = (id: string) => ({ id, body: 'You sent £1.00' }) as unknown as NotificationView;
    await hub.publishMany([
      { user_id: 'alice', notification: view('n1') },
      { user_id: 'bob', notification: view('n2') },
      { user_id: 'alice', notification: view('n3') },
    ]);
    expect(published).toHaveLength(1);
    expect(published[0][0]).toBe('t:notifications:stream');
    const [a, b] = [new FakeResponse(), new FakeResponse()];
    hub.attach('alice', 's1', expiry(), a as unknown as ServerResponse);
    hub.attach('bob', 's3', expiry(), b as unknown as ServerResponse);
    await (hub as unknown as { dispatch(m: string): Promise<void> }).dispatch(published[0][1]);
    expect(a.chunks.map((c) => /^id: (\w+)/.exec(c)?.[1])).toEqual(['n1', 'n3']);
    expect(b.chunks.map((c) => /^id: (\w+)/.exec(c)?.[1])).toEqual(['n2']);
    await dispatchMany(hub, [['carol', 'n4']]);
    expect(a.chunks).toHaveLength(2);
    expect(b.chunks).toHaveLength(1);
    void hub.beforeApplicationShutdown();
  });

  it('ends a stream whose session has ended once for a message that holds several of its notifications', async () => {
    const hub = hubWith(5);
    const ended = new FakeResponse();
    hub.attach('alice', 'gone', expiry(), ended as unknown as ServerResponse);
    await dispatchMany(hub, [
      ['alice', 'n1'],
      ['alice', 'n2'],
    ]);
    expect(ended.chunks).toEqual(['event: end\ndata: {"reason":"session_ended"}\n\n']);
    expect(hub.connections()).toBe(0);
  });

  it('passes a notification to every open stream of its user, and to no one else', async () => {
    const hub = hubWith(5);
    const [a1, a2, b] = [new FakeResponse(), new FakeResponse(), new FakeResponse()];
    hub.attach('alice', 's1', expiry(), a1 as unknown as ServerResponse);
    hub.attach('alice', 's2', expiry(), a2 as unknown as ServerResponse);
    hub.attach('bob', 's3', expiry(), b as unknown as ServerResponse);
    await dispatch(hub, 'alice', 'n1');
    expect(a1.chunks.join('')).toContain('id: n1\nevent: notification\n');
    expect(a2.chunks.join('')).toContain('id: n1\n');
    expect(b.chunks).toEqual([]);
    void hub.beforeApplicationShutdown();
  });

  it('closes the oldest stream beyond the per-user limit, and the newest one keeps working (limit 1 too)', async () => {
    const hub = hubWith(1);
    const [first, second] = [new FakeResponse(), new FakeResponse()];
    hub.attach('alice', 's1', expiry(), first as unknown as ServerResponse);
    hub.attach('alice', 's2', expiry(), second as unknown as ServerResponse);
    expect(first.chunks.join('')).toContain('event: end\ndata: {"reason":"too_many_streams"}');
    expect(hub.connections()).toBe(1);
    await dispatch(hub, 'alice', 'n2');
    expect(second.chunks.join('')).toContain('id: n2\n');
    void hub.beforeApplicationShutdown();
  });

  it('ends a stream whose session has ended instead of pushing to it, and fails closed without Redis', async () => {
    const hub = hubWith(5);
    const [ended, live, unsure] = [new FakeResponse(), new FakeResponse(), new FakeResponse()];
    hub.attach('alice', 'gone', expiry(), ended as unknown as ServerResponse);
    hub.attach('alice', 's1', expiry(), live as unknown as ServerResponse);
    await dispatch(hub, 'alice', 'n3');
    expect(ended.chunks).toEqual(['event: end\ndata: {"reason":"session_ended"}\n\n']);
    expect(live.chunks.join('')).toContain('id: n3\n');
    hub.attach('bob', 's3', expiry(), unsure as unknown as ServerResponse);
    sessions.down = true;
    try {
      await dispatch(hub, 'bob', 'n4');
    } finally {
      sessions.down = false;
    }
    expect(unsure.chunks).toEqual(['event: end\ndata: {"reason":"unavailable"}\n\n']);
    expect(hub.connections()).toBe(1);
    void hub.beforeApplicationShutdown();
  });

  it('ends a stream once when the heartbeat and a notification both find its session ended', async () => {
    const hub = hubWith(5);
    const ended = new FakeResponse();
    hub.attach('alice', 'gone', expiry(), ended as unknown as ServerResponse);
    // Both ask Redis before either acts on the answer, as a heartbeat during a push (or a logout) does.
    await Promise.all([beat(hub), dispatch(hub, 'alice', 'n1'), beat(hub)]);
    expect(ended.chunks).toEqual(['event: end\ndata: {"reason":"session_ended"}\n\n']);
    expect(ended.afterEnd).toEqual([]);
    expect(hub.connections()).toBe(0);
  });

  it('writes no keep-alive to a stream that ended while the heartbeat asked for its session', async () => {
    const hub = hubWith(1);
    const [older, newer] = [new FakeResponse(), new FakeResponse()];
    hub.attach('alice', 's1', expiry(), older as unknown as ServerResponse);
    const beating = beat(hub);
    hub.attach('alice', 's2', expiry(), newer as unknown as ServerResponse); // ends the older one
    await beating;
    expect(older.chunks).toEqual(['event: end\ndata: {"reason":"too_many_streams"}\n\n']);
    expect(older.afterEnd).toEqual([]);
    await beat(hub);
    expect(newer.chunks).toEqual([': keep-alive\n\n']);
    // Without Redis the heartbeat still writes only to the streams still open.
    sessions.down = true;
    const unsure = beat(hub);
    await hub.beforeApplicationShutdown();
    await unsure.finally(() => (sessions.down = false));
    expect(newer.chunks.at(-1)).toBe('event: end\ndata: {"reason":"shutdown"}\n\n');
    expect(newer.afterEnd).toEqual([]);
  });

  it('keeps the process up when a write to a stream fails', async () => {
    const hub = hubWith(5);
    const res = new FakeResponse();
    hub.attach('alice', 's1', expiry(), res as unknown as ServerResponse);
    res.writableEnded = true; // ended under the hub's feet, as a socket error would
    await beat(hub);
    expect(res.afterEnd).toEqual([': keep-alive\n\n']);
    await new Promise((r) => process.nextTick(r)); // its 'error' is emitted, and listened to
    expect(res.listenerCount('error')).toBe(1);
    void hub.beforeApplicationShutdown();
  });

  it('forgets a client that left, and does not attach one that left before its stream began', () => {
    const hub = hubWith(5);
    const gone = new FakeResponse();
    hub.attach('alice', 's1', expiry(), gone as unknown as ServerResponse);
    gone.emit('close');
    expect(hub.connections()).toBe(0);
    const early = Object.assign(new FakeResponse(), { destroyed: true });
    hub.attach('alice', 's2', expiry(), early as unknown as ServerResponse);
    expect(hub.connections()).toBe(0);
  });

  it('holds live notifications for a replaying stream, then writes them in order after what it replayed', async () => {
    const hub = hubWith(5);
    const [held, other] = [new FakeResponse(), new FakeResponse()];
    const client = hub.attach('alice', 's1', expiry(), held as unknown as ServerResponse, { hold: true })!;
    hub.attach('alice', 's2', expiry(), other as unknown as ServerResponse);
    await dispatchMany(hub, [
      ['alice', 'n1'],
      ['alice', 'n2'],
    ]);
    expect(held.chunks).toEqual([]); // nothing live before the replay is written
    expect(other.chunks.join('')).toContain('id: n2\n'); // a stream not replaying gets them at once
    held.write('id: r1\nevent: notification\ndata: {}\n\n'); // the replay, as the controller writes it
    hub.release(client);
    await dispatch(hub, 'alice', 'n3');
    const ids = held.chunks.join('').match(/^id: (\S+)$/gm);
    expect(ids).toEqual(['id: r1', 'id: n1', 'id: n2', 'id: n3']);
    void hub.beforeApplicationShutdown();
  });

  it('writes nothing held to a replaying stream that ended before its release', async () => {
    const hub = hubWith(5);
    const gone = new FakeResponse();
    const client = hub.attach('alice', 's1', expiry(), gone as unknown as ServerResponse, { hold: true })!;
    await dispatch(hub, 'alice', 'n1');
    gone.end();
    await new Promise((resolve) => process.nextTick(resolve));
    hub.release(client);
    expect(gone.afterEnd).toEqual([]);
    expect(gone.chunks).toEqual([]);
  });

  it("answers a replay's session check, ending a stream whose session ended, and failing closed without Redis", async () => {
    const hub = hubWith(5);
    const [live, ended, unreachable] = [new FakeResponse(), new FakeResponse(), new FakeResponse()];
    const a = hub.attach('alice', 's1', expiry(), live as unknown as ServerResponse, { hold: true })!;
    const b = hub.attach('bob', 'gone', expiry(), ended as unknown as ServerResponse, { hold: true })!;
    expect(await hub.stillLive(a)).toBe(true);
    expect(live.chunks).toEqual([]);
    expect(await hub.stillLive(b)).toBe(false); // logged out during its replay
    expect(ended.chunks.join('')).toContain('"reason":"session_ended"');
    const c = hub.attach('carol', 's3', expiry(), unreachable as unknown as ServerResponse, { hold: true })!;
    sessions.down = true;
    try {
      expect(await hub.stillLive(c)).toBe(false);
    } finally {
      sessions.down = false;
    }
    expect(unreachable.chunks.join('')).toContain('"reason":"unavailable"');
    void hub.beforeApplicationShutdown();
  });

  it('ends every stream on shutdown, and any that opens after', async () => {
    const hub = hubWith(5);
    const open = new FakeResponse();
    hub.attach('alice', 's1', expiry(), open as unknown as ServerResponse);
    await hub.beforeApplicationShutdown();
    expect(open.chunks.join('')).toContain('{"reason":"shutdown"}');
    const late = new FakeResponse();
    hub.attach('alice', 's2', expiry(), late as unknown as ServerResponse);
    expect(late.writableEnded).toBe(true);
    expect(hub.connections()).toBe(0);
  });
});
