import type {
  KycRejectedEvent,
  KycVerifiedEvent,
  TransactionCreatedEvent,
  UserRegisteredEvent,
} from '@protobank/contracts';
import { displayText } from '@protobank/platform';
import type { Draft } from './draft';
import { formatMoney } from './money-format';

/** Who a user id is, for the other party of a payment; unknown ids read as below. */
export type Names = ReadonlyMap<string, string>;
const SOMEONE = 'another Protobank customer';

/** Free text another person wrote, shown safely (see displayText); null stays null. */
const shown = (text: string | null): string | null => (text === null ? null : displayText(text));

/**
 * The notifications one journal entry gives: one per customer party. A payment between two customers
 * tells each side their half ("You sent £25.50 to Bob Smith" / "You received £25.50 from Alice Jones");
 * a move between one customer's own accounts is one notification, not two. Names, merchants and
 * references pass through displayText: entries stored before their fields refused control,
 * bidirectional and invisible characters may still hold them, and a notification is read as the bank's
 * own words.
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
  const from = e.from_owner_id;
  const to = e.to_owner_id;
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
      if (from)
        drafts.push(
          draft(
            from,
            e.from_account_id,
            'card.spent',
            'Card payment',
            `${money} spent at ${merchant ?? 'a card merchant'}`,
          ),
        );
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
      const fromName = nameOf(from);
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

export function welcomeDraft(e: UserRegisteredEvent, fullName: string): Draft {
  return {
    user_id: e.user_id,
    category: 'account',
    type: 'welcome',
    title: 'Welcome to Protobank',
    body: `Welcome to Protobank, ${displayText(fullName)}.`,
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
  const reason = displayText(e.reason);
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
