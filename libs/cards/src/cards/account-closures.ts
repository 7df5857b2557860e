import { Controller, Inject } from '@nestjs/common';
import type { AccountClosedEvent } from '@protobank/contracts';
import { InboxService, LOGGER, OnEvent } from '@protobank/platform';
import type { Logger } from 'pino';
import type { EntityManager } from 'typeorm';

/**
 * Cancels the cards of a closed account (cancel_reason account_closed) that are not cancelled yet; their
 * ids. A staff block stays on a cancelled card (it also holds the customer's new cards).
 */
export async function cancelCardsOfClosedAccount(
  m: EntityManager,
  ownerId: string,
  accountId: string,
): Promise<string[]> {
  const [cancelled] = (await m.query(
    `UPDATE cards.cards SET status = 'cancelled', cancel_reason = 'account_closed', cancelled_at = now(),
            updated_at = now()
      WHERE owner_id = $1 AND account_id = $2 AND status <> 'cancelled' RETURNING id`,
    [ownerId, accountId],
  )) as [{ id: string }[], number];
  return cancelled.map((c) => c.id);
}

/**
 * A closed account's cards are cancelled as soon as the closing is known: they could only be declined,
 * and the customer should not see them as active. A card issued (or replaced) while the account was
 * closing is cancelled by its issue instead (CardsService reads the account again after its commit).
 */
@Controller()
export class CardsOfClosedAccounts {
  constructor(
    private readonly inbox: InboxService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @OnEvent('account.closed')
  async onClosed(event: AccountClosedEvent): Promise<void> {
    await this.inbox.once('cards', 'CardsOfClosedAccounts.onClosed', event.event_id, async (m) => {
      const cards = await cancelCardsOfClosedAccount(m, event.owner_id, event.account_id);
      if (cards.length) {
        this.logger.info(
          { security_event: 'card_cancelled', card_ids: cards, reason: 'account_closed' },
          "closed account's cards cancelled",
        );
      }
    });
  }
}
