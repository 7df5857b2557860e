import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { ChannelWrapper } from 'amqp-connection-manager';
import type { Gauge } from 'prom-client';
import { DataSource } from 'typeorm';
import { SERVICE_NAME } from '../../app/service.tokens';
import { AppConfig } from '../../config/app-config';
import { withTimeout } from '../../metrics/bounded';
import { MetricsService } from '../../metrics/metrics.service';
import { RmqConnection } from '../rmq-connection';
import { OutboxRelay } from './outbox-relay';
import { SUBSCRIPTIONS, type Subscriptions } from './subscriptions';

export const DEAD_LETTER_METRIC = 'events_dead_letter_messages';
const HELP = 'Events that need an operator: messages in dead-letter queues (monolith: see docs)';
/** A scrape waits this long for RabbitMQ at most; without an answer the last depth read stays. */
export const DEAD_LETTER_READ_TIMEOUT_MS = 1000;
/** The monolith's one series: it has no broker and dead-letters nothing (see InProcessDeadLetters). */
export const IN_PROCESS_QUEUE = 'in-process';

/**
 * Split mode: the depth of this app's own dead-letter queue (`<prefix>.dead.events.<service>`, see
 * declareEventQueue), read at scrape time with a passive declare on a channel of its own. Apps that
 * consume no events have no such queue and no series. A scrape never waits on RabbitMQ: while the
 * connection is down, or when the broker does not answer within DEAD_LETTER_READ_TIMEOUT_MS, the last
 * depth read stays (a dead letter does not vanish because the broker is away; an alert keeps firing).
 */
@Injectable()
export class RmqDeadLetters implements OnApplicationBootstrap {
  private channel?: ChannelWrapper;
  private reading?: Promise<void>;

  constructor(
    private readonly rmq: RmqConnection,
    @Inject(SUBSCRIPTIONS) private readonly subscriptions: Subscriptions,
    @Inject(SERVICE_NAME) private readonly service: string,
    private readonly metrics: MetricsService,
  ) {}

  onApplicationBootstrap(): void {
    const subscribed = (this.subscriptions as Record<string, readonly string[]>)[this.service] ?? [];
    if (subscribed.length === 0) return;
    const queue = this.rmq.name('dead', 'events', this.service);
    // Declared as declareEventQueue declares it (same arguments), so the passive check never meets a
    // missing queue, which would close the channel.
    this.channel = this.rmq.channel(
      'dead-letter-depth',
      (ch) => ch.assertQueue(queue, { durable: true }),
      false,
    );
    this.metrics.labelledGauge(DEAD_LETTER_METRIC, HELP, ['queue'], (gauge) => this.read(queue, gauge));
  }

  /**
   * Sets the depth when the broker answers: within DEAD_LETTER_READ_TIMEOUT_MS for this scrape, or later
   * for the next one. One check at a time: scrapes during a slow broker do not pile up commands.
   */
  private async read(queue: string, gauge: Gauge<'queue'>): Promise<void> {
    if (!this.channel || !this.rmq.isConnected()) return;
    this.reading ??= this.channel
      .checkQueue(queue)
      .then((q) => void gauge.set({ queue }, q.messageCount))
      .finally(() => (this.reading = undefined));
    await withTimeout(this.reading, DEAD_LETTER_READ_TIMEOUT_MS).catch(() => undefined);
  }
}

/**
 * The monolith has no broker, so nothing is dead-lettered: an event whose handler keeps failing stays in
 * its outbox and the relay retries it (backing off to a minute) until it goes through. Its equivalent of
 * a dead letter is such an event that has failed EVENT_MAX_DELIVERIES times or more (split mode would
 * have dead-lettered it): one series, queue="in-process", 0 when there is none. Read through the
 * outboxes' partial index on unpublished rows.
 */
@Injectable()
export class InProcessDeadLetters implements OnApplicationBootstrap {
  constructor(
    private readonly dataSource: DataSource,
    private readonly relay: OutboxRelay,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {}

  onApplicationBootstrap(): void {
    this.metrics.labelledGauge(DEAD_LETTER_METRIC, HELP, ['queue'], async (gauge) => {
      gauge.set({ queue: IN_PROCESS_QUEUE }, await this.failing());
    });
  }

  private async failing(): Promise<number> {
    const schemas = this.relay.ownedSchemas();
    if (schemas.length === 0) return 0;
    const counts = schemas.map(
      (s) => `(SELECT count(*) FROM "${s}".outbox WHERE published_at IS NULL AND attempts >= $1)`,
    );
    const [row] = (await this.dataSource.query(`SELECT (${counts.join(' + ')})::int AS n`, [
      this.config.eventMaxDeliveries,
    ])) as { n: number }[];
    return row.n;
  }
}
