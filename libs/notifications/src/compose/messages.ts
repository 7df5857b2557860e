import type {
  CardAuthorisedEvent,
  CardChannel,
  CardClearedEvent,
  CardDeclinedEvent,
  CardDeclineReason,
  CardFrozenEvent,
  CardReleasedEvent,
  CardRevealedEvent,
  KycRejectedEvent,
  KycVerifiedEvent,
  PaymentExecutedEvent,
  PaymentFailedEvent,
  PaymentFailureReason,
  PaymentSource,
  TransactionCreatedEvent,
  TransactionKind,
  UserLockedOutEvent,
  UserContactChangedEvent,
  UserNewDeviceSignInEvent,
  UserPasswordChangedEvent,
  UserPasswordResetRequestedEvent,
  UserRegisteredEvent,
  UserSessionEndedEvent,
} from '@protobank/contracts';
import { KYC_REJECTION_REASONS } from '@protobank/contracts';
import { displayText } from '@protobank/platform';
import { formatDate, formatInstant } from './date-format';
import type { Draft } from './draft';
import { formatMoney } from './money-format';

/** Who a user id is, for the other party of a payment; unknown ids read as below. */
export type Names = ReadonlyMap<string, string>;
const SOMEONE = 'another Protobank customer';

/** Free text another person wrote, shown safely (see displayText); null stays null. */
const shown = (text: string | null): string | null => (text === null ? null : displayText(text));

/**
 * Entries the payments module posts: their payer hears of them from payment.executed (which names the
 * payee and the order), so the entry tells only the other side, an internal payee.
 */
const PAID_BY_ORDER: ReadonlySet<TransactionKind> = new Set<TransactionKind>([
  'standing_order',
  'scheduled_payment',
]);

/**
 * The notifications one journal entry gives: one per customer party. A payment between two customers
 * tells each side their half ("You sent £25.50 to Bob Smith" / "You received £25.50 from Alice Jones");
 * a move between one customer's own accounts is one notification, not two. A standing order or
 * scheduled payment tells only its payee (see PAID_BY_ORDER): one payment, one notice to each person.
 * Names, merchants and references pass through displayText: entries stored before their fields refused
 * control, bidirectional and invisible characters may still hold them, and a notification is read as the
 * bank's own words.
 */
export function transactionDrafts(e: TransactionCreatedEvent, names: Names): Draft[] {
  const money = formatMoney(e.amount, e.currency);
  const merchant = shown(e.merchant);
  const data = (accountId: string) => ({
    transaction_id: e.transaction_id,
    kind: e.kind,
    account_id: accountId,
    amount: e.amount,
    currency: e.currency,
    reference: shown(e.reference),
    merchant,
  });
  const draft = (userId: string, accountId: string, type: string, title: string, body: string): Draft => ({
    user_id: userId,
    category: 'transactions',
    type,
    title,
    body,
    data: data(accountId),
  });
  const to = e.to_owner_id;
  // An order's payer hears from payment.executed: here only its payee does, when another customer.
  const byOrder = PAID_BY_ORDER.has(e.kind);
  if (byOrder && to === e.from_owner_id) return [];
  const from = byOrder ? null : e.from_owner_id;
  if (from && to && from === to) {
    return [
      draft(
        from,
        e.from_account_id,
        'transaction.moved',
        'Money moved',
        `You moved ${money} between your accounts`,
      ),
    ];
  }
  const drafts: Draft[] = [];
  const nameOf = (id: string | null) => {
    if (!id) return undefined;
    const name = names.get(id);
    return name === undefined ? SOMEONE : displayText(name);
  };
  switch (e.kind) {
    case 'card':
      // A card spend is told by card.authorised, when it happens (or card.cleared, for a forced post),
      // not again when the network clears it days later: only a refund (money in) is told from here.
      if (to)
        drafts.push(
          draft(
            to,
            e.to_account_id,
            'card.refunded',
            'Card refund',
            `${money} refunded by ${merchant ?? 'a card merchant'}`,
          ),
        );
      break;
    case 'deposit':
      if (to)
        drafts.push(
          draft(to, e.to_account_id, 'deposit.received', 'Money in', `${money} was paid into your account`),
        );
      if (from)
        drafts.push(
          draft(
            from,
            e.from_account_id,
            'withdrawal.made',
            'Money out',
            `${money} was taken out of your account`,
          ),
        );
      break;
    case 'fee':
      if (from)
        drafts.push(
          draft(from, e.from_account_id, 'fee.charged', 'Fee charged', `A fee of ${money} was charged`),
        );
      if (to)
        drafts.push(
          draft(to, e.to_account_id, 'fee.refunded', 'Fee refunded', `A fee of ${money} was refunded`),
        );
      break;
    case 'reversal':
      if (to)
        drafts.push(
          draft(
            to,
            e.to_account_id,
            'reversal.credited',
            'Payment reversed',
            `${money} was returned to your account: a payment was reversed`,
          ),
        );
      if (from)
        drafts.push(
          draft(
            from,
            e.from_account_id,
            'reversal.debited',
            'Payment reversed',
            `${money} was taken back from your account: a payment you received was reversed`,
          ),
        );
      break;
    default: {
      const toName = nameOf(to);
      const fromName = nameOf(e.from_owner_id);
      if (from)
        drafts.push(
          draft(
            from,
            e.from_account_id,
            'transaction.sent',
            'Money sent',
            toName ? `You sent ${money} to ${toName}` : `You sent ${money}`,
          ),
        );
      if (to)
        drafts.push(
          draft(
            to,
            e.to_account_id,
            'transaction.received',
            'Money received',
            fromName ? `You received ${money} from ${fromName}` : `You received ${money}`,
          ),
        );
    }
  }
  return drafts;
}

