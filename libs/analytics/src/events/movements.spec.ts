import type { LedgerEntry } from '@protobank/contracts';
import { movementsOf } from './movements';

const ALICE = '11111111-1111-4111-8111-111111111111';
const BOB = '22222222-2222-4222-8222-222222222222';

const entry = (e: Partial<LedgerEntry>): LedgerEntry => ({
  transaction_id: 't1',
  kind: 'transfer',
  from_account_id: 'a1',
  from_owner_id: ALICE,
  to_account_id: 'b1',
  to_owner_id: BOB,
  amount: 2550,
  currency: 'GBP',
  reference: null,
  merchant: null,
  category: null,
  reverses_id: null,
  created_at: '2026-11-02T23:59:59.999Z',
  ...e,
});

const UTC = 'UTC';

describe('movementsOf', () => {
  it('gives the payer an out and the payee an in, each naming the other', () => {
    expect(movementsOf(entry({}), UTC)).toEqual([
      expect.objectContaining({ user_id: ALICE, direction: 'out', counterparty_id: BOB, amount: 2550 }),
      expect.objectContaining({ user_id: BOB, direction: 'in', counterparty_id: ALICE, amount: 2550 }),
    ]);
  });

  it('gives nothing for a system side: a deposit is one in, a card spend one out with its merchant', () => {
    const deposit = movementsOf(entry({ kind: 'deposit', from_owner_id: null, to_owner_id: ALICE }), UTC);
    expect(deposit).toEqual([
      expect.objectContaining({
        user_id: ALICE,
        direction: 'in',
        category: 'deposits',
        counterparty_id: null,
      }),
    ]);
    const card = movementsOf(
      entry({ kind: 'card', to_owner_id: null, merchant: ' Tesco ', category: 'groceries' }),
      UTC,
    );
    expect(card).toEqual([
      expect.objectContaining({ direction: 'out', merchant: 'Tesco', category: 'groceries', kind: 'card' }),
    ]);
  });

  it('counts an own-account transfer both ways, as internal_transfer', () => {
    const own = movementsOf(entry({ to_owner_id: ALICE, category: 'savings' }), UTC);
    expect(own.map((m) => [m.user_id, m.direction, m.category])).toEqual([
      [ALICE, 'out', 'internal_transfer'],
      [ALICE, 'in', 'internal_transfer'],
    ]);
  });

  it('defaults the category by kind, and dates by the UTC day', () => {
    const kinds = ['transfer', 'reversal', 'card', 'standing_order', 'scheduled_payment', 'fee'] as const;
    expect(kinds.map((kind) => movementsOf(entry({ kind, category: '  ' }), UTC)[0].category)).toEqual([
      'transfers',
      'reversals',
      'card_payments',
      'standing_orders',
      'scheduled_payments',
      'fees',
    ]);
    const late = movementsOf(entry({ created_at: '2026-11-03T00:30:00+02:00' }), UTC)[0];
    expect([late.day, late.occurred_at]).toEqual(['2026-11-02', '2026-11-02T22:30:00.000Z']);
  });

  it("puts a movement on the bank's day: a standing order paid at 00:00:30 London on 1 July is July's", () => {
    const rent = entry({ kind: 'standing_order', created_at: '2026-06-30T23:00:30.000Z' });
    expect(movementsOf(rent, 'Europe/London').map((m) => m.day)).toEqual(['2026-07-01', '2026-07-01']);
    expect(movementsOf(rent, UTC)[0].day).toBe('2026-06-30');
    // In winter London is on UTC: the same day either way.
    const winter = entry({ created_at: '2026-12-31T23:30:00.000Z' });
    expect(movementsOf(winter, 'Europe/London')[0].day).toBe('2026-12-31');
  });
});
