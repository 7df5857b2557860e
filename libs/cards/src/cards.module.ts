import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { inboxFor, outboxFor } from '@protobank/platform';
import { QueuesModule } from '@protobank/platform/queues';
import { AdminCardsController } from './admin/admin-cards.controller';
import { AdminCardsService } from './admin/admin-cards.service';
import { CardsOfClosedAccounts } from './cards/account-closures';
import { ReversedCardPayments } from './cards/reversed-card-payments';
import { CardsController } from './cards/cards.controller';
import { CardsService } from './cards/cards.service';
import { CardKeys } from './data/card-keys';
import { CardDirectory } from './network/card-directory';
import { CardNetworkController } from './network/card-network.controller';
import { CardNetworkGuard } from './network/card-network.guard';
import { CardNetworkService } from './network/card-network.service';
import { HoldExpiry } from './network/hold-expiry';
import { HOLD_EXPIRY_QUEUE } from './network/hold-expiry-job';
import { HoldReleases } from './network/hold-releases';
import { ReleaseNotices } from './network/release-notices';
import { cardsConfigProvider } from './cards.config';

/**
 * Cards: issuing (numbers from CARD_BIN, stored encrypted, found by keyed hash, CVCs derived), the
 * customer's controls (reveal, freeze, cancel and replace, limits), staff blocks audited through
 * staff_action.recorded, and the card directory the card network routes use. Holds live in the ledger.
 * A closed account's cards are cancelled (account.closed).
 */
@Module({
  imports: [QueuesModule, BullModule.registerQueue({ name: HOLD_EXPIRY_QUEUE })],
  // CardsOfClosedAccounts handles account.closed, ReversedCardPayments transaction.reversed: Nest finds
  // @EventPattern (our @OnEvent) on controllers only.
  controllers: [
    CardsController,
    AdminCardsController,
    CardNetworkController,
    CardsOfClosedAccounts,
    ReversedCardPayments,
  ],
  providers: [
    cardsConfigProvider,
    outboxFor('cards'),
    inboxFor('cards'),
    CardKeys,
    CardsService,
    AdminCardsService,
    CardDirectory,
    CardNetworkGuard,
    CardNetworkService,
    HoldExpiry,
    HoldReleases,
    ReleaseNotices,
  ],
  exports: [CardDirectory, CardKeys],
})
export class CardsModule {}
