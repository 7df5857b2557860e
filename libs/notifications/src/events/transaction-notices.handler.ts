import { Controller, Inject } from '@nestjs/common';
import {
  MAX_CONTACT_IDS,
  USERS_API,
  type TransactionCreatedEvent,
  type UsersApi,
} from '@protobank/contracts';
import { chunksOf, InboxService, OnEventBatch } from '@protobank/platform';
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

  /**
   * A batch of events: the ones not handled yet (one inbox query), every party's name in contract calls
   * of at most MAX_CONTACT_IDS ids, then all their notices in one transaction (Notifier.notifyEach).
   */
  @OnEventBatch('transaction.created')
  async onTransactionCreated(events: TransactionCreatedEvent[]): Promise<void> {
    const fresh = await this.inbox.unseen('notifications', CONSUMER, events);
    if (fresh.length === 0) return;
    const parties = [
      ...new Set(fresh.flatMap((e) => [e.from_owner_id, e.to_owner_id]).filter((id): id is string => !!id)),
    ];
    // Names are read before the transaction: a contract call must not hold a database connection open.
    // One call takes at most MAX_CONTACT_IDS ids, and a window of transfers between many customers has
    // up to two parties each: a single call would fail the whole window, handing its events over one by one.
    const contacts = (
      await Promise.all(chunksOf(parties, MAX_CONTACT_IDS).map((ids) => this.users.getContacts(ids)))
    ).flat();
    const names = new Map(contacts.map((c) => [c.user_id, c.full_name]));
    await this.notifier.notifyEach(
      CONSUMER,
      fresh.map((e) => ({ event_id: e.event_id, drafts: transactionDrafts(e, names) })),
    );
  }
}
