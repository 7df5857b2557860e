import { formatMinorUnits, type Currency } from '@protobank/contracts';
import { csvCell, csvDocument, todayIn } from '@protobank/platform';

export interface StatementView {
  account_id: string;
  sort_code: string;
  account_number: string;
  currency: string;
  from: string;
  to: string;
  opening_balance: number;
  closing_balance: number;
  entries: {
    transaction_id: string;
    kind: string;
    reference: string | null;
    merchant: string | null;
    amount: number;
    balance: number;
    created_at: string;
  }[];
}

/**
 * RFC 4180 CSV: an opening-balance line, one line per transaction with the running balance, a
 * closing-balance line. Amounts are exact decimals written from the integer minor units. `date` is the
 * bank day (in `timeZone`, BANK_TIME_ZONE) a line falls on, as the JSON's period reads dates: a payment at
 * 00:30 on 1 July in London is July's, though its UTC instant (`time`, after the others so that an import
 * reading columns by position still finds them) is 30 June. The opening line is the period's first day and
 * the closing line its last (`to` is exclusive). `merchant`, who was paid or paid us (a card payment's or
 * refund's merchant, an external payee's name; else empty), came later still and is the last column.
 */
export function statementCsv(s: StatementView, timeZone: string): string {
  const currency = s.currency as Currency;
  const money = (n: number) => formatMinorUnits(n, currency);
  const day = (instant: string, offsetMs = 0) =>
    todayIn(timeZone, new Date(new Date(instant).getTime() + offsetMs));
  const lines = [
    'date,transaction_id,kind,reference,amount,balance,currency,time,merchant',
    [day(s.from), '', 'opening_balance', '', '', money(s.opening_balance), s.currency, s.from, ''].join(','),
    ...s.entries.map((e) =>
      [
        day(e.created_at),
        e.transaction_id,
        e.kind,
        csvCell(e.reference ?? '', true),
        money(e.amount),
        money(e.balance),
        s.currency,
        e.created_at,
        csvCell(e.merchant ?? '', true),
      ].join(','),
    ),
    [day(s.to, -1), '', 'closing_balance', '', '', money(s.closing_balance), s.currency, s.to, ''].join(','),
  ];
  return csvDocument(lines);
}
