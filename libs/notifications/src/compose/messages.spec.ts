import type { TransactionCreatedEvent } from '@protobank/contracts';
import { kycRejectedDraft, kycVerifiedDraft, transactionDrafts } from './messages';
import { formatMoney } from './money-format';

const ALICE = '11111111-1111-4111-8111-111111111111';
const BOB = '22222222-2222-4222-8222-222222222222';
const names = new Map([
  [ALICE, 'Alice Jones'],
  [BOB, 'Bob Smith'],
]);

function event(change: Partial<TransactionCreatedEvent>): TransactionCreatedEvent {
  return {
    event_id: 'e1',
    occurred_at: '2026-11-21T10:00:00.000Z',
    transaction_id: 't1',
    kind: 'transfer',
    from_account_id: 'a-alice',
    from_owner_id: ALICE,
    to_account_id: 'a-bob',
    to_owner_id: BOB,
    amount: 2550,
    currency: 'GBP',
    reference: null,
    merchant: null,
    category: null,
    reverses_id: null,
    created_at: '2026-11-21T10:00:00.000Z',
    ...change,
  };
}

describe('formatMoney', () => {
  it.each([
    [2550, 'GBP', '£25.50'],
    [100000, 'EUR', '€1,000.00'],
    [310, 'USD', '$3.10'],
    [2550, 'JPY', '¥2,550'],
    [5, 'GBP', '£0.05'],
  ])('%d minor units of %s read %s', (amount, currency, text) => {
    expect(formatMoney(amount, currency)).toBe(text);
  });

  it('keeps every digit of an amount beyond a float (no rounding on the way)', () => {
    expect(formatMoney(900719925474099123n, 'GBP')).toBe('£9,007,199,254,740,991.23');
  });
});

describe('transactionDrafts', () => {
  it('tells the sender and the receiver each their half, with the other party named', () => {
    const drafts = transactionDrafts(event({}), names);
    expect(drafts.map((d) => [d.user_id, d.type, d.body])).toEqual([
      [ALICE, 'transaction.sent', 'You sent £25.50 to Bob Smith'],
      [BOB, 'transaction.received', 'You received £25.50 from Alice Jones'],
    ]);
    expect(drafts[0].data).toMatchObject({ transaction_id: 't1', account_id: 'a-alice', amount: 2550 });
    expect(drafts[1].data).toMatchObject({ account_id: 'a-bob' });
    expect(drafts.every((d) => d.category === 'transactions')).toBe(true);
  });

  it('reads a card spend as "£25.50 spent at Starbucks"', () => {
    const drafts = transactionDrafts(
      event({ kind: 'card', to_owner_id: null, merchant: 'Starbucks' }),
      names,
    );
    expect(drafts.map((d) => d.body)).toEqual(['£25.50 spent at Starbucks']);
  });

  it('gives one notification for a move between one customer’s own accounts', () => {
    const drafts = transactionDrafts(event({ to_owner_id: ALICE, to_account_id: 'a-alice-2' }), names);
    expect(drafts.map((d) => d.body)).toEqual(['You moved £25.50 between your accounts']);
  });

  it('notifies only the customer side of a deposit from cash', () => {
    const drafts = transactionDrafts(
      event({ kind: 'deposit', from_owner_id: null, amount: 10000, currency: 'EUR' }),
      names,
    );
    expect(drafts.map((d) => [d.user_id, d.body])).toEqual([[BOB, '€100.00 was paid into your account']]);
  });

  it('does not name a party it cannot resolve', () => {
    const drafts = transactionDrafts(event({}), new Map());
    expect(drafts[0].body).toBe('You sent £25.50 to another Protobank customer');
  });
});

const base = { event_id: 'e2', occurred_at: '2026-11-21T10:00:00.000Z', user_id: ALICE };

describe('text other people wrote', () => {
  it('cannot reorder or hide characters of a notification: each unsafe one shows as U+FFFD', () => {
    const drafts = transactionDrafts(
      event({ reference: 'Rent\u202Etnuocca ruoy' }),
      new Map([[ALICE, 'Pro\u200Btobank Fraud Team']]),
    );
    expect(drafts[1].body).toBe('You received £25.50 from Pro\uFFFDtobank Fraud Team');
    expect(drafts[1].data).toMatchObject({ reference: 'Rent\uFFFDtnuocca ruoy' });
  });

  it('tells a verified customer whose change was refused that they stay verified', () => {
    const first = kycRejectedDraft({ ...base, reviewer_id: BOB, reason: 'Blurred' });
    const change = kycRejectedDraft({ ...base, reviewer_id: BOB, reason: 'Blurred', reverification: true });
    expect(first.body).toContain('could not verify your identity (Blurred)');
    expect(change.body).toContain('Your verified details stay as they were');
    expect(kycVerifiedDraft({ user_id: ALICE, reverification: true }).title).toBe('Details updated');
    expect(kycVerifiedDraft({ user_id: ALICE }).title).toBe('Identity verified');
  });
});
