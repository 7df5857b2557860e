import type { CardChannel, CardDeclineReason, Currency } from '@protobank/contracts';

/** A row of cards.authorisations with its card's last four digits. */
export interface AuthorisationRow {
  id: string;
  card_id: string;
  last4: string;
  owner_id: string;
  account_id: string;
  network_transaction_id: string;
  amount: string;
  currency: Currency;
  merchant: { name: string; category_code: string; city: string; country: string };
  category: string;
  /** Null for a forced post (nothing was authorised). */
  channel: CardChannel | null;
  status: 'pending' | 'cleared' | 'reversed' | 'expired' | 'declined';
  decline_reason: CardDeclineReason | null;
}

export const AUTHORISATION_COLUMNS = `a.id, a.card_id, c.last4, a.owner_id, a.account_id, a.network_transaction_id,
  a.amount, a.currency, a.merchant, a.category, a.channel, a.status, a.decline_reason`;

/** Where AUTHORISATION_COLUMNS are read from: an authorisation (`a`) with its card (`c`). */
export const AUTHORISATIONS = 'cards.authorisations a JOIN cards.cards c ON c.id = a.card_id';
