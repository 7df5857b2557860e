import type { MigrationInterface, QueryRunner } from 'typeorm';

const BEFORE = `'transactions', 'security', 'account', 'marketing'`;
const AFTER = `'transactions', 'payments', 'security', 'account', 'marketing'`;

/**
 * A `payments` notification category (standing orders and scheduled payments, paid or not), which
 * customers switch on and off like the others; it starts from the defaults (app and e-mail).
 *
 * Reverting keeps the customer's payment notices, filed under `transactions` (what the previous release
 * knows), and forgets the channel choices made for `payments`: the previous release cannot read them.
 */
export class PaymentNotifications1763700000015 implements MigrationInterface {
  name = 'PaymentNotifications1763700000015';

  async up(q: QueryRunner): Promise<void> {
    await this.allow(q, AFTER);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM notifications.preferences WHERE category = 'payments'`);
    await q.query(
      `UPDATE notifications.notifications SET category = 'transactions' WHERE category = 'payments'`,
    );
    await this.allow(q, BEFORE);
  }

  private async allow(q: QueryRunner, categories: string): Promise<void> {
    await q.query(`
      ALTER TABLE notifications.notifications
        DROP CONSTRAINT notifications_category_check,
        ADD CONSTRAINT notifications_category_check CHECK (category IN (${categories}))`);
    await q.query(`
      ALTER TABLE notifications.preferences
        DROP CONSTRAINT preferences_category_check,
        ADD CONSTRAINT preferences_category_check CHECK (category IN (${categories}))`);
  }
}