const ORDER: Record<PaymentSource, string> = {
  standing_order: 'standing order',
  scheduled_payment: 'scheduled payment',
};

/** Why a payment was not made, as the end of "We couldn't pay your standing order of … to …: ". */
const FAILURE: Record<PaymentFailureReason, string> = {
  insufficient_funds: 'not enough money',
  account_frozen: 'your account is frozen',
  account_closed: 'your account is closed',
  account_not_found: "we couldn't find the account it pays from",
  payee_account_closed: "the payee's account is closed",
  payee_account_not_found: "we couldn't find the payee's account",
  currency_mismatch: 'the payment and the accounts are in different currencies',
  currency_not_supported: 'we pay accounts at other banks in GBP only',
};

/**
 * When a suspended order is worth resuming, by the failure that suspended it (a resume is refused while
 * the account is frozen).
 */
const RESUME_WHEN: Partial<Record<PaymentFailureReason, string>> = {
  insufficient_funds: 'once the money is there',
  account_frozen: 'once your account is unfrozen',
};

type PaymentEvent = PaymentExecutedEvent | PaymentFailedEvent;

/** What both payment notices say and carry: the payee's name and the reference are what the customer typed. */
function paymentParts(e: PaymentEvent) {
  const order = ORDER[e.source] ?? 'payment';
  const payee = displayText(e.payee_name);
  return {
    order,
    Order: order[0].toUpperCase() + order.slice(1),
    payee,
    what: `${order} of ${formatMoney(e.amount, e.currency)} to ${payee}`,
    data: {
      payment_id: e.payment_id,
      order_id: e.order_id,
      source: e.source,
      account_id: e.from_account_id,
      payee_id: e.payee_id,
      payee_name: payee,
      amount: e.amount,
      currency: e.currency,
      reference: displayText(e.reference),
      due_date: e.due_date,
    },
  };
}

/**
 * "Your standing order of £50.00 to Landlord was paid": the payer's one notice of a payment (its ledger
 * entry's transaction.created tells only an internal payee). A late one (the scheduler caught up after
 * downtime) says when it was due.
 */
export function paymentExecutedDraft(e: PaymentExecutedEvent): Draft {
  const { Order, what, data } = paymentParts(e);
  return {
    user_id: e.owner_id,
    category: 'payments',
    type: 'payment.executed',
    title: `${Order} paid`,
    body: e.late
      ? `Your ${what} was paid late: it was due on ${formatDate(e.due_date)}`
      : `Your ${what} was paid`,
    data: { ...data, transaction_id: e.transaction_id },
  };
}

