import { Controller } from '@nestjs/common';
import type { TransactionReversedEvent } from '@protobank/contracts';
import { InboxService, OnEvent } from '@protobank/platform';

/** The ledger kinds a payment posts as: the reversals payments keeps. */
const PAYMENT_KINDS: readonly string[] = ['standing_order', 'scheduled_payment'];

/**
 * A payment staff reversed reads `reversed`: transaction.reversed of a payment's entry is kept in
 * payments.reversals, which every read of a payment joins by its transaction_id. Kept whether or not the
 * sweep has recorded the payment yet (it may record it after the event, having posted it before), so the
 * two may land in either order; once per entry (its primary key, and the inbox for redeliveries).
 */
@Controller()
export class ReversedPayments {
  constructor(private readonly inbox: InboxService) {}

  @OnEvent('transaction.reversed')
  async onReversed(event: TransactionReversedEvent): Promise<void> {
    if (!PAYMENT_KINDS.includes(event.kind)) return;
    await this.inbox.once('payments', 'ReversedPayments.onReversed', event.event_id, async (m) => {
      await m.query(
        `INSERT INTO payments.reversals (transaction_id, reversal_id, reversed_at) VALUES ($1, $2, $3)
           ON CONFLICT (transaction_id) DO NOTHING`,
        [event.transaction_id, event.reversal_id, event.reversed_at],
      );
    });
  }
}
