import type {
  CardAuthorisedEvent,
  CardClearedEvent,
  CardDeclinedEvent,
  CardDeclineReason,
  CardReleasedEvent,
  PaymentExecutedEvent,
  PaymentFailedEvent,
  PaymentFailureReason,
  TransactionCreatedEvent,
} from '@protobank/contracts';
import { formatDate } from './date-format';
import {
  cardAuthorisedDraft,
  cardReleasedDraft,
  cardClearedDrafts,
  cardDeclinedDraft,
  cardFrozenDraft,
  cardRevealedDraft,
  lockedOutDraft,
  contactChangedDraft,
  newDeviceSignInDraft,
  passwordChangedDraft,
  passwordResetRequestedDraft,
  sessionEndedDraft,
  kycRejectedDraft,
  kycVerifiedDraft,
  paymentExecutedDraft,
  paymentFailedDraft,
  transactionDrafts,
  welcomeDraft,
} from './messages';
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

  it('leaves a card spend to the card events (told at authorisation), and tells a card refund', () => {
    const spend = event({
      kind: 'card',
      to_owner_id: null,
      to_account_id: 'settlement',
      merchant: 'Starbucks',
    });
    expect(transactionDrafts(spend, names)).toEqual([]);
    const refund = event({
      kind: 'card',
      from_owner_id: null,
      from_account_id: 'settlement',
      merchant: 'Starbucks',
    });
    expect(transactionDrafts(refund, names).map((d) => [d.user_id, d.body])).toEqual([
      [BOB, '£25.50 refunded by Starbucks'],
    ]);
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

  it.each(['standing_order', 'scheduled_payment'] as const)(
    'leaves the payer of a %s to payment.executed, and still tells an internal payee',
    (kind) => {
      const drafts = transactionDrafts(event({ kind }), names);
      expect(drafts.map((d) => [d.user_id, d.type, d.body])).toEqual([
        [BOB, 'transaction.received', 'You received £25.50 from Alice Jones'],
      ]);
      expect(drafts[0].data).toMatchObject({ kind, account_id: 'a-bob' });
    },
  );

  it('gives nothing for an order paying an external payee, or the payer’s own account', () => {
    const external = event({ kind: 'standing_order', to_owner_id: null, to_account_id: 'clearing' });
    const own = event({ kind: 'scheduled_payment', to_owner_id: ALICE, to_account_id: 'a-alice-2' });
    expect(transactionDrafts(external, names)).toEqual([]);
    expect(transactionDrafts(own, names)).toEqual([]);
  });
});

describe('formatDate', () => {
  it.each([
    ['2026-03-01', '1 March 2026'],
    ['2028-02-29', '29 February 2028'],
    ['2026-12-31', '31 December 2026'],
    ['2026-02-30', '2026-02-30'],
  ])('%s reads %s', (date, text) => {
    expect(formatDate(date)).toBe(text);
  });
});

function paid(change: Partial<PaymentExecutedEvent> = {}): PaymentExecutedEvent {
  return {
    event_id: 'e3',
    occurred_at: '2026-03-02T07:00:00.000Z',
    payment_id: 'p1',
    source: 'standing_order',
    order_id: 'o1',
    owner_id: ALICE,
    from_account_id: 'a-alice',
    payee_id: 'payee-1',
    payee_name: 'Landlord',
    amount: 5000,
    currency: 'GBP',
    reference: 'Rent March',
    due_date: '2026-03-01',
    late: false,
    transaction_id: 't9',
    executed_at: '2026-03-02T07:00:00.000Z',
    ...change,
  };
}

function unpaid(change: Partial<PaymentFailedEvent> = {}): PaymentFailedEvent {
  const { transaction_id: _t, executed_at: _e, ...base } = paid();
  return { ...base, reason: 'insufficient_funds', attempts: 3, order_status: 'active', ...change };
}

describe('welcomeDraft', () => {
  const registered = {
    event_id: 'e1',
    occurred_at: '2026-12-06T09:00:00.000Z',
    user_id: 'u1',
    email: 'a@b.c',
  };

  it('asks the customer to confirm their e-mail address only where e-mail is offered', () => {
    expect(welcomeDraft(registered, 'Alice Smith', true).body).toBe(
      'Welcome to Protobank, Alice Smith. Confirm your e-mail address to get your notices by e-mail too; until then they are here, in the app.',
    );
    expect(welcomeDraft(registered, 'Alice Smith', false).body).toBe(
      'Welcome to Protobank, Alice Smith. Your notices are here, in the app.',
    );
  });
});

