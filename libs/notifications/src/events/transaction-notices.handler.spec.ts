import { randomUUID } from 'node:crypto';
import {
  MAX_CONTACT_IDS,
  type TransactionCreatedEvent,
  type UserContact,
  type UsersApi,
} from '@protobank/contracts';
import { AppError, type InboxService } from '@protobank/platform';
import type { Draft } from '../compose/draft';
import type { Notifier } from '../compose/notifier';
import { TransactionNoticesHandler } from './transaction-notices.handler';

/** A transfer between two customers of their own. */
const transfer = (i: number): TransactionCreatedEvent =>
  ({
    event_id: randomUUID(),
    occurred_at: '2026-12-03T08:00:00.000Z',
    created_at: '2026-12-03T08:00:00.000Z',
    transaction_id: randomUUID(),
    kind: 'transfer',
    amount: 100 + i,
    currency: 'GBP',
    reference: null,
    merchant: null,
    category: null,
    reverses_id: null,
    from_account_id: randomUUID(),
    from_owner_id: randomUUID(),
    to_account_id: randomUUID(),
    to_owner_id: randomUUID(),
  }) as TransactionCreatedEvent;

describe('TransactionNoticesHandler', () => {
  it('names every party of a window with more parties than one contacts call takes, each call within the limit', async () => {
    const events = Array.from({ length: MAX_CONTACT_IDS / 2 + 10 }, (_, i) => transfer(i));
    const calls: string[][] = [];
    // As the users service: a call over the limit is refused; every id has a name.
    const users = {
      getContacts: async (ids: string[]): Promise<UserContact[]> => {
        calls.push(ids);
        if (ids.length > MAX_CONTACT_IDS) throw AppError.badRequest('too_many_ids', 'too many');
        return ids.map((id) => ({
          user_id: id,
          full_name: `Name ${id}`,
          email: `${id}@example.com`,
          phone: null,
          disabled: false,
        }));
      },
    } as unknown as UsersApi;
    const inbox = { unseen: async (_s: string, _c: string, e: unknown[]) => e } as unknown as InboxService;
    const notified: { event_id: string; drafts: Draft[] }[] = [];
    const notifier = {
      notifyEach: async (_c: string, batch: { event_id: string; drafts: Draft[] }[]) => {
        notified.push(...batch);
      },
    } as unknown as Notifier;

    await new TransactionNoticesHandler(inbox, notifier, users).onTransactionCreated(events);

    expect(calls.length).toBeGreaterThan(1);
    expect(calls.every((ids) => ids.length <= MAX_CONTACT_IDS)).toBe(true);
    expect(new Set(calls.flat()).size).toBe(2 * events.length);
    // One notice per party, each naming the other party.
    expect(notified.map((n) => n.event_id)).toEqual(events.map((e) => e.event_id));
    for (const [i, e] of events.entries()) {
      const bodies = notified[i].drafts.map((d) => [d.user_id, d.body]);
      expect(bodies).toEqual([
        [e.from_owner_id, expect.stringContaining(`Name ${e.to_owner_id}`)],
        [e.to_owner_id, expect.stringContaining(`Name ${e.from_owner_id}`)],
      ]);
    }
  });
});
