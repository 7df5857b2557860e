import { Controller } from '@nestjs/common';
import type {
  CardAuthorisedEvent,
  CardClearedEvent,
  CardDeclinedEvent,
  CardFrozenEvent,
  CardReleasedEvent,
  CardRevealedEvent,
} from '@protobank/contracts';
import { OnEvent } from '@protobank/platform';
import {
  cardAuthorisedDraft,
  cardClearedDrafts,
  cardDeclinedDraft,
  cardFrozenDraft,
  cardReleasedDraft,
  cardRevealedDraft,
} from '../compose/messages';
import { Notifier } from '../compose/notifier';

const AUTHORISED = 'CardNoticesHandler.onCardAuthorised';
const DECLINED = 'CardNoticesHandler.onCardDeclined';
const CLEARED = 'CardNoticesHandler.onCardCleared';
const RELEASED = 'CardNoticesHandler.onCardReleased';
const FROZEN = 'CardNoticesHandler.onCardFrozen';
const REVEALED = 'CardNoticesHandler.onCardRevealed';

/**
 * Tells the cardholder of each card payment as the network asks for it: "£25.50 spent at Starbucks" on
 * an approved authorisation (in the app at once, through the stream), the reason on a decline, at
 * clearing only what is new (see cardClearedDrafts), and money held that is theirs to spend again (a
 * reversal, an expired hold); and a freeze for wrong card details and a reveal of the card's details as
 * security notices. The events carry all the text needs.
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

  /** Money a card payment held is free again: the network reversed it (all or part), or its hold expired. */
  @OnEvent('card.released')
  async onCardReleased(event: CardReleasedEvent): Promise<void> {
    await this.notifier.notify(RELEASED, event.event_id, [cardReleasedDraft(event)]);
  }

  /** The bank froze the card (wrong card details, again and again): a security notice. */
  @OnEvent('card.frozen')
  async onCardFrozen(event: CardFrozenEvent): Promise<void> {
    await this.notifier.notify(FROZEN, event.event_id, [cardFrozenDraft(event)]);
  }

  /** The card's full details were shown to whoever holds the owner's session and password. */
  @OnEvent('card.revealed')
  async onCardRevealed(event: CardRevealedEvent): Promise<void> {
    await this.notifier.notify(REVEALED, event.event_id, [cardRevealedDraft(event)]);
  }
}
