import { Inject, Injectable } from '@nestjs/common';
import { InboxService, timeOrderedId } from '@protobank/platform';
import { DELIVERY_CHANNELS, type DeliveryChannel } from '../delivery/channels/channel';
import { DeliveryQueue } from '../delivery/delivery-queue';
import { InAppNow, type InAppDelivery } from '../delivery/in-app-now';
import type { DeliveryJob } from '../delivery/queues';
import { enabledChannels } from '../preferences/preference-rules';
import { PreferencesService } from '../preferences/preferences.service';
import type { Draft } from './draft';

/**
 * Stores the notifications an event gives and one delivery per enabled channel, in one transaction with
 * the event's inbox record: a redelivered event finds its id and adds nothing. After commit, in-app
 * deliveries are sent at once (InAppNow) and the others go to the queue.
 */
@Injectable()
export class Notifier {
  constructor(
    private readonly inbox: InboxService,
    private readonly preferences: PreferencesService,
    private readonly deliveries: DeliveryQueue,
    private readonly inAppNow: InAppNow,
    @Inject(DELIVERY_CHANNELS) private readonly channels: DeliveryChannel[],
  ) {}

  async notify(consumer: string, eventId: string, drafts: Draft[]): Promise<void> {
    await this.notifyEach(consumer, [{ event_id: eventId, drafts }]);
  }

  /**
   * notify() for a batch of events, in ONE transaction (InboxService.onceEach): the drafts of the events
   * not handled before are stored in one multi-row insert, their deliveries in another, and after commit
   * the in-app pushes go out and the other jobs are added to the queue in one addBulk.
   */
  async notifyEach(consumer: string, events: { event_id: string; drafts: Draft[] }[]): Promise<void> {
    const jobs: DeliveryJob[] = [];
    const inApp: InAppDelivery[] = [];
    await this.inbox.onceEach('notifications', consumer, events, async (m, fresh) => {
      const drafts = fresh.flatMap((e) => e.drafts);
      const sources = fresh.flatMap((e) => e.drafts.map(() => e.event_id));
      if (drafts.length === 0) return;
      const prefs = await this.preferences.forUsers(m, [...new Set(drafts.map((d) => d.user_id))]);
      // Time-ordered: every insert lands at the right-hand end of the primary keys (notifications',
      // deliveries' and their (notification_id, channel) key), as the ledger's entry ids do.
      const ids = drafts.map(() => timeOrderedId());
      const stored = (await m.query(
        `INSERT INTO notifications.notifications (id, user_id, category, type, title, body, data, source_event_id)
         SELECT id, user_id, category, type, title, body, data, source_event_id
           FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $8::jsonb[], $7::uuid[])
             AS t(id, user_id, category, type, title, body, data, source_event_id)
         ON CONFLICT (source_event_id, user_id, type) WHERE source_event_id IS NOT NULL DO NOTHING
         RETURNING id, created_at`,
        [
          ids,
          drafts.map((d) => d.user_id),
          drafts.map((d) => d.category),
          drafts.map((d) => d.type),
          drafts.map((d) => d.title),
          drafts.map((d) => d.body),
          sources,
          drafts.map((d) => JSON.stringify(d.data)),
        ],
      )) as { id: string; created_at: Date }[];
      const storedAt = new Map(stored.map((r) => [r.id, r.created_at]));
      const rows = drafts.flatMap((d, i) =>
        storedAt.has(ids[i])
          ? enabledChannels(prefs.get(d.user_id)!, d.category).map((channel) => ({
              id: timeOrderedId(),
              notification_id: ids[i],
              draft: d,
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
      for (const r of rows) {
        if (r.skipped) continue;
        if (r.channel !== 'in_app') jobs.push({ delivery_id: r.id, generation: 0 });
        else {
          const { category, type, title, body, data } = r.draft;
          const created_at = storedAt.get(r.notification_id)!.toISOString();
          const notification = {
            id: r.notification_id,
            category,
            type,
            title,
            body,
            data,
            created_at,
            read_at: null,
          };
          inApp.push({ delivery_id: r.id, user_id: r.user_id, notification });
        }
      }
    });
    await this.inAppNow.sendAfterCommit(inApp);
    await this.deliveries.enqueueAfterCommit(jobs);
  }
}
