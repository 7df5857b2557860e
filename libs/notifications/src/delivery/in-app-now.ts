import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { chunksOf, LOGGER, MetricsService } from '@protobank/platform';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import type { NotificationView } from '../store/notifications.service';
import { STREAM_MESSAGE_MAX } from '../stream/stream-hub';
import { InAppChannel } from './channels/in-app.channel';
import { DeliveryQueue } from './delivery-queue';

/** An in-app delivery written as pending in its notification's transaction (generation 0). */
export interface InAppDelivery {
  delivery_id: string;
  user_id: string;
  notification: NotificationView;
}

/**
 * Sends in-app deliveries at once, after their notification commits, instead of through the delivery
 * queue: the notification is already in the user's list, and the push to their open streams is one Redis
 * PUBLISH per STREAM_MESSAGE_MAX deliveries. A BullMQ job round (add, fetch, claim, re-read the
 * preferences, record, complete) cost more than the card payment it announced (bench:cards, README "Card
 * authorisations").
 *
 * The row stays the record, and the queue stays the way back: the deliveries of a message that was not
 * published go to the queue with their retries; a process that stops between commit and record leaves
 * the row pending, and the queue's sweep sends it again (at least once, as through the queue). Sent rows are recorded in one statement,
 * guarded like the processor's (generation 0, still pending), so a staff retry since is not overwritten.
 */
@Injectable()
export class InAppNow {
  private readonly outcomes;

  constructor(
    private readonly inApp: InAppChannel,
    private readonly queue: DeliveryQueue,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(LOGGER) private readonly logger: Logger,
    metrics: MetricsService,
  ) {
    this.outcomes = metrics.counter(
      'notification_deliveries_total',
      'Notification delivery attempts by outcome',
      ['channel', 'outcome'] as const,
    );
  }

  /** After commit: never throws; what cannot be sent now is queued, or left to the sweep. */
  async sendAfterCommit(deliveries: InAppDelivery[]): Promise<void> {
    if (deliveries.length === 0) return;
    const chunks = chunksOf(deliveries, STREAM_MESSAGE_MAX);
    const results = await Promise.allSettled(
      chunks.map((chunk) =>
        this.inApp.sendMany(chunk.map((d) => ({ user_id: d.user_id, notification: d.notification }))),
      ),
    );
    const sent = chunks.filter((_, i) => results[i].status === 'fulfilled').flat();
    const unsent = chunks.filter((_, i) => results[i].status === 'rejected').flat();
    if (unsent.length) {
      this.outcomes.inc({ channel: this.inApp.name, outcome: 'retry' }, unsent.length);
      await this.queue.enqueueAfterCommit(unsent.map((d) => ({ delivery_id: d.delivery_id, generation: 0 })));
    }
    if (sent.length === 0) return;
    this.outcomes.inc({ channel: this.inApp.name, outcome: 'sent' }, sent.length);
    await this.dataSource
      .query(
        `UPDATE notifications.deliveries
            SET status = 'sent', sent_at = now(), attempts = attempts + 1, updated_at = now()
          WHERE id = ANY($1::uuid[]) AND generation = 0 AND status = 'pending'`,
        [sent.map((d) => d.delivery_id)],
      )
      .catch((err: unknown) =>
        this.logger.warn(
          { err, deliveries: sent.length },
          'in-app deliveries sent but not recorded; the sweep will resend',
        ),
      );
  }
}