/**
 * "We couldn't pay your standing order of £50.00 to Landlord: not enough money", and what becomes of the
 * order: suspended after repeated failures (until the customer resumes it), cancelled when an account
 * closed, or still active for its next date.
 */
export function paymentFailedDraft(e: PaymentFailedEvent): Draft {
  const { order, Order, payee, what, data } = paymentParts(e);
  const standing = e.source === 'standing_order';
  const reason = FAILURE[e.reason] ?? 'the payment was refused';
  let title = `${Order} not paid`;
  let next: string;
  switch (e.order_status) {
    case 'suspended':
      title = `${Order} suspended`;
      next =
        `We've suspended this ${order} after repeated failures: no more payments will be made until you ` +
        `resume it. To pay ${payee} again, resume it ${RESUME_WHEN[e.reason] ?? 'once this is put right'} ` +
        '(dates missed meanwhile are not paid), or contact us.';
      break;
    case 'cancelled':
      // Cancelled by us (its account closed) or by the customer while this payment was being made.
      title = `${Order} cancelled`;
      next = `This ${order} is cancelled, so ${standing ? 'no more payments will be made' : "it won't be tried again"}.`;
      break;
    case 'completed':
      next = `We won't try this payment again, and the ${order} has now ended.`;
      break;
    default:
      next =
        standing && e.order_status === 'active'
          ? "We won't try this payment again; your standing order stays active for the next one."
          : "We won't try this payment again.";
  }
  return {
    user_id: e.owner_id,
    category: 'payments',
    type: 'payment.failed',
    title,
    body: `We couldn't pay your ${what}: ${reason}. ${next}`,
    data: { ...data, reason: e.reason, attempts: e.attempts, order_status: e.order_status },
  };
}

/** Why a card payment was declined, as the end of "Card payment of £12.00 at Amazon declined: ". */
const DECLINE: Record<Exclude<CardDeclineReason, 'channel_disabled'>, string> = {
  insufficient_funds: 'not enough money',
  card_frozen: 'your card is frozen',
  card_blocked: 'your card is blocked',
  account_frozen: 'your account is frozen: contact us',
  card_cancelled: 'your card is cancelled',
  expired: 'your card has expired',
  invalid_card: 'the card details were wrong',
  invalid_cvc: 'the security code was wrong or missing',
  limit_exceeded: "it's over your card's spending limit",
  category_blocked: "you've blocked payments to this kind of merchant",
  currency_not_supported: "your card can't pay in this currency",
};

/** Which switch of the card's limits stopped it, for channel_disabled. */
const CHANNEL: Record<CardChannel, string> = {
  online: 'online payments are',
  contactless: 'contactless payments are',
  chip: 'chip payments are',
  atm: 'cash withdrawals are',
};

type CardEvent = CardAuthorisedEvent | CardDeclinedEvent | CardClearedEvent | CardReleasedEvent;

/** What every card notice carries: never more of the card number than its last four digits. */
function cardData(e: CardEvent) {
  return {
    authorisation_id: e.authorisation_id,
    card_id: e.card_id,
    last4: e.last4,
    account_id: e.account_id,
    amount: e.amount,
    currency: e.currency,
    merchant: displayText(e.merchant_name),
    category: e.category,
  };
}

/** "£25.50 spent at Starbucks": told when the card network's authorisation is approved (the money is held). */
export function cardAuthorisedDraft(e: CardAuthorisedEvent): Draft {
  return {
    user_id: e.owner_id,
    category: 'transactions',
    type: 'card.spent',
    title: 'Card payment',
    body: `${formatMoney(e.amount, e.currency)} spent at ${displayText(e.merchant_name)}`,
    data: { ...cardData(e), channel: e.channel },
  };
}

