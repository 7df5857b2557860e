import { Processor } from '@nestjs/bullmq';
import { Inject } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { USERS_API, type UsersApi } from '@protobank/contracts';
import { LOGGER, MetricsService } from '@protobank/platform';
import { QueueWorker } from '@protobank/platform/queues';
import { UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { PreferencesService } from '../preferences/preferences.service';
import { NotificationEntity } from '../store/notification.entity';
import { notificationView } from '../store/notifications.service';
import {
  DELIVERY_CHANNELS,
  PermanentDeliveryError,
  type DeliveryChannel,
  type SendResult,
} from './channels/channel';
import { NotificationQueues, type DeliveryJob } from './queues';

/** Tries at recording a delivery that went out, RECORD_RETRY_MS × the try apart. */
const RECORD_TRIES = 4;
const RECORD_RETRY_MS = 250;

interface DeliveryRow {
  id: string;
  notification_id: string;
  user_id: string;
  channel: DeliveryChannel['name'];
  status: string;
  generation: number;
}

/**
 * Sends deliveries. The row decides: a job whose row is no longer pending, or is of an older generation
 * (staff retried it since), does nothing. A failure is retried by BullMQ with backoff; the last failure, or
 * a permanent one, marks the row failed, where staff find it (GET /admin/notifications/failed).
 */
@Processor(NotificationQueues.deliveries, { concurrency: 16 })
export class DeliveryProcessor extends QueueWorker<DeliveryJob> {
  private readonly outcomes;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(DELIVERY_CHANNELS) private readonly channels: DeliveryChannel[],
    @Inject(USERS_API) private readonly users: UsersApi,
    private readonly preferences: PreferencesService,
    @Inject(LOGGER) private readonly logger: Logger,
    metrics: MetricsService,
  ) {
    super();
    this.outcomes = metrics.counter(
      'notification_deliveries_total',
      'Notification delivery attempts by outcome',
      ['channel', 'outcome'] as const,
    );
  }

  async process(job: Job<DeliveryJob>): Promise<void> {
    // Claims the attempt and reads the notification in one round trip.
    const rows = (await this.dataSource.query(
      `WITH d AS (
         UPDATE notifications.deliveries SET attempts = attempts + 1, updated_at = now()
          WHERE id = $1 AND generation = $2 AND status = 'pending'
          RETURNING id, notification_id, user_id, channel, status, generation)
       SELECT d.*, n.category, n.type, n.title, n.body, n.data, n.created_at, n.read_at
         FROM d JOIN notifications.notifications n ON n.id = d.notification_id`,
      [job.data.delivery_id, job.data.generation],
    )) as (DeliveryRow & Omit<NotificationEntity, 'id' | 'user_id' | 'source_event_id'>)[];
    const delivery = rows[0];
    if (!delivery) return; // sent, skipped, failed or retried since: this job is stale
    const channel = this.channels.find((c) => c.name === delivery.channel)!;
    let result: SendResult;
    try {
      result = await this.send(channel, delivery);
    } catch (err) {
      return this.failed(job, delivery, err);
    }
    // Outside the send's catch: once the message is out, failing to record it must not send it again. A
    // record that fails is tried again here, and then the job still completes: thrown, BullMQ would retry
    // the job at once, and the retry, finding the row pending, would send the message a second time. Only
    // a database away for longer than RECORD_TRIES leaves the row pending for the sweep (at least once,
    // under the same Idempotency-Key and Message-ID). Guarded by generation and status, so a staff retry
    // since is not overwritten.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.dataSource.query(
          `UPDATE notifications.deliveries
              SET status = $3, sent_at = CASE WHEN $3 = 'sent' THEN now() END, last_error = $4, updated_at = now()
            WHERE id = $1 AND generation = $2 AND status = 'pending'`,
          [
            delivery.id,
            delivery.generation,
            result.status,
            result.status === 'skipped' ? result.reason : null,
          ],
        );
        break;
      } catch (err) {
        if (attempt >= RECORD_TRIES) {
          this.logger.error(
            { err, delivery_id: delivery.id, channel: channel.name, outcome: result.status },
            'notification delivered but not recorded: the sweep may send it again',
          );
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, RECORD_RETRY_MS * attempt));
      }
    }
    this.outcomes.inc({ channel: channel.name, outcome: result.status });
  }

  private async send(
    channel: DeliveryChannel,
    d: DeliveryRow & Omit<NotificationEntity, 'id' | 'user_id' | 'source_event_id'>,
  ): Promise<SendResult> {
    const off = channel.unavailable();
    if (off) return { status: 'skipped', reason: off };
    // Read again now: a user who switched the channel off since (a retry days later, a queued job) has
    // withdrawn consent to it.
    const prefs = await this.preferences.get(d.user_id);
    if (!prefs[d.category][channel.name]) return { status: 'skipped', reason: 'switched off by the user' };
    // Looked up now, not when the event came: the address the user has today.
    const contact = channel.needsContact ? (await this.users.getContacts([d.user_id]))[0] : undefined;
    if (contact?.disabled) return { status: 'skipped', reason: 'the user is disabled' };
    const notification = notificationView({ ...d, id: d.notification_id, source_event_id: null });
    return channel.send({ delivery_id: d.id, user_id: d.user_id, notification, contact });
  }

  private async failed(job: Job<DeliveryJob>, delivery: DeliveryRow, err: unknown): Promise<never> {
    const permanent = err instanceof PermanentDeliveryError;
    const last = permanent || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const message = String((err as Error)?.message ?? err).slice(0, 500);
    await this.dataSource.query(
      `UPDATE notifications.deliveries
          SET last_error = $2, updated_at = now(),
              status = CASE WHEN $3 THEN 'failed' ELSE status END,
              failed_at = CASE WHEN $3 THEN now() END
        WHERE id = $1 AND generation = $4 AND status = 'pending'`,
      [delivery.id, message, last, delivery.generation],
    );
    this.outcomes.inc({ channel: delivery.channel, outcome: last ? 'failed' : 'retry' });
    this.logger.warn(
      {
        delivery_id: delivery.id,
        channel: delivery.channel,
        attempt: job.attemptsMade + 1,
        final: last,
        err: message,
      },
      last ? 'notification delivery failed' : 'notification delivery will be retried',
    );
    throw permanent ? new UnrecoverableError(message) : err;
  }
}
