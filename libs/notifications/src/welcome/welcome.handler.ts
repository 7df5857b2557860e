import { Inject, Injectable } from '@nestjs/common';
import { USERS_API, type UserRegisteredEvent, type UsersApi } from '@protobank/contracts';
import { InboxService, OnEvent } from '@protobank/platform';
import { randomUUID } from 'node:crypto';
import { NotificationEntity } from '../store/notification.entity';

const CONSUMER = 'WelcomeHandler.onUserRegistered';

/** A welcome notification per registered user: the event says who, the users contract says their name. */
@Injectable()
export class WelcomeHandler {
  constructor(
    private readonly inbox: InboxService,
    @Inject(USERS_API) private readonly users: UsersApi,
  ) {}

  @OnEvent('user.registered')
  async onUserRegistered(event: UserRegisteredEvent): Promise<void> {
    if (await this.inbox.seen('notifications', CONSUMER, event.event_id)) return;
    // Read before the transaction: a contract call must not hold a database connection open.
    const profile = await this.users.getProfile(event.user_id);
    await this.inbox.once('notifications', CONSUMER, event.event_id, async (m) => {
      await m.getRepository(NotificationEntity).insert({
        id: randomUUID(),
        user_id: event.user_id,
        category: 'account',
        title: 'Welcome to Protobank',
        body: `Welcome to Protobank, ${profile.full_name}.`,
        source_event_id: event.event_id,
      });
    });
  }
}
