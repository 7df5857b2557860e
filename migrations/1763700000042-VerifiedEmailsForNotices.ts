import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * notifications.verified_emails: the address each user proved they read, as auth tells it
 * (`user.email_verified`). The e-mail channel sends notices other than security ones only to a profile
 * address recorded here, as SMS goes only to a verified number.
 *
 * The addresses verified before this (since 1763700000041) reach it as later ones do: this migration writes
 * one `user.email_verified` per verified credential into auth's own outbox, which the relay publishes to
 * notifications. No module reads another's tables, here either (DESIGN.md §5).
 */
export class VerifiedEmailsForNotices1763700000042 implements MigrationInterface {
  name = 'VerifiedEmailsForNotices1763700000042';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE notifications.verified_emails (
        user_id uuid PRIMARY KEY,
        email text NOT NULL,
        verified_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await q.query(`
      INSERT INTO auth.outbox (id, name, payload)
      SELECT ev.id, 'user.email_verified', jsonb_build_object(
               'event_id', ev.id,
               'occurred_at', to_char(ev.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
               'user_id', ev.user_id, 'email', ev.email)
        FROM (SELECT gen_random_uuid() AS id, user_id, email, email_verified_at AS at
                FROM auth.credentials WHERE email_verified_at IS NOT NULL) ev`);
  }

  async down(q: QueryRunner): Promise<void> {
    // Events not yet relayed would find no table to land in.
    await q.query(`DELETE FROM auth.outbox WHERE name = 'user.email_verified' AND published_at IS NULL`);
    await q.query(`DROP TABLE notifications.verified_emails`);
  }
}
