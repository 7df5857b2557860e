import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Credentials (auth), profiles (users) and stored notifications: the first slice across modules. */
export class IdentitySlice1763700000001 implements MigrationInterface {
  name = 'IdentitySlice1763700000001';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE users.users (
        id uuid PRIMARY KEY,
        email text NOT NULL,
        full_name text NOT NULL,
        role text NOT NULL DEFAULT 'customer' CHECK (role IN ('customer', 'staff', 'admin')),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX users_email_key ON users.users (lower(email))`);
    await q.query(`
      CREATE TABLE auth.credentials (
        user_id uuid PRIMARY KEY,
        email text NOT NULL,
        password_hash text NOT NULL,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'active')),
        attempt uuid,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX credentials_email_key ON auth.credentials (lower(email))`);
    await q.query(`
      CREATE TABLE notifications.notifications (
        id uuid PRIMARY KEY,
        user_id uuid NOT NULL,
        category text NOT NULL,
        title text NOT NULL,
        body text NOT NULL,
        source_event_id uuid,
        created_at timestamptz NOT NULL DEFAULT now(),
        read_at timestamptz
      )`);
    await q.query(
      `CREATE INDEX notifications_user_idx ON notifications.notifications (user_id, created_at DESC, id DESC)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE notifications.notifications`);
    await q.query(`DROP TABLE auth.credentials`);
    await q.query(`DROP TABLE users.users`);
  }
}
