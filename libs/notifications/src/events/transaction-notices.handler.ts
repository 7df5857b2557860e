import { Controller, Inject } from '@nestjs/common';
import { USERS_API, type TransactionCreatedEvent, type UsersApi } from '@protobank/contracts';
import { InboxService, OnEvent } from '@protobank/platform';
import { transactionDrafts } from '../compose/messages';
import { Notifier } from '../compose/notifier';

const CONSUMER = 'TransactionNoticesHandler.onTransactionCreated';

/** Tells each customer party of a journal entry what happened to their money. */
@Controller()
export class TransactionNoticesHandler {
  constructor(
    private readonly inbox: InboxService,
    private readonly notifier: Notifier,
    @Inject(USERS_API) private readonly users: UsersApi,
  ) {}

  @OnEvent('transaction.created')
  async onTransactionCreated(event: TransactionCreatedEvent): Promise<void> {
    if (await this.inbox.seen('notifications', CONSUMER, event.event_id)) return;
    const parties = [event.from_owner_id, event.to_owner_id].filter((id): id is string => !!id);
    // Names are read before the transaction: a contract call must not hold a database connection open.
    const contacts = parties.length ? await this.users.getContacts(parties) : [];
    const names = new Map(contacts.map((c) => [c.user_id, c.full_name]));
    await this.notifier.notify(CONSUMER, event.event_id, transactionDrafts(event, names));
  }
}
