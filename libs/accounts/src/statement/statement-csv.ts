import { formatMinorUnits, type Currency } from '@protobank/contracts';
import { csvCell, csvDocument } from '@protobank/platform';

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
    amount: number;
    balance: number;
    created_at: string;
  }[];
}

/**
 * RFC 4180 CSV: an opening-balance line, one line per transaction with the running balance, a
 * closing-balance line. Amounts are exact decimals written from the integer minor units.
 */
export function statementCsv(s: StatementView): string {
  const currency = s.currency as Currency;
  const money = (n: number) => formatMinorUnits(n, currency);
  const lines = [
    'date,transaction_id,kind,reference,amount,balance,currency',
    [s.from, '', 'opening_balance', '', '', money(s.opening_balance), s.currency].join(','),
    ...s.entries.map((e) =>
      [
        e.created_at,
        e.transaction_id,
        e.kind,
        csvCell(e.reference ?? '', true),
        money(e.amount),
        money(e.balance),
        s.currency,
      ].join(','),
    ),
    [s.to, '', 'closing_balance', '', '', money(s.closing_balance), s.currency].join(','),
  ];
  return csvDocument(lines);
}
