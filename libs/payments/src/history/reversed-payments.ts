import { Controller } from '@nestjs/common';
import type { TransactionReversedEvent } from '@protobank/contracts';
import { InboxService, keepReversal, OnEvent } from '@protobank/platform';

/** The ledger kinds a payment posts as. */
const PAYMENT_KINDS: readonly string[] = ['standing_order', 'scheduled_payment'];

/**
 * A payment staff reversed reads `reversed`: transaction.reversed of a payment's entry is kept in
 * payments.reversals (keepReversal), which every read of a payment joins by its transaction_id. The sweep
 * may record the payment after the event arrives (it posted before it recorded), so the join, not an
 * update of the payment's row, is what reads it.
 */
@Controller()
export class ReversedPayments {
  constructor(private readonly inbox: InboxService) {}

  @OnEvent('transaction.reversed')
  async onReversed(event: TransactionReversedEvent): Promise<void> {
    if (PAYMENT_KINDS.includes(event.kind)) {
      await keepReversal(this.inbox, 'payments', 'ReversedPayments.onReversed', event);
    }
  }
}
