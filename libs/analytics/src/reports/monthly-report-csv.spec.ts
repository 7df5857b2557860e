import { monthlyReportCsv, REPORT_CSV_HEADER } from './monthly-report-csv';
import type { MonthlyReportDto } from './monthly-report.dto';

const report: MonthlyReportDto = {
  month: '2026-11',
  from: '2026-11-01',
  to: '2026-11-30',
  currencies: [
    {
      currency: 'GBP',
      money_in: 100000,
      money_out: 2555,
      net: 97445,
      count: 3,
      by_category: [{ category: 'groceries', money_in: 0, money_out: 2555, count: 2 }],
      by_merchant: [{ merchant: '=HYPERLINK("x"), Ltd', money_in: 0, money_out: 5, count: 1 }],
      daily: [{ day: '2026-11-01', money_in: 100000, money_out: 2555, count: 3 }],
    },
    {
      currency: 'JPY',
      money_in: 2550,
      money_out: 0,
      net: 2550,
      count: 1,
      by_category: [],
      by_merchant: [],
      daily: [],
    },
  ],
};

describe('monthly report CSV', () => {
  it('writes a row per figure, exact decimals, defused and quoted free text', () => {
    expect(monthlyReportCsv(report).split('\r\n')).toEqual([
      REPORT_CSV_HEADER,
      '2026-11,GBP,total,,1000.00,25.55,3',
      '2026-11,GBP,category,"groceries",0.00,25.55,2',
      `2026-11,GBP,merchant,"'=HYPERLINK(""x""), Ltd",0.00,0.05,1`,
      '2026-11,GBP,day,2026-11-01,1000.00,25.55,3',
      '2026-11,JPY,total,,2550,0,1',
      '',
    ]);
  });
});
