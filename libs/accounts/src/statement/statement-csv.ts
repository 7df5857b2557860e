import { formatMinorUnits, type Currency } from '@protobank/contracts';

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

/** Quotes a field when needed and defuses spreadsheet formulas in free text (CSV injection). */
function cell(value: string, freeText = false): string {
  let v = value;
  if (freeText && /^[=+\-@\t\r]/.test(v)) v = `'${v}`;
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
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
        cell(e.reference ?? '', true),
        money(e.amount),
        money(e.balance),
        s.currency,
      ].join(','),
    ),
    [s.to, '', 'closing_balance', '', '', money(s.closing_balance), s.currency].join(','),
  ];
  return `${lines.join('\r\n')}\r\n`;
}