describe('paymentExecutedDraft', () => {
  it('tells the payer their standing order was paid, with what a client needs to show it', () => {
    expect(paymentExecutedDraft(paid())).toEqual({
      user_id: ALICE,
      category: 'payments',
      type: 'payment.executed',
      title: 'Standing order paid',
      body: 'Your standing order of £50.00 to Landlord was paid',
      data: {
        payment_id: 'p1',
        order_id: 'o1',
        source: 'standing_order',
        account_id: 'a-alice',
        payee_id: 'payee-1',
        payee_name: 'Landlord',
        amount: 5000,
        currency: 'GBP',
        reference: 'Rent March',
        due_date: '2026-03-01',
        transaction_id: 't9',
      },
    });
  });

  it('names a scheduled payment as one', () => {
    const draft = paymentExecutedDraft(
      paid({ source: 'scheduled_payment', amount: 120000, currency: 'EUR' }),
    );
    expect([draft.title, draft.body]).toEqual([
      'Scheduled payment paid',
      'Your scheduled payment of €1,200.00 to Landlord was paid',
    ]);
  });

  it('says when a late payment was due', () => {
    expect(paymentExecutedDraft(paid({ late: true })).body).toBe(
      'Your standing order of £50.00 to Landlord was paid late: it was due on 1 March 2026',
    );
  });
});

describe('paymentFailedDraft', () => {
  it('says why, and that the standing order stays active for its next payment', () => {
    const draft = paymentFailedDraft(unpaid());
    expect(draft).toMatchObject({
      user_id: ALICE,
      category: 'payments',
      type: 'payment.failed',
      title: 'Standing order not paid',
      body:
        "We couldn't pay your standing order of £50.00 to Landlord: not enough money. " +
        "We won't try this payment again; your standing order stays active for the next one.",
    });
    expect(draft.data).toEqual({
      payment_id: 'p1',
      order_id: 'o1',
      source: 'standing_order',
      account_id: 'a-alice',
      payee_id: 'payee-1',
      payee_name: 'Landlord',
      amount: 5000,
      currency: 'GBP',
      reference: 'Rent March',
      due_date: '2026-03-01',
      reason: 'insufficient_funds',
      attempts: 3,
      order_status: 'active',
    });
  });

  it.each<[PaymentFailureReason, string]>([
    ['insufficient_funds', 'not enough money'],
    ['account_frozen', 'your account is frozen'],
    ['account_closed', 'your account is closed'],
    ['account_not_found', "we couldn't find the account it pays from"],
    ['payee_account_closed', "the payee's account is closed"],
    ['payee_account_not_found', "we couldn't find the payee's account"],
    ['currency_mismatch', 'the payment and the accounts are in different currencies'],
  ])('reads %s as "%s"', (reason, text) => {
    expect(paymentFailedDraft(unpaid({ reason })).body).toContain(
      `We couldn't pay your standing order of £50.00 to Landlord: ${text}. `,
    );
  });

  it('says when a standing order suspended by a frozen account is worth resuming', () => {
    const draft = paymentFailedDraft(unpaid({ reason: 'account_frozen', order_status: 'suspended' }));
    expect(draft.body).toBe(
      "We couldn't pay your standing order of £50.00 to Landlord: your account is frozen. " +
        "We've suspended this standing order after repeated failures: no more payments will be made until you resume it. " +
        'To pay Landlord again, resume it once your account is unfrozen (dates missed meanwhile are not paid), or contact us.',
    );
  });

  it('says a suspended standing order makes no more payments until it is resumed', () => {
    const draft = paymentFailedDraft(unpaid({ order_status: 'suspended' }));
    expect(draft.title).toBe('Standing order suspended');
    expect(draft.body).toBe(
      "We couldn't pay your standing order of £50.00 to Landlord: not enough money. " +
        "We've suspended this standing order after repeated failures: no more payments will be made until you resume it. " +
        'To pay Landlord again, resume it once the money is there (dates missed meanwhile are not paid), or contact us.',
    );
  });

  it('says a standing order was cancelled when its account closed', () => {
    const draft = paymentFailedDraft(unpaid({ reason: 'payee_account_closed', order_status: 'cancelled' }));
    expect(draft.title).toBe('Standing order cancelled');
    expect(draft.body).toBe(
      "We couldn't pay your standing order of £50.00 to Landlord: the payee's account is closed. " +
        'This standing order is cancelled, so no more payments will be made.',
    );
  });

  it('tells the payer of a failed scheduled payment that it is not tried again', () => {
    const draft = paymentFailedDraft(
      unpaid({ source: 'scheduled_payment', reason: 'account_frozen', order_status: 'failed' }),
    );
    expect([draft.title, draft.body]).toEqual([
      'Scheduled payment not paid',
      "We couldn't pay your scheduled payment of £50.00 to Landlord: your account is frozen. " +
        "We won't try this payment again.",
    ]);
  });

  it('says a standing order whose last payment failed has ended', () => {
    expect(paymentFailedDraft(unpaid({ order_status: 'completed' })).body).toContain(
      "We won't try this payment again, and the standing order has now ended.",
    );
  });
});