/** "Card payment of £12.00 at Amazon declined: not enough money". */
export function cardDeclinedDraft(e: CardDeclinedEvent): Draft {
  const reason =
    e.decline_reason === 'channel_disabled'
      ? `${CHANNEL[e.channel] ?? 'these payments are'} turned off for this card`
      : (DECLINE[e.decline_reason] ?? 'the payment was refused');
  return {
    user_id: e.owner_id,
    category: 'transactions',
    type: 'card.declined',
    title: 'Card payment declined',
    body: `Card payment of ${formatMoney(e.amount, e.currency)} at ${displayText(e.merchant_name)} declined: ${reason}`,
    data: { ...cardData(e), channel: e.channel, decline_reason: e.decline_reason },
  };
}

/**
 * "Your password was changed ...": a security notice (customers cannot turn those off in the app or by
 * e-mail), since the one who changed it may not be them.
 */
export function passwordChangedDraft(e: UserPasswordChangedEvent): Draft {
  return {
    user_id: e.user_id,
    category: 'security',
    type: 'user.password_changed',
    title: e.via === 'reset' ? 'Password reset' : 'Password changed',
    body:
      (e.via === 'reset'
        ? 'Your password was reset with the link we e-mailed you, and you were logged out on your other devices. '
        : 'Your password was changed, and you were logged out on your other devices. ') +
      (e.held_until
        ? `For your safety, until ${formatInstant(e.held_until)} you cannot add payees, pay accounts other than your own or your existing payees', get a new card or see your cards' numbers, change your phone number or address or your verified name or date of birth, or switch notices off. `
        : '') +
      "If this wasn't you, contact us at once.",
    data: {},
  };
}

/**
 * "Password reset e-mail sent ...": a security notice (customers cannot turn those off in the app or by
 * e-mail), at the moment staff send the link, outside the mailbox it goes to.
 */
export function passwordResetRequestedDraft(e: UserPasswordResetRequestedEvent): Draft {
  return {
    user_id: e.user_id,
    category: 'security',
    type: 'user.password_reset_requested',
    title: 'Password reset e-mail sent',
    body: 'At your request, our staff sent a link to reset your password to your e-mail address. If you did not ask us for this, contact us at once.',
    data: {},
  };
}

/**
 * "Your phone number was changed ...": a security notice (customers cannot turn those off in the app or
 * by e-mail), without the new values, since whoever took over a session changes these first.
 */
export function contactChangedDraft(e: UserContactChangedEvent): Draft {
  const { phone, address } = e.changes;
  const parts = [phone && `phone number was ${phone}`, address && `address was ${address}`].filter(Boolean);
  return {
    user_id: e.user_id,
    category: 'security',
    type: 'user.contact_changed',
    title: 'Contact details changed',
    body: `On your profile, the ${parts.join(' and the ')}. If this wasn't you, contact us at once.`,
    data: { phone: phone ?? null, address: address ?? null },
  };
}

const LOCKED_OUT: Record<UserLockedOutEvent['scope'], { title: string; body: (minutes: string) => string }> =
  {
    login: {
      title: 'Sign-in paused',
      body: (m) =>
        `The wrong password was entered for your account several times, so we've paused sign-in from new devices for ${m}. ` +
        "Devices you've signed in on before still work. If this wasn't you, change your password.",
    },
    device: {
      title: 'Sign-in paused on a device',
      body: (m) =>
        `The wrong password was entered several times on one of your devices, so we've paused sign-in on it for ${m}. ` +
        "If this wasn't you, change your password.",
    },
    password_change: {
      title: 'Password changes paused',
      body: (m) =>
        `Your password was entered wrongly several times when it was asked for again (to change it, or to see a card's details), so password changes and card details are paused for ${m}. ` +
        "If this wasn't you, log out on all your devices and contact us.",
    },
  };

/**
 * "Sign-in paused ...": a security notice (customers cannot turn those off), since the wrong passwords
 * may be someone else's.
 */
export function lockedOutDraft(e: UserLockedOutEvent): Draft {
  const minutes = Math.max(1, Math.ceil(e.lock_seconds / 60));
  const text = LOCKED_OUT[e.scope] ?? LOCKED_OUT.login;
  return {
    user_id: e.user_id,
    category: 'security',
    type: 'user.locked_out',
    title: text.title,
    body: text.body(minutes === 1 ? '1 minute' : `${minutes} minutes`),
    data: { scope: e.scope, lock_seconds: e.lock_seconds },
  };
}

