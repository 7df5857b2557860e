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
      merchant: null,
      amount: -2550,
      balance: 7450,
      created_at: '2026-11-02T10:00:00.000Z',
    },
  ],
};

const LONDON = 'Europe/London';

describe('statement CSV', () => {
  it('writes opening, each line with its running balance, closing, as exact decimals', () => {
    expect(statementCsv(base, LONDON).split('\r\n')).toEqual([
      'date,transaction_id,kind,reference,amount,balance,currency,time,merchant',
      '2026-11-01,,opening_balance,,,100.00,GBP,2026-11-01T00:00:00.000Z,',
      '2026-11-02,t1,transfer,"Rent, ""Nov""",-25.50,74.50,GBP,2026-11-02T10:00:00.000Z,',
      '2026-11-30,,closing_balance,,,74.50,GBP,2026-12-01T00:00:00.000Z,',
      '',
    ]);
  });

  it("dates each line by its bank day: 00:30 on 1 July in London is July's, not 30 June's", () => {
    const july: StatementView = {
      ...base,
      from: '2026-06-30T23:00:00.000Z',
      to: '2026-07-31T23:00:00.000Z',
      entries: [{ ...base.entries[0], created_at: '2026-06-30T23:30:00.000Z' }],
    };
    const [, opening, line, closing] = statementCsv(july, LONDON).split('\r\n');
    const dayAndTime = (l: string) => [l.split(',')[0], l.split(',').at(-2)]; // merchant last, empty
    expect([opening, line, closing].map(dayAndTime)).toEqual([
      ['2026-07-01', '2026-06-30T23:00:00.000Z'],
      ['2026-07-01', '2026-06-30T23:30:00.000Z'],
      ['2026-07-31', '2026-07-31T23:00:00.000Z'],
    ]);
    // The same instant, for a bank whose day is UTC's, falls on 30 June.
    expect(statementCsv(july, 'UTC').split('\r\n')[2].startsWith('2026-06-30,')).toBe(true);
  });

  it('writes JPY with no decimals', () => {
    const csv = statementCsv(
      { ...base, currency: 'JPY', opening_balance: 2550, closing_balance: 2550, entries: [] },
      LONDON,
    );
    expect(csv).toContain(',opening_balance,,,2550,JPY,');
  });

  it('defuses formulas in references', () => {
    const entries = [{ ...base.entries[0], reference: '=HYPERLINK("x")' }];
    expect(statementCsv({ ...base, entries }, LONDON)).toContain(`"'=HYPERLINK(""x"")"`);
  });

  it("names a card payment's merchant last, after the time, quoted and defused as references are", () => {
    const entries = [
      { ...base.entries[0], kind: 'card', reference: null, merchant: `Joe's, "Cafe"` },
      { ...base.entries[0], kind: 'card', reference: null, merchant: '@SUM(A1)' },
    ];
    const [, , joe, formula] = statementCsv({ ...base, entries }, LONDON).split('\r\n');
    expect(joe).toBe(`2026-11-02,t1,card,,-25.50,74.50,GBP,2026-11-02T10:00:00.000Z,"Joe's, ""Cafe"""`);
    expect(formula).toBe(`2026-11-02,t1,card,,-25.50,74.50,GBP,2026-11-02T10:00:00.000Z,"'@SUM(A1)"`);
  });
});