const base = { event_id: 'e2', occurred_at: '2026-11-21T10:00:00.000Z', user_id: ALICE };

const CARD_BASE: CardAuthorisedEvent = {
  event_id: 'e-card',
  occurred_at: '2026-11-21T10:00:00.000Z',
  authorisation_id: 'auth-1',
  card_id: 'card-1',
  last4: '4242',
  owner_id: ALICE,
  account_id: 'a-alice',
  amount: 2550,
  currency: 'GBP',
  merchant_name: 'Starbucks',
  merchant_category_code: '5814',
  category: 'eating_out',
  channel: 'contactless',
};
const card = (change: Partial<CardAuthorisedEvent> = {}): CardAuthorisedEvent => ({
  ...CARD_BASE,
  ...change,
});
const declined = (change: Partial<CardDeclinedEvent>): CardDeclinedEvent => ({
  ...CARD_BASE,
  decline_reason: 'insufficient_funds',
  ...change,
});
const cleared = (change: Partial<CardClearedEvent>): CardClearedEvent => {
  const { channel: _channel, ...base } = CARD_BASE;
  return {
    ...base,
    transaction_id: 't-card',
    authorised_amount: 2550,
    released_amount: 0,
    forced: false,
    ...change,
  };
};
const released = (change: Partial<CardReleasedEvent>): CardReleasedEvent => ({
  ...CARD_BASE,
  released: 2550,
  remaining: 0,
  reason: 'reversed',
  ...change,
});

