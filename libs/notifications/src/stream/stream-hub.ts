import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { AppConfig, LOGGER, MetricsService, RedisService, sessionKey } from '@protobank/platform';
import Redis from 'ioredis';
import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { NotificationView } from '../store/notifications.service';
import { NotificationsConfig } from '../notifications.config';

export interface StreamClient {
  userId: string;
  sessionId: string;
  res: ServerResponse;
  timer: NodeJS.Timeout;
  /** While the stream replays what its client missed, live notifications wait here (see release). */
  held?: NotificationView[];
}

/** What one instance tells the others: a notification for one user's open streams. */
export interface StreamMessage {
  user_id: string;
  notification: NotificationView;
}

/** Most notifications in one PUBLISH: bounds the message each subscribing instance parses. */
export const STREAM_MESSAGE_MAX = 100;

/**
 * Most notifications a reconnecting stream replays after its Last-Event-ID; past it the stream sends
 * `event: resync` and the client reloads GET /notifications instead.
 */
export const STREAM_REPLAY_MAX = 1000;

export const sseEvent = (event: string, data: unknown, id?: string) =>
  `${id ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/**
 * Live notifications for the clients connected to this process. In-app deliveries are published on one
 * Redis channel, a batch's in one message (a JSON array, at most STREAM_MESSAGE_MAX), and every instance
 * passes each notification to its own connections of that user, so a client gets its notifications
 * whichever instance it is connected to; an instance with no open stream does not parse the message. A
 * connection ends when its access token expires or its session ends (checked at each heartbeat and
 * before each notification), and a user keeps at most NOTIFICATION_STREAMS_PER_USER connections (the
 * oldest goes first).
 */
@Injectable()
export class StreamHub implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly byUser = new Map<string, Set<StreamClient>>();
  private readonly channel: string;
  private subscriber?: Redis;
  private heartbeat?: NodeJS.Timeout;
  private closing = false;

  constructor(
    private readonly config: AppConfig,
    private readonly notificationsConfig: NotificationsConfig,
    private readonly redis: RedisService,
    @Inject(LOGGER) private readonly logger: Logger,
    metrics: MetricsService,
  ) {
    metrics.gauge('notification_streams_open', 'Open /notifications/stream connections', () =>
      this.connections(),
    );
    // Pub/sub channels are not keys: ioredis does not prefix them, so the prefix is added here.
    this.channel = `${config.redisKeyPrefix}notifications:stream`;
  }

  onApplicationBootstrap(): void {
    const subscriber = new Redis(this.config.redisUrl, { maxRetriesPerRequest: null });
    subscriber.on('error', (err) => this.logger.debug({ err: err.message }, 'stream subscriber error'));
    subscriber.on('message', (_channel, message: string) => void this.dispatch(message));
    void subscriber.subscribe(this.channel).catch((err: unknown) => {
      this.logger.warn({ err }, 'stream subscription failed');
    });
    this.subscriber = subscriber;
    this.heartbeat = setInterval(
      () => void this.beat(),
      this.notificationsConfig.notificationStreamHeartbeatMs,
    );
    this.heartbeat.unref();
  }

  /** Sends a notification to the user's open streams, on whichever instance they are. */
  async publish(userId: string, notification: NotificationView): Promise<void> {
    await this.publishMany([{ user_id: userId, notification }]);
  }

  /**
   * Sends notifications to their users' open streams, in order, as one PUBLISH (2 notifications a
   * transfer, published one by one, were most of the notification consumer's Redis commands). Callers
   * keep to STREAM_MESSAGE_MAX a call.
   */
  async publishMany(messages: StreamMessage[]): Promise<void> {
    await this.redis.client.publish(this.channel, JSON.stringify(messages));
  }

  /**
   * Adds a connection. With `hold`, live notifications for it wait until `release` (the caller replays
   * what the client missed first, so the client's last id never jumps past notifications still to come).
   */
  attach(
    userId: string,
    sessionId: string,
    expiresAtSeconds: number,
    res: ServerResponse,
    { hold = false }: { hold?: boolean } = {},
  ): StreamClient | undefined {
    if (res.destroyed) return undefined; // the client left before its stream began
    if (this.closing) {
      res.end(sseEvent('end', { reason: 'shutdown' }));
      return undefined;
    }
    // Oldest first (a Set keeps insertion order), to make room for this one.
    const open = [...(this.byUser.get(userId) ?? [])];
    const excess = open.length + 1 - this.notificationsConfig.notificationStreamsPerUser;
    for (const old of open.slice(0, Math.max(0, excess))) this.close(old, 'too_many_streams');
    // Looked up after the evictions: closing the last one removes the user's set.
    const clients = this.byUser.get(userId) ?? new Set<StreamClient>();
    this.byUser.set(userId, clients);
    const lifetime = Math.max(0, expiresAtSeconds * 1000 - Date.now());
    const client: StreamClient = {
      userId,
      sessionId,
      res,
      timer: setTimeout(() => this.close(client, 'token_expired'), lifetime),
      ...(hold ? { held: [] } : {}),
    };
    clients.add(client);
    res.on('close', () => this.forget(client));
    // A write to a response that has ended emits 'error', which would end the process if no one listened.
    res.on('error', (err) => this.logger.debug({ err: err.message }, 'stream write failed'));
    return client;
  }

  /**
   * Whether the stream's session still stands, asked of Redis: a replay asks before each page and before
   * its release, as a push asks before each write, so a logout during a long replay stops it. A stream
   * whose session ended is ended (`session_ended`); without Redis it fails closed (`unavailable`: the
   * client reconnects with Last-Event-ID and misses nothing).
   */
  async stillLive(client: StreamClient): Promise<boolean> {
    if (!this.isOpen(client)) return false;
    let alive: number | undefined;
    try {
      alive = await this.redis.client.exists(sessionKey(client.sessionId));
    } catch (err) {
      this.logger.debug({ err }, 'stream could not check its session during a replay');
    }
    if (alive) return this.isOpen(client);
    this.close(client, alive === 0 ? 'session_ended' : 'unavailable');
    return false;
  }

  /** Writes what arrived while `client` was held, in arrival order, and sends the rest as it comes. */
  release(client: StreamClient): void {
    const held = client.held ?? [];
    delete client.held;
    if (!this.isOpen(client)) return;
    for (const n of held) client.res.write(sseEvent('notification', n, n.id));
  }

  connections(): number {
    let n = 0;
    for (const set of this.byUser.values()) n += set.size;
    return n;
  }

  /** A published message: an array of StreamMessage (one object, as published before, is read too). */
  private async dispatch(message: string): Promise<void> {
    if (this.byUser.size === 0) return; // no open stream here: nothing to parse for
    let parsed: StreamMessage | StreamMessage[];
    try {
      parsed = JSON.parse(message) as typeof parsed;
    } catch {
      return;
    }
    const mine = (Array.isArray(parsed) ? parsed : [parsed]).filter((m) => this.byUser.has(m?.user_id));
    const clients = [...new Set(mine.flatMap((m) => [...this.byUser.get(m.user_id)!]))];
    if (clients.length === 0) return;
    // The session of a stream may have ended since it opened (logout, a disabled user, a role change):
    // asked before each write, so nothing reaches an ended session, whatever the heartbeat's timing.
    // Replies come back in order, and each client's notifications are written in the message's order.
    let alive: (number | undefined)[];
    try {
      alive = await Promise.all(clients.map((c) => this.redis.client.exists(sessionKey(c.sessionId))));
    } catch (err) {
      // Fail closed: the client reconnects with Last-Event-ID and misses nothing.
      this.logger.debug({ err }, 'stream could not check sessions before a notification');
      alive = clients.map(() => undefined);
    }
    clients.forEach((c, i) => {
      if (!this.isOpen(c)) return; // gone meanwhile
      if (!alive[i]) return this.close(c, alive[i] === 0 ? 'session_ended' : 'unavailable');
      for (const m of mine) {
        if (m.user_id !== c.userId) continue;
        if (c.held) c.held.push(m.notification);
        else c.res.write(sseEvent('notification', m.notification, m.notification.id));
      }
    });
  }

  /** Keeps proxies from timing the stream out, and ends streams whose session has ended (logout). */
  private async beat(): Promise<void> {
    const clients = [...this.byUser.values()].flatMap((s) => [...s]);
    if (clients.length === 0) return;
    try {
      const alive = await Promise.all(clients.map((c) => this.redis.client.exists(sessionKey(c.sessionId))));
      // A stream may have ended while the sessions were asked (a notification found its session gone, its
      // token expired, a newer stream took its place): nothing is written to it after its end.
      clients.forEach((c, i) => {
        if (!this.isOpen(c)) return;
        if (alive[i]) c.res.write(': keep-alive\n\n');
        else this.close(c, 'session_ended');
      });
    } catch (err) {
      this.logger.debug({ err }, 'stream heartbeat could not check sessions');
      for (const c of clients) if (this.isOpen(c)) c.res.write(': keep-alive\n\n');
    }
  }

  private isOpen(client: StreamClient): boolean {
    return this.byUser.get(client.userId)?.has(client) ?? false;
  }

  /** Ends a stream once: a second end would write after the first. */
  private close(client: StreamClient, reason: string): void {
    if (!this.isOpen(client)) return;
    this.forget(client);
    client.res.end(sseEvent('end', { reason }));
  }

  private forget(client: StreamClient): void {
    clearTimeout(client.timer);
    const set = this.byUser.get(client.userId);
    set?.delete(client);
    if (set && set.size === 0) this.byUser.delete(client.userId);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.closing = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    // Clients reconnect (to another instance) with Last-Event-ID and get what they missed.
    for (const set of [...this.byUser.values()]) for (const c of [...set]) this.close(c, 'shutdown');
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }
}
