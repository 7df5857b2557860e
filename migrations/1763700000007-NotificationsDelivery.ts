import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Notifications: a type and data on each stored notification, per-user channel preferences, and one
 * delivery row per (notification, channel) — the durable record of what the BullMQ queue sends.
 */
export class NotificationsDelivery1763700000007 implements MigrationInterface {
  name = 'NotificationsDelivery1763700000007';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE notifications.notifications
        ADD COLUMN type text NOT NULL DEFAULT 'welcome',
        ADD COLUMN data jsonb NOT NULL DEFAULT '{}',
        ALTER COLUMN created_at TYPE timestamptz(3),
        ALTER COLUMN read_at TYPE timestamptz(3),
        ADD CONSTRAINT notifications_category_check
          CHECK (category IN ('transactions', 'security', 'account', 'marketing'))`);
    await q.query(`ALTER TABLE notifications.notifications ALTER COLUMN type DROP DEFAULT`);
    // One notification of a type per user per event, whatever the inbox does: a second line of defence.
    await q.query(`
      CREATE UNIQUE INDEX notifications_source_key
        ON notifications.notifications (source_event_id, user_id, type) WHERE source_event_id IS NOT NULL`);
    await q.query(`
      CREATE INDEX notifications_unread_idx
        ON notifications.notifications (user_id, created_at DESC, id DESC) WHERE read_at IS NULL`);
    await q.query(`
      CREATE TABLE notifications.preferences (
        user_id uuid NOT NULL,
        category text NOT NULL CHECK (category IN ('transactions', 'security', 'account', 'marketing')),
        channel text NOT NULL CHECK (channel IN ('in_app', 'email', 'sms', 'push')),
        enabled boolean NOT NULL,
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id, category, channel)
      )`);
    await q.query(`
      CREATE TABLE notifications.deliveries (
        id uuid PRIMARY KEY,
        notification_id uuid NOT NULL REFERENCES notifications.notifications (id) ON DELETE CASCADE,
        user_id uuid NOT NULL,
        channel text NOT NULL CHECK (channel IN ('in_app', 'email', 'sms', 'push')),
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'skipped')),
        -- Bumped by a staff retry: jobs of an earlier generation are stale and do nothing.
        generation int NOT NULL DEFAULT 0,
        attempts int NOT NULL DEFAULT 0,
        last_error text,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        sent_at timestamptz(3),
        failed_at timestamptz(3),
        UNIQUE (notification_id, channel)
      )`);
    await q.query(
      `CREATE INDEX deliveries_failed_idx ON notifications.deliveries (failed_at DESC, id DESC) WHERE status = 'failed'`,
    );
    await q.query(
      `CREATE INDEX deliveries_pending_idx ON notifications.deliveries (updated_at) WHERE status = 'pending'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE notifications.deliveries`);
    await q.query(`DROP TABLE notifications.preferences`);
    await q.query(`DROP INDEX notifications.notifications_unread_idx`);
    await q.query(`DROP INDEX notifications.notifications_source_key`);
    await q.query(`
      ALTER TABLE notifications.notifications
        DROP CONSTRAINT notifications_category_check,
        ALTER COLUMN read_at TYPE timestamptz,
        ALTER COLUMN created_at TYPE timestamptz,
        DROP COLUMN data,
        DROP COLUMN type`);
  }
}
