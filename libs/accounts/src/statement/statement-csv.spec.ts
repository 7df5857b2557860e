import { statementCsv, type StatementView } from './statement-csv';

const base: StatementView = {
  account_id: 'a',
  sort_code: '99-00-01',
  account_number: '00000019',
  currency: 'GBP',
  from: '2026-11-01T00:00:00.000Z',
  to: '2026-12-01T00:00:00.000Z',
  opening_balance: 10000,
  closing_balance: 7450,
  entries: [
    {
      transaction_id: 't1',
      kind: 'transfer',
      reference: 'Rent, "Nov"',
      amount: -2550,
      balance: 7450,
      created_at: '2026-11-02T10:00:00.000Z',
    },
  ],
};

describe('statement CSV', () => {
  it('writes opening, each line with its running balance, closing, as exact decimals', () => {
    expect(statementCsv(base).split('\r\n')).toEqual([
      'date,transaction_id,kind,reference,amount,balance,currency',
      '2026-11-01T00:00:00.000Z,,opening_balance,,,100.00,GBP',
      '2026-11-02T10:00:00.000Z,t1,transfer,"Rent, ""Nov""",-25.50,74.50,GBP',
      '2026-12-01T00:00:00.000Z,,closing_balance,,,74.50,GBP',
      '',
    ]);
  });

  it('writes JPY with no decimals', () => {
    const csv = statementCsv({
      ...base,
      currency: 'JPY',
      opening_balance: 2550,
      closing_balance: 2550,
      entries: [],
    });
    expect(csv).toContain(',opening_balance,,,2550,JPY');
  });

  it('defuses formulas in references', () => {
    const csv = statementCsv({ ...base, entries: [{ ...base.entries[0], reference: '=HYPERLINK("x")' }] });
    expect(csv).toContain(`"'=HYPERLINK(""x"")"`);
  });
});