describe('card notices', () => {
  it('reads an approved authorisation as "£25.50 spent at Starbucks", with no more of the card than last4', () => {
    const draft = cardAuthorisedDraft(card());
    expect(draft).toMatchObject({
      user_id: ALICE,
      category: 'transactions',
      type: 'card.spent',
      body: '£25.50 spent at Starbucks',
    });
    expect(draft.data).toMatchObject({
      card_id: 'card-1',
      last4: '4242',
      amount: 2550,
      merchant: 'Starbucks',
    });
    expect(Object.keys(draft.data)).not.toContain('pan');
  });

  it('reads a decline as "Card payment of £12.00 at Amazon declined: not enough money"', () => {
    const draft = cardDeclinedDraft(declined({ amount: 1200, merchant_name: 'Amazon' }));
    expect(draft.body).toBe('Card payment of £12.00 at Amazon declined: not enough money');
    expect(draft.data).toMatchObject({ decline_reason: 'insufficient_funds' });
  });

  it('tells of a password change as a security notice', () => {
    expect(
      passwordChangedDraft({ event_id: 'e1', occurred_at: '2026-12-04T21:00:00.000Z', user_id: ALICE }),
    ).toEqual({
      user_id: ALICE,
      category: 'security',
      type: 'user.password_changed',
      title: 'Password changed',
      body: "Your password was changed, and you were logged out on your other devices. If this wasn't you, contact us at once.",
      data: {},
    });
  });

  it('tells of a password reset by e-mail as such', () => {
    const draft = passwordChangedDraft({
      event_id: 'e1',
      occurred_at: '2026-12-05T04:00:00.000Z',
      user_id: ALICE,
      via: 'reset',
    });
    expect(draft.category).toBe('security');
    expect(draft.title).toBe('Password reset');
    expect(draft.body).toBe(
      "Your password was reset with the link we e-mailed you, and you were logged out on your other devices. If this wasn't you, contact us at once.",
    );
    const held = passwordChangedDraft({
      event_id: 'e1',
      occurred_at: '2026-12-05T04:00:00.000Z',
      user_id: ALICE,
      via: 'reset',
      held_until: '2026-12-06T04:00:00.000Z',
    });
    expect(held.body).toBe(
      "Your password was reset with the link we e-mailed you, and you were logged out on your other devices. For your safety, until 6 December 2026, 04:00 UTC you cannot add payees, pay accounts other than your own or your existing payees', get a new card or see your cards' numbers, change your phone number or address or your verified name or date of birth, or switch notices off. If this wasn't you, contact us at once.",
    );
  });

  it("tells at once, as a security notice, of a reset e-mail staff sent on the user's behalf", () => {
    expect(
      passwordResetRequestedDraft({
        event_id: 'e1',
        occurred_at: '2026-12-05T04:00:00.000Z',
        user_id: ALICE,
      }),
    ).toEqual({
      user_id: ALICE,
      category: 'security',
      type: 'user.password_reset_requested',
      title: 'Password reset e-mail sent',
      body: 'At your request, our staff sent a link to reset your password to your e-mail address. If you did not ask us for this, contact us at once.',
      data: {},
    });
  });

  it('tells of an added, changed or removed phone number or address as a security notice, without the values', () => {
    const at = { event_id: 'e1', occurred_at: '2026-12-05T01:00:00.000Z', user_id: ALICE };
    expect(contactChangedDraft({ ...at, changes: { phone: 'changed' } })).toEqual({
      user_id: ALICE,
      category: 'security',
      type: 'user.contact_changed',
      title: 'Contact details changed',
      body: "On your profile, the phone number was changed. If this wasn't you, contact us at once.",
      data: { phone: 'changed', address: null },
    });
    expect(contactChangedDraft({ ...at, changes: { address: 'removed' } }).body).toBe(
      "On your profile, the address was removed. If this wasn't you, contact us at once.",
    );
    expect(contactChangedDraft({ ...at, changes: { phone: 'added', address: 'changed' } })).toMatchObject({
      body: "On your profile, the phone number was added and the address was changed. If this wasn't you, contact us at once.",
      data: { phone: 'added', address: 'changed' },
    });
  });

  it('tells of a sign-in from a new device as a security notice', () => {
    expect(
      newDeviceSignInDraft({ event_id: 'e1', occurred_at: '2026-12-05T01:00:00.000Z', user_id: ALICE }),
    ).toEqual({
      user_id: ALICE,
      category: 'security',
      type: 'user.new_device_sign_in',
      title: 'New sign-in to your account',
      body: "Your account was signed in to from a device we didn't recognise. If this wasn't you, change your password and log out on all devices at once.",
      data: {},
    });
  });

  it('tells of a lockout after wrong passwords as a security notice, saying what is paused and for how long', () => {
    const at = { event_id: 'e1', occurred_at: '2026-12-04T23:00:00.000Z', user_id: ALICE };
    const login = lockedOutDraft({ ...at, scope: 'login', lock_seconds: 900 });
    expect(login).toMatchObject({
      user_id: ALICE,
      category: 'security',
      type: 'user.locked_out',
      title: 'Sign-in paused',
      data: { scope: 'login', lock_seconds: 900 },
    });
    expect(login.body).toBe(
      "The wrong password was entered for your account several times, so we've paused sign-in from new devices for 15 minutes. Devices you've signed in on before still work. If this wasn't you, change your password.",
    );
    expect(lockedOutDraft({ ...at, scope: 'device', lock_seconds: 60 }).body).toContain(
      'paused sign-in on it for 1 minute.',
    );
    expect(lockedOutDraft({ ...at, scope: 'password_change', lock_seconds: 90 })).toMatchObject({
      title: 'Password changes paused',
      body: expect.stringContaining('password changes and card details are paused for 2 minutes'),
    });
  });

  it('tells of a session ended for a reused refresh token as a security notice', () => {
    expect(
      sessionEndedDraft({
        event_id: 'e1',
        occurred_at: '2026-12-04T23:00:00.000Z',
        user_id: ALICE,
        reason: 'refresh_token_reused',
      }),
    ).toEqual({
      user_id: ALICE,
      category: 'security',
      type: 'user.session_ended',
      title: 'Signed out for your safety',
      body: "We signed you out on one of your devices because its sign-in was used from two places, which can mean it was copied. If you didn't expect this, change your password.",
      data: { reason: 'refresh_token_reused' },
    });
  });

  it("tells of a card's details shown as a security notice, with the last four digits only", () => {
    expect(
      cardRevealedDraft({
        event_id: 'e1',
        occurred_at: '2026-12-04T23:30:00.000Z',
        card_id: 'c1',
        last4: '4242',
        owner_id: ALICE,
      }),
    ).toEqual({
      user_id: ALICE,
      category: 'security',
      type: 'card.revealed',
      title: 'Card details shown',
      body: "The full number and security code of your card ending 4242 were shown in the app. If this wasn't you, freeze the card and change your password.",
      data: { card_id: 'c1', last4: '4242' },
    });
  });

  it('tells of a card the bank froze after wrong card details as a security notice', () => {
    const draft = cardFrozenDraft({
      event_id: 'e1',
      occurred_at: '2026-12-03T17:00:00.000Z',
      card_id: 'c1',
      last4: '4242',
      owner_id: ALICE,
      account_id: 'a1',
      reason: 'wrong_card_details',
      failures: 5,
    });
    expect(draft).toEqual({
      user_id: ALICE,
      category: 'security',
      type: 'card.frozen',
      title: 'Card frozen',
      body: "We've frozen your card ending 4242 after 5 payments with wrong card details. If they were yours, unfreeze it in the app; if not, keep it frozen and tell us.",
      data: { card_id: 'c1', last4: '4242', account_id: 'a1', reason: 'wrong_card_details' },
    });
  });

  it.each<[CardDeclineReason, Partial<CardDeclinedEvent>, string]>([
    ['card_frozen', {}, 'your card is frozen'],
    ['card_blocked', {}, 'your card is blocked'],
    ['account_frozen', {}, 'your account is frozen: contact us'],
    ['card_cancelled', {}, 'your card is cancelled'],
    ['expired', {}, 'your card has expired'],
    ['invalid_card', {}, 'the card details were wrong'],
    ['invalid_cvc', {}, 'the security code was wrong or missing'],
    ['limit_exceeded', {}, "it's over your card's spending limit"],
    ['category_blocked', {}, "you've blocked payments to this kind of merchant"],
    ['channel_disabled', { channel: 'online' }, 'online payments are turned off for this card'],
    ['channel_disabled', { channel: 'atm' }, 'cash withdrawals are turned off for this card'],
    ['currency_not_supported', {}, "your card can't pay in this currency"],
  ])('explains %s (%o)', (reason, change, text) => {
    const draft = cardDeclinedDraft(declined({ ...change, decline_reason: reason }));
    expect(draft.body).toBe(`Card payment of £25.50 at Starbucks declined: ${text}`);
  });

  it('tells nothing at clearing when the amount is the one authorised, and the new amount otherwise', () => {
    expect(cardClearedDrafts(cleared({}))).toEqual([]);
    expect(cardClearedDrafts(cleared({ amount: 3000 })).map((d) => [d.type, d.body])).toEqual([
      ['card.amount_changed', 'Your card payment at Starbucks came to £30.00, not the £25.50 first taken'],
    ]);
    expect(
      cardClearedDrafts(cleared({ authorisation_id: null, authorised_amount: null, forced: true })).map(
        (d) => [d.type, d.body],
      ),
    ).toEqual([['card.spent', '£25.50 spent at Starbucks']]);
  });

  it('tells money a card payment held given back: cancelled, reduced, the rest cancelled, or the hold released', () => {
    const told = (e: CardReleasedEvent) => {
      const d = cardReleasedDraft(e);
      return [d.type, d.title, d.body];
    };
    expect(told(released({}))).toEqual([
      'card.payment_cancelled',
      'Card payment cancelled',
      'Your £25.50 card payment at Starbucks was cancelled: the money is available to spend again',
    ]);
    expect(told(released({ released: 500, remaining: 2050 }))).toEqual([
      'card.payment_reduced',
      'Card payment reduced',
      'Your £25.50 card payment at Starbucks was reduced by £5.00: that is available to spend again',
    ]);
    // The rest, after a part: the payment is cancelled now, but not all of it came back at once.
    expect(told(released({ released: 2050, remaining: 0 }))).toEqual([
      'card.payment_cancelled',
      'Card payment cancelled',
      'The rest of your £25.50 card payment at Starbucks was cancelled: £20.50 is available to spend again',
    ]);
    // Expired: released, never "not taken" (a late clearing is still posted).
    expect(told(released({ reason: 'expired', released: 2050 }))).toEqual([
      'card.hold_released',
      'Card payment hold released',
      'The £20.50 held for your card payment at Starbucks is available to spend again. ' +
        'If Starbucks still takes the payment, it will show in your transactions',
    ]);
    const draft = cardReleasedDraft(
      released({ released: 500, remaining: 2050, merchant_name: 'Evil\u202eCorp' }),
    );
    expect(draft).toMatchObject({ user_id: ALICE, category: 'transactions' });
    expect(draft.body).toContain('Evil\ufffdCorp');
    expect(draft.data).toEqual({
      authorisation_id: 'auth-1',
      card_id: 'card-1',
      last4: '4242',
      account_id: 'a-alice',
      amount: 2550,
      currency: 'GBP',
      merchant: 'Evil\ufffdCorp',
      category: 'eating_out',
      released: 500,
      remaining: 2050,
      reason: 'reversed',
    });
  });

  it('tells a clearing against what is still held once part was given back, and a payment taken after its hold was', () => {
    const changes = (change: Partial<CardClearedEvent>) =>
      cardClearedDrafts(cleared(change)).map((d) => [d.type, d.body]);
    // £5.00 came back (told then); the clearing takes the £20.50 still held: nothing new to tell.
    expect(changes({ amount: 2050, released_amount: 500 })).toEqual([]);
    expect(changes({ amount: 2200, released_amount: 500 })).toEqual([
      ['card.amount_changed', 'Your card payment at Starbucks came to £22.00, not the £20.50 still held'],
    ]);
    // All of it came back (cancelled, or the hold expired), and the merchant took it after all.
    expect(changes({ amount: 2550, released_amount: 2550, forced: true })).toEqual([
      ['card.spent', '£25.50 spent at Starbucks'],
    ]);
    // An event written before released_amount existed reads as nothing given back.
    const { released_amount: _gone, ...older } = cleared({ amount: 3000 });
    expect(cardClearedDrafts(older as CardClearedEvent).map((d) => d.body)).toEqual([
      'Your card payment at Starbucks came to £30.00, not the £25.50 first taken',
    ]);
  });

  it('shows a merchant name the network sent safely', () => {
    expect(cardAuthorisedDraft(card({ merchant_name: 'Evil\u202eCorp' })).body).toBe(
      '£25.50 spent at Evil\ufffdCorp',
    );
  });
});

