import { Controller, Inject } from '@nestjs/common';
import type { AccountClosedEvent } from '@protobank/contracts';
import { InboxService, LOGGER, OnEvent } from '@protobank/platform';
import type { Logger } from 'pino';
import { cancelOpenOrders } from '../run/order-state';

/**
 * A closed account pays no more: its standing orders and scheduled payments are cancelled
 * (status_reason account_closed) as soon as the closing is known, rather than failing on their next date.
 * An order created while the account was closing is cancelled by its creation instead (OrderChecks
 * reads the account again after its commit).
 */
@Controller()
export class OrdersOfClosedAccounts {
  constructor(
    private readonly inbox: InboxService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @OnEvent('account.closed')
  async onClosed(event: AccountClosedEvent): Promise<void> {
    await this.inbox.once('payments', 'OrdersOfClosedAccounts.onClosed', event.event_id, async (m) => {
      const cancelled = await cancelOpenOrders(
        m,
        { owner_id: event.owner_id, from_account_id: event.account_id },
        'account_closed',
      );
      if (cancelled.standing_orders + cancelled.scheduled_payments > 0) {
        this.logger.info(
          { account_id: event.account_id, owner_id: event.owner_id, ...cancelled },
          "closed account's payment orders cancelled",
        );
      }
    });
  }
}
