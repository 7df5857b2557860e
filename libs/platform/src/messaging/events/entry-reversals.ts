import type { TransactionReversedEvent } from '@protobank/contracts';
import { assertSchemaName } from '../../database/schema-name';
import type { InboxService } from './inbox.service';

/**
 * Keeps a transaction.reversed in `<schema>.reversals` (transaction_id, reversal_id, reversed_at), for a
 * module whose records point at ledger entries (payments' payments, cards' clearings) and whose reads join
 * that table by the entry. Kept whether or not the module has recorded the entry yet, so the record and
 * the event may land in either order; once per event (the inbox, `consumer` its name) and per entry (the
 * table's key).
 */
export async function keepReversal(
  inbox: InboxService,
  schema: string,
  consumer: string,
  event: TransactionReversedEvent,
): Promise<void> {
  assertSchemaName(schema);
  await inbox.once(schema, consumer, event.event_id, async (m) => {
    await m.query(
      `INSERT INTO ${schema}.reversals (transaction_id, reversal_id, reversed_at) VALUES ($1, $2, $3)
         ON CONFLICT (transaction_id) DO NOTHING`,
      [event.transaction_id, event.reversal_id, event.reversed_at],
    );
  });
}