/** "We signed you out on one device ...": a security notice, since a copy of a sign-in token was used. */
export function sessionEndedDraft(e: UserSessionEndedEvent): Draft {
  return {
    user_id: e.user_id,
    category: 'security',
    type: 'user.session_ended',
    title: 'Signed out for your safety',
    body:
      'We signed you out on one of your devices because its sign-in was used from two places, which can mean it was copied. ' +
      "If you didn't expect this, change your password.",
    data: { reason: e.reason },
  };
}

/**
 * "New sign-in to your account ...": a security notice (customers cannot turn those off), since a password
 * in someone else's hands shows here first. When it happened is the notification's own time.
 */
export function newDeviceSignInDraft(e: UserNewDeviceSignInEvent): Draft {
  return {
    user_id: e.user_id,
    category: 'security',
    type: 'user.new_device_sign_in',
    title: 'New sign-in to your account',
    body:
      "Your account was signed in to from a device we didn't recognise. " +
      "If this wasn't you, change your password and log out on all devices at once.",
    data: {},
  };
}

/**
 * "We've frozen your card ending 4242 ...": a security notice (customers cannot turn those off), since
 * someone may be guessing the card's details.
 */
export function cardFrozenDraft(e: CardFrozenEvent): Draft {
  return {
    user_id: e.owner_id,
    category: 'security',
    type: 'card.frozen',
    title: 'Card frozen',
    body:
      `We've frozen your card ending ${e.last4} after ${e.failures} payments with wrong card details. ` +
      'If they were yours, unfreeze it in the app; if not, keep it frozen and tell us.',
    data: { card_id: e.card_id, last4: e.last4, account_id: e.account_id, reason: e.reason },
  };
}

/**
 * "The details of your card ending 4242 were shown ...": a security notice (customers cannot turn those
 * off), since whoever holds their session and password can now pay with the card.
 */
export function cardRevealedDraft(e: CardRevealedEvent): Draft {
  return {
    user_id: e.owner_id,
    category: 'security',
    type: 'card.revealed',
    title: 'Card details shown',
    body:
      `The full number and security code of your card ending ${e.last4} were shown in the app. ` +
      "If this wasn't you, freeze the card and change your password.",
    data: { card_id: e.card_id, last4: e.last4 },
  };
}

/**
 * Money a card payment held is the customer's to spend again (held money never left the account): "Your
 * £12.00 card payment at Amazon was cancelled: the money is available to spend again" when the network
 * reversed all of it, "Your £25.50 card payment at Starbucks was reduced by £5.00: that is available to
 * spend again" for a part, "The rest of your £25.50 card payment at Starbucks was cancelled: £20.50 is
 * available to spend again" for what was left after one, and for an expired hold that it was released,
 * which does not say the merchant will not take it (a late clearing is still posted).
 */
export function cardReleasedDraft(e: CardReleasedEvent): Draft {
  const merchant = displayText(e.merchant_name);
  const released = formatMoney(e.released, e.currency);
  const payment = `${formatMoney(e.amount, e.currency)} card payment at ${merchant}`;
  const [type, title, body] =
    e.reason === 'expired'
      ? [
          'card.hold_released',
          'Card payment hold released',
          `The ${released} held for your card payment at ${merchant} is available to spend again. ` +
            `If ${merchant} still takes the payment, it will show in your transactions`,
        ]
      : e.remaining > 0
        ? [
            'card.payment_reduced',
            'Card payment reduced',
            `Your ${payment} was reduced by ${released}: that is available to spend again`,
          ]
        : e.released === e.amount
          ? [
              'card.payment_cancelled',
              'Card payment cancelled',
              `Your ${payment} was cancelled: the money is available to spend again`,
            ]
          : [
              'card.payment_cancelled',
              'Card payment cancelled',
              `The rest of your ${payment} was cancelled: ${released} is available to spend again`,
            ];
  return {
    user_id: e.owner_id,
    category: 'transactions',
    type,
    title,
    body,
    data: { ...cardData(e), released: e.released, remaining: e.remaining, reason: e.reason },
  };
}

