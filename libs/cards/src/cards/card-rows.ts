import type { Currency } from '@protobank/contracts';
import { jsonAmount } from '@protobank/platform';
import type { CategoryGroup } from '../data/categories';
import type { CardBrand } from '../data/pan';
import type { AdminCardDto, CardDto, CardLimitsDto } from './card.dto';

export type CardStatus = 'active' | 'frozen' | 'cancelled';
export type CancelReason = 'lost' | 'stolen' | 'closed' | 'account_closed';

/** A row of cards.cards as read (bigints arrive as strings). */
export interface CardRow {
  id: string;
  owner_id: string;
  account_id: string;
  currency: Currency;
  type: 'virtual' | 'physical';
  brand: CardBrand;
  pan_encrypted: Buffer;
  last4: string;
  expiry_month: number;
  expiry_year: number;
  cardholder_name: string;
  status: CardStatus;
  blocked_by_staff: boolean;
  blocked_by: string | null;
  blocked_reason: string | null;
  blocked_at: Date | null;
  cancel_reason: CancelReason | null;
  cancelled_at: Date | null;
  replaced_by: string | null;
  replaces: string | null;
  limit_per_transaction: string | null;
  limit_daily: string | null;
  limit_monthly: string | null;
  online_allowed: boolean;
  contactless_allowed: boolean;
  atm_allowed: boolean;
  blocked_categories: CategoryGroup[];
  created_at: Date;
  updated_at: Date;
}

export const CARD_COLUMNS = `id, owner_id, account_id, currency, type, brand, pan_encrypted, last4, expiry_month,
  expiry_year, cardholder_name, status, blocked_by_staff, blocked_by, blocked_reason, blocked_at, cancel_reason,
  cancelled_at, replaced_by, replaces, limit_per_transaction, limit_daily, limit_monthly, online_allowed,
  contactless_allowed, atm_allowed, blocked_categories, created_at, updated_at`;

const amountOrNull = (v: string | null) => (v === null ? null : jsonAmount(v));

export const limitsView = (r: CardRow): CardLimitsDto => ({
  per_transaction: amountOrNull(r.limit_per_transaction),
  daily: amountOrNull(r.limit_daily),
  monthly: amountOrNull(r.limit_monthly),
  online: r.online_allowed,
  contactless: r.contactless_allowed,
  atm: r.atm_allowed,
  blocked_categories: r.blocked_categories,
});

/** The customer's view: always masked (last4 only), never the number, the CVC or the stored ciphertext. */
export const cardView = (r: CardRow): CardDto => ({
  id: r.id,
  account_id: r.account_id,
  type: r.type,
  brand: r.brand,
  last4: r.last4,
  expiry_month: r.expiry_month,
  expiry_year: r.expiry_year,
  cardholder_name: r.cardholder_name,
  currency: r.currency,
  status: r.status,
  blocked: r.blocked_by_staff,
  cancel_reason: r.cancel_reason,
  replaced_by: r.replaced_by,
  replaces: r.replaces,
  limits: limitsView(r),
  created_at: r.created_at.toISOString(),
  updated_at: r.updated_at.toISOString(),
});

/** Staff see who owns the card and who blocked it, why; still masked. */
export const adminCardView = (r: CardRow): AdminCardDto => ({
  ...cardView(r),
  owner_id: r.owner_id,
  blocked_by: r.blocked_by,
  blocked_reason: r.blocked_reason,
  blocked_at: r.blocked_at?.toISOString() ?? null,
  cancelled_at: r.cancelled_at?.toISOString() ?? null,
});
