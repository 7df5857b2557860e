import { Controller } from '@nestjs/common';
import type { TransactionReversedEvent } from '@protobank/contracts';
import { InboxService, keepReversal, OnEvent } from '@protobank/platform';

/**
 * A card payment staff reversed (a dispute upheld: the money went back) says so in the card's
 * authorisations: transaction.reversed of a card entry is kept in cards.reversals (keepReversal), which
 * that read joins by the clearing's transaction_id. A reversed refund is kept too, and joins nothing.
 */
@Controller()
export class ReversedCardPayments {
  constructor(private readonly inbox: InboxService) {}

  @OnEvent('transaction.reversed')
  async onReversed(event: TransactionReversedEvent): Promise<void> {
    if (event.kind === 'card') {
      await keepReversal(this.inbox, 'cards', 'ReversedCardPayments.onReversed', event);
    }
  }
}
