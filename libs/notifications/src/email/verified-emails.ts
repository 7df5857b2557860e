import { Controller, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { UserEmailVerifiedEvent } from '@protobank/contracts';
import { InboxService, normaliseEmail, OnEvent } from '@protobank/platform';
import { DataSource } from 'typeorm';

/**
 * notifications.verified_emails: the address each user proved they read (auth's e-mail verification,
 * told as `user.email_verified`). The e-mail channel sends notices other than security ones only to the
 * profile's address when it is the one recorded here: an address is anyone's to type in at registration,
 * and a mistyped one would otherwise get the account's payments, balances and KYC outcomes.
 */
@Injectable()
export class VerifiedEmails {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Compared in the one form of an address (normaliseEmail), so a spelling recorded before a rule changed still counts. */
  async isVerified(userId: string, email: string): Promise<boolean> {
    const rows = (await this.dataSource.query(
      `SELECT email FROM notifications.verified_emails WHERE user_id = $1`,
      [userId],
    )) as { email: string }[];
    return rows.some((r) => normaliseEmail(r.email) === normaliseEmail(email));
  }
}

/** Records auth's verifications, once per event (the latest verification of a user is the one kept). */
@Controller()
export class EmailVerifiedHandler {
  constructor(private readonly inbox: InboxService) {}

  @OnEvent('user.email_verified')
  async onEmailVerified(event: UserEmailVerifiedEvent): Promise<void> {
    await this.inbox.once('notifications', 'EmailVerifiedHandler.onEmailVerified', event.event_id, (m) =>
      m.query(
        `INSERT INTO notifications.verified_emails (user_id, email, verified_at) VALUES ($1, $2, $3)
         ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, verified_at = excluded.verified_at
          WHERE verified_emails.verified_at <= excluded.verified_at`,
        // In its one form: an event sent before migration 1763700000049 may spell a domain as xn--….
        [event.user_id, normaliseEmail(event.email), event.occurred_at],
      ),
    );
  }
}