/**
 * A clearing tells the customer only what they have not heard yet: a forced post (no authorisation came
 * first, so nothing was told), a payment taken after all once its hold had been given back (told then:
 * card.released), or a final amount other than the one still held (a tip, a partial shipment; "still
 * held" after part was given back). A clearing of what was held was told at authorisation: no notice.
 */
export function cardClearedDrafts(e: CardClearedEvent): Draft[] {
  const money = formatMoney(e.amount, e.currency);
  const merchant = displayText(e.merchant_name);
  const data = { ...cardData(e), transaction_id: e.transaction_id, forced: e.forced };
  // Events written before card.released existed carry no released_amount: nothing was told given back.
  const released = e.released_amount ?? 0;
  const held = e.authorised_amount === null ? 0 : e.authorised_amount - released;
  if (held <= 0) {
    return [
      {
        user_id: e.owner_id,
        category: 'transactions',
        type: 'card.spent',
        title: 'Card payment',
        body: `${money} spent at ${merchant}`,
        data,
      },
    ];
  }
  if (held === e.amount) return [];
  const before = formatMoney(held, e.currency);
  return [
    {
      user_id: e.owner_id,
      category: 'transactions',
      type: 'card.amount_changed',
      title: 'Card payment updated',
      body: `Your card payment at ${merchant} came to ${money}, not the ${before} ${released > 0 ? 'still held' : 'first taken'}`,
      data: { ...data, authorised_amount: e.authorised_amount, released_amount: released },
    },
  ];
}

/**
 * `emailOffered`: a mail relay is configured (SMTP_HOST), so the customer can verify the address (without
 * one, e-mail verification answers 409 email_verification_not_offered, and the welcome must not ask for it).
 */
export function welcomeDraft(e: UserRegisteredEvent, fullName: string, emailOffered: boolean): Draft {
  return {
    user_id: e.user_id,
    category: 'account',
    type: 'welcome',
    title: 'Welcome to Protobank',
    // Told here, in the app: a new account's address is not verified yet, so only security notices go to
    // it by e-mail (EmailChannel).
    body: emailOffered
      ? `Welcome to Protobank, ${displayText(fullName)}. Confirm your e-mail address to get your notices by ` +
        'e-mail too; until then they are here, in the app.'
      : `Welcome to Protobank, ${displayText(fullName)}. Your notices are here, in the app.`,
    data: {},
  };
}

export function kycVerifiedDraft(e: Pick<KycVerifiedEvent, 'user_id' | 'reverification'>): Draft {
  return {
    user_id: e.user_id,
    category: 'account',
    type: 'kyc.verified',
    ...(e.reverification
      ? {
          title: 'Details updated',
          body: 'The change to your legal details is verified: your profile, and the name payees see, now show it.',
        }
      : { title: 'Identity verified', body: 'Your identity is verified: you can now open accounts.' }),
    data: {},
  };
}

/** A refused change of an already verified customer leaves them verified: the notice says so. */
export function kycRejectedDraft(e: KycRejectedEvent): Draft {
  // The bank's wording for the code, whatever the event's text says: an event without a code (written
  // before 2026-12-07, or by an older users instance during a deploy) is shown as it came.
  const coded = e.reason_code && Object.hasOwn(KYC_REJECTION_REASONS, e.reason_code);
  const reason = displayText(coded ? KYC_REJECTION_REASONS[e.reason_code!] : e.reason);
  return {
    user_id: e.user_id,
    category: 'account',
    type: 'kyc.rejected',
    ...(e.reverification
      ? {
          title: 'Details not changed',
          body: `We could not verify the change to your details (${reason}). Your verified details stay as they were; you can send new documents from the app.`,
        }
      : {
          title: 'Identity not verified',
          body: `We could not verify your identity (${reason}). You can send new documents from the app.`,
        }),
    data: { reason },
  };
}
