import { Inject, Injectable } from '@nestjs/common';
import { InboxService } from '@protobank/platform';
import { randomUUID } from 'node:crypto';
import { DELIVERY_CHANNELS, type DeliveryChannel } from '../delivery/channels/channel';
import { DeliveryQueue } from '../delivery/delivery-queue';
import type { DeliveryJob } from '../delivery/queues';
import { enabledChannels } from '../preferences/preference-rules';
import { PreferencesService } from '../preferences/preferences.service';
import type { Draft } from './draft';

/**
 * Stores the notifications an event gives and one delivery per enabled channel, in one transaction with
 * the event's inbox record: a redelivered event finds its id and adds nothing. The deliveries go to the
 * queue after commit.
 */
@Injectable()
export class Notifier {
  constructor(
    private readonly inbox: InboxService,
    private readonly preferences: PreferencesService,
    private readonly deliveries: DeliveryQueue,
    @Inject(DELIVERY_CHANNELS) private readonly channels: DeliveryChannel[],
  ) {}

  async notify(consumer: string, eventId: string, drafts: Draft[]): Promise<void> {
    const jobs: DeliveryJob[] = [];
    await this.inbox.once('notifications', consumer, eventId, async (m) => {
      if (drafts.length === 0) return;
      const prefs = await this.preferences.forUsers(m, [...new Set(drafts.map((d) => d.user_id))]);
      const ids = drafts.map(() => randomUUID());
      const stored = (await m.query(
        `INSERT INTO notifications.notifications (id, user_id, category, type, title, body, data, source_event_id)
         SELECT id, user_id, category, type, title, body, data, $7
           FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $8::jsonb[])
             AS t(id, user_id, category, type, title, body, data)
         ON CONFLICT (source_event_id, user_id, type) WHERE source_event_id IS NOT NULL DO NOTHING
         RETURNING id`,
        [
          ids,
          drafts.map((d) => d.user_id),
          drafts.map((d) => d.category),
          drafts.map((d) => d.type),
          drafts.map((d) => d.title),
          drafts.map((d) => d.body),
          eventId,
          drafts.map((d) => JSON.stringify(d.data)),
        ],
      )) as { id: string }[];
      const storedIds = new Set(stored.map((r) => r.id));
      const rows = drafts.flatMap((d, i) =>
        storedIds.has(ids[i])
          ? enabledChannels(prefs.get(d.user_id)!, d.category).map((channel) => ({
              id: randomUUID(),
              notification_id: ids[i],
              user_id: d.user_id,
              channel,
              // A channel that cannot send (not configured) is recorded as skipped now, with no job.
              skipped: this.channels.find((c) => c.name === channel)!.unavailable() ?? null,
            }))
          : [],
      );
      if (rows.length === 0) return;
      await m.query(
        `INSERT INTO notifications.deliveries (id, notification_id, user_id, channel, status, last_error)
         SELECT id, n, u, c, CASE WHEN s IS NULL THEN 'pending' ELSE 'skipped' END, s
           FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[]) AS t(id, n, u, c, s)`,
        [
          rows.map((r) => r.id),
          rows.map((r) => r.notification_id),
          rows.map((r) => r.user_id),
          rows.map((r) => r.channel),
          rows.map((r) => r.skipped),
        ],
      );
      jobs.push(...rows.filter((r) => !r.skipped).map((r) => ({ delivery_id: r.id, generation: 0 })));
    });
    await this.deliveries.enqueueAfterCommit(jobs);
  }
}
