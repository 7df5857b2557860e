import type { EventBase, EventMap, EventName, StaffActionRecordedEvent } from '@protobank/contracts';
import { outboxHeaders, timeOrderedId } from '@protobank/platform';
import type { EntityManager } from 'typeorm';

/** A staff action as the ledger reports it; the outbox row adds the event id and the action's time. */
export type StaffActionDraft = Omit<StaffActionRecordedEvent, keyof EventBase>;

/**
 * The staff action behind a posting, for post_entry: it adds the event id, the entry's time and the
 * customer affected (read from the rows it locked), and writes the event only if the entry is posted.
 */
export type PostedStaffAction = Omit<StaffActionDraft, 'target_user_id'>;

/**
 * Writes staff_action.recorded to the ledger's outbox in the caller's transaction. No NOTIFY (see Ledger):
 * the caller wakes the relay after the commit.
 */
export async function writeStaffAction(m: EntityManager, at: Date, draft: StaffActionDraft): Promise<void> {
  const event: StaffActionRecordedEvent = {
    event_id: timeOrderedId(),
    occurred_at: at.toISOString(),
    ...draft,
  };
  await writeLedgerEvent(m, 'staff_action.recorded', event);
}

/** Writes one event to the ledger's outbox in the caller's transaction (no NOTIFY, as above). */
export async function writeLedgerEvent<N extends EventName>(m: EntityManager, name: N, event: EventMap[N]) {
  await m.query(`INSERT INTO transactions.outbox (id, name, payload, headers) VALUES ($1, $2, $3, $4)`, [
    event.event_id,
    name,
    JSON.stringify(event),
    outboxHeaders(),
  ]);
}
