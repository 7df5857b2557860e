import { Controller } from '@nestjs/common';
import type {
  CardAuthorisedEvent,
  CardClearedEvent,
  CardDeclinedEvent,
  CardFrozenEvent,
} from '@protobank/contracts';
import { OnEvent } from '@protobank/platform';
import {
  cardAuthorisedDraft,
  cardClearedDrafts,
  cardDeclinedDraft,
  cardFrozenDraft,
} from '../compose/messages';
import { Notifier } from '../compose/notifier';

const AUTHORISED = 'CardNoticesHandler.onCardAuthorised';
const DECLINED = 'CardNoticesHandler.onCardDeclined';
const CLEARED = 'CardNoticesHandler.onCardCleared';
const FROZEN = 'CardNoticesHandler.onCardFrozen';

/**
 * Tells the cardholder of each card payment as the network asks for it: "£25.50 spent at Starbucks" on
 * an approved authorisation (in the app at once, through the stream), the reason on a decline, and at
 * clearing only what is new (see cardClearedDrafts), and a freeze for wrong card details as a security
 * notice. The events carry all the text needs.
 */
@Controller()
export class CardNoticesHandler {
  constructor(private readonly notifier: Notifier) {}

  @OnEvent('card.authorised')
  async onCardAuthorised(event: CardAuthorisedEvent): Promise<void> {
    await this.notifier.notify(AUTHORISED, event.event_id, [cardAuthorisedDraft(event)]);
  }

  @OnEvent('card.declined')
  async onCardDeclined(event: CardDeclinedEvent): Promise<void> {
    await this.notifier.notify(DECLINED, event.event_id, [cardDeclinedDraft(event)]);
  }

  @OnEvent('card.cleared')
  async onCardCleared(event: CardClearedEvent): Promise<void> {
    await this.notifier.notify(CLEARED, event.event_id, cardClearedDrafts(event));
  }

  /** The bank froze the card (wrong card details, again and again): a security notice. */
  @OnEvent('card.frozen')
  async onCardFrozen(event: CardFrozenEvent): Promise<void> {
    await this.notifier.notify(FROZEN, event.event_id, [cardFrozenDraft(event)]);
  }
}
