import type { CardClearing, CardHoldRequest } from '@protobank/contracts';
import { randomUUID } from 'node:crypto';
import {
  assertClearing,
  assertHoldRequest,
  assertRelease,
  assertRefund,
  cardPostingFingerprint,
  MAX_CARD_AMOUNT,
} from './card-hold-shapes';

const hold = (more: Partial<CardHoldRequest> = {}): CardHoldRequest => ({
  hold_id: randomUUID(),
  network_transaction_id: 'n-1',
  card_id: randomUUID(),
  account_id: randomUUID(),
  owner_id: randomUUID(),
  amount: 2550n,
  currency: 'GBP',
  merchant_name: 'Starbucks',
  category: 'eating_out',
  daily_limit: null,
  monthly_limit: 0n,
  expires_at: '2026-01-08T00:00:00.000Z',
  ...more,
});

const field = (f: () => void) => {
  try {
    f();
  } catch (err) {
    return (err as { details: { field: string }[] }).details[0].field;
  }
  return null;
};

describe('card hold shapes', () => {
  it('takes a well-formed authorisation, a zero limit included', () => {
    expect(field(() => assertHoldRequest(hold()))).toBeNull();
  });

  it('names the field of a malformed one', () => {
    expect(field(() => assertHoldRequest(hold({ amount: 0n })))).toBe('amount');
    expect(field(() => assertHoldRequest(hold({ amount: 5 as unknown as bigint })))).toBe('amount');
    expect(field(() => assertHoldRequest(hold({ amount: MAX_CARD_AMOUNT + 1n })))).toBe('amount');
    expect(field(() => assertHoldRequest(hold({ daily_limit: -1n })))).toBe('daily_limit');
    expect(field(() => assertHoldRequest(hold({ hold_id: 'x' })))).toBe('hold_id');
    expect(field(() => assertHoldRequest(hold({ currency: 'XXX' as 'GBP' })))).toBe('currency');
    expect(field(() => assertHoldRequest(hold({ network_transaction_id: '' })))).toBe(
      'network_transaction_id',
    );
    expect(field(() => assertHoldRequest(hold({ expires_at: 'soon' })))).toBe('expires_at');
    // What JSON cannot carry to Postgres as text (it would fail the whole batch the call travels in).
    expect(field(() => assertHoldRequest(hold({ merchant_name: 'Star\ud800bucks' })))).toBe('merchant_name');
    expect(field(() => assertHoldRequest(hold({ category: 'eating\u0000out' })))).toBe('category');
    expect(field(() => assertHoldRequest(hold({ merchant_name: 'Café 😀' })))).toBeNull();
    expect(
      field(() => assertRelease({ hold_id: randomUUID(), amount: null, reason: 'cleared' as 'reversed' })),
    ).toBe('reason');
  });

  it('fingerprints a clearing by whose money, how much and which hold, not by how the merchant is spelt', () => {
    const c: CardClearing = { ...hold(), hold_id: null, amount: 100n };
    assertClearing(c);
    const print = cardPostingFingerprint('card-clearing', c);
    expect(
      cardPostingFingerprint('card-clearing', { ...c, merchant_name: 'STARBUCKS #12', category: 'x' }),
    ).toBe(print);
    expect(cardPostingFingerprint('card-clearing', { ...c, amount: 101n })).not.toBe(print);
    expect(cardPostingFingerprint('card-clearing', { ...c, hold_id: randomUUID() })).not.toBe(print);
    expect(cardPostingFingerprint('card-refund', c)).not.toBe(print);
  });

  it('fingerprints a refund with the payment it names: by card alone and naming the payment are two requests', () => {
    const { hold_id: _, ...r } = { ...hold(), amount: 100n };
    const byCard = cardPostingFingerprint('card-refund', r);
    const byPayment = cardPostingFingerprint('card-refund', { ...r, hold_id: randomUUID() });
    expect(byPayment).not.toBe(byCard);
    expect(cardPostingFingerprint('card-refund', { ...r, hold_id: null })).toBe(byCard);
    expect(field(() => assertRefund({ ...r, hold_id: 'not-a-uuid' }))).toBe('hold_id');
  });
});
