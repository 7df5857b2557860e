import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AppError, assertSomethingToChange } from '@protobank/platform';
import { DataSource, type EntityManager } from 'typeorm';
import {
  CATEGORIES,
  CHANNELS,
  effectivePreferences,
  isLocked,
  type Category,
  type Channel,
  type Preferences,
} from './preference-rules';

interface Row {
  user_id: string;
  category: Category;
  channel: Channel;
  enabled: boolean;
}

/** Per-user channel choices: only what differs from a default is worth a row, but every choice is kept. */
@Injectable()
export class PreferencesService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async get(userId: string): Promise<Preferences> {
    return (await this.forUsers(this.dataSource.manager, [userId])).get(userId)!;
  }

  /** Preferences of several users at once (the parties of one event), read in the caller's transaction. */
  async forUsers(m: EntityManager, userIds: string[]): Promise<Map<string, Preferences>> {
    const rows = (await m.query(
      `SELECT user_id, category, channel, enabled FROM notifications.preferences WHERE user_id = ANY($1::uuid[])`,
      [userIds],
    )) as Row[];
    return new Map(userIds.map((id) => [id, effectivePreferences(rows.filter((r) => r.user_id === id))]));
  }

  /**
   * Sets the channels given and leaves the others as they are. Turning off a security notice in the app or
   * by e-mail is refused as a whole (422, naming each such field), so nothing is half-applied. With
   * `offWritten` false (a session under the reset hold, whose caller checked that each channel sent as off
   * is off already), no channel is written off: one another request switched on since that check stays on.
   */
  async update(
    userId: string,
    change: Partial<Record<Category, Partial<Record<Channel, boolean>>>>,
    { offWritten = true } = {},
  ) {
    const given: Record<string, boolean> = {};
    const rows: Row[] = [];
    const refused: { field: string; message: string }[] = [];
    for (const category of CATEGORIES) {
      for (const channel of CHANNELS) {
        const enabled = change[category]?.[channel];
        if (enabled === undefined) continue;
        if (!enabled && isLocked(category, channel)) {
          refused.push({
            field: `${category}.${channel}`,
            message: `${category} notices cannot be switched off for ${channel}`,
          });
        }
        given[`${category}.${channel}`] = enabled;
        if (enabled || offWritten) rows.push({ user_id: userId, category, channel, enabled });
      }
    }
    // `{}` and a category with no channel (`{"security": {}}`) change nothing: 400, as every change of nothing.
    assertSomethingToChange(
      given,
      'nothing to change',
      'give at least one channel of a category, e.g. {"transactions": {"sms": true}}',
    );
    if (refused.length) {
      throw AppError.unprocessable(
        'preference_locked',
        'Security notices always reach the app and your e-mail',
        refused,
      );
    }
    if (rows.length) {
      await this.dataSource.query(
        `INSERT INTO notifications.preferences (user_id, category, channel, enabled)
         SELECT $1, c, ch, e FROM unnest($2::text[], $3::text[], $4::boolean[]) AS t(c, ch, e)
         ON CONFLICT (user_id, category, channel)
           DO UPDATE SET enabled = EXCLUDED.enabled, updated_at = now()`,
        [userId, rows.map((r) => r.category), rows.map((r) => r.channel), rows.map((r) => r.enabled)],
      );
    }
    return this.get(userId);
  }
}
