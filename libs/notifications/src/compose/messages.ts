import type { KycRejectedEvent, TransactionCreatedEvent, UserRegisteredEvent } from '@protobank/contracts';
import type { Draft } from './draft';
import { formatMoney } from './money-format';

/** Who a user id is, for the other party of a payment; unknown ids read as below. */
export type Names = ReadonlyMap<string, string>;
const SOMEONE = 'another Protobank customer';

/**
 * The notifications one journal entry gives: one per customer party. A payment between two customers
 * tells each side their half ("You sent £25.50 to Bob Smith" / "You received £25.50 from Alice Jones");
 * a move between one customer's own accounts is one notification, not two.
 */
export function transactionDrafts(e: TransactionCreatedEvent, names: Names): Draft[] {
  const money = formatMoney(e.amount, e.currency);
  const data = (accountId: string) => ({
    transaction_id: e.transaction_id,
    kind: e.kind,
    account_id: accountId,
    amount: e.amount,
    currency: e.currency,
    reference: e.reference,
    merchant: e.merchant,
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
  const nameOf = (id: string | null) => (id ? (names.get(id) ?? SOMEONE) : undefined);
  switch (e.kind) {
    case 'card':
      if (from)
        drafts.push(
          draft(
            from,
            e.from_account_id,
            'card.spent',
            'Card payment',
            `${money} spent at ${e.merchant ?? 'a card merchant'}`,
          ),
        );
      if (to)
        drafts.push(
          draft(
            to,
            e.to_account_id,
            'card.refunded',
            'Card refund',
            `${money} refunded by ${e.merchant ?? 'a card merchant'}`,
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
    body: `Welcome to Protobank, ${fullName}.`,
    data: {},
  };
}

export function kycVerifiedDraft(userId: string): Draft {
  return {
    user_id: userId,
    category: 'account',
    type: 'kyc.verified',
    title: 'Identity verified',
    body: 'Your identity is verified: you can now open accounts.',
    data: {},
  };
}

export function kycRejectedDraft(e: KycRejectedEvent): Draft {
  return {
    user_id: e.user_id,
    category: 'account',
    type: 'kyc.rejected',
    title: 'Identity not verified',
    body: `We could not verify your identity (${e.reason}). You can send new documents from the app.`,
    data: { reason: e.reason },
  };
}