describe('text other people wrote', () => {
  it('cannot reorder or hide characters of a notification: each unsafe one shows as U+FFFD', () => {
    const drafts = transactionDrafts(
      event({ reference: 'Rent\u202Etnuocca ruoy' }),
      new Map([[ALICE, 'Pro\u200Btobank Fraud Team']]),
    );
    expect(drafts[1].body).toBe('You received £25.50 from Pro\uFFFDtobank Fraud Team');
    expect(drafts[1].data).toMatchObject({ reference: 'Rent\uFFFDtnuocca ruoy' });
  });

  it('shows the payee name and reference a customer typed safely', () => {
    const draft = paymentFailedDraft(
      unpaid({ payee_name: 'Land\u202Elord', reference: 'Rent\u200B', order_status: 'suspended' }),
    );
    expect(draft.body).toContain('to Land\uFFFDlord: not enough money');
    expect(draft.body).toContain('To pay Land\uFFFDlord again,');
    expect(draft.data).toMatchObject({ payee_name: 'Land\uFFFDlord', reference: 'Rent\uFFFD' });
    expect(paymentExecutedDraft(paid({ payee_name: 'Land\u202Elord' })).body).toBe(
      'Your standing order of £50.00 to Land\uFFFDlord was paid',
    );
  });

  it('tells a verified customer whose change was refused that they stay verified', () => {
    const first = kycRejectedDraft({ ...base, reviewer_id: BOB, reason: 'Blurred' });
    const change = kycRejectedDraft({ ...base, reviewer_id: BOB, reason: 'Blurred', reverification: true });
    expect(first.body).toContain('could not verify your identity (Blurred)');
    expect(change.body).toContain('Your verified details stay as they were');
    expect(kycVerifiedDraft({ user_id: ALICE, reverification: true }).title).toBe('Details updated');
    expect(kycVerifiedDraft({ user_id: ALICE }).title).toBe('Identity verified');
  });

  it("tells the bank's wording for a rejection's code, whatever text the event carries", () => {
    const coded = kycRejectedDraft({
      ...base,
      reviewer_id: BOB,
      reason: 'Call us on 0800 000 000 at https://kyc.example',
      reason_code: 'document_expired',
    });
    expect(coded.body).toBe(
      'We could not verify your identity (your document has expired). You can send new documents from the app.',
    );
    expect(coded.data).toEqual({ reason: 'your document has expired' });
  });
});
