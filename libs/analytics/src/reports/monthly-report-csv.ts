import { formatMinorUnits, isCurrency } from '@protobank/contracts';
import { csvCell, csvDocument } from '@protobank/platform';
import type { MonthlyReportDto } from './monthly-report.dto';

export const REPORT_CSV_HEADER = 'month,currency,section,name,money_in,money_out,count';

/**
 * The monthly report as RFC 4180 CSV, one row per figure: the currency's total, each category, each
 * merchant, each day. Amounts are exact decimals written from the integer minor units; category and
 * merchant names are free text, defused against formula injection.
 */
export function monthlyReportCsv(report: MonthlyReportDto): string {
  const lines = [REPORT_CSV_HEADER];
  for (const c of report.currencies) {
    const money = (n: number) => (isCurrency(c.currency) ? formatMinorUnits(n, c.currency) : String(n));
    const row = (section: string, name: string, f: { money_in: number; money_out: number; count: number }) =>
      lines.push(
        [
          report.month,
          c.currency,
          section,
          // Categories and merchants are free text; a total's empty name and a day's date are not.
          csvCell(name, section === 'category' || section === 'merchant'),
          money(f.money_in),
          money(f.money_out),
          f.count,
        ].join(','),
      );
    row('total', '', c);
    for (const x of c.by_category) row('category', x.category, x);
    for (const x of c.by_merchant) row('merchant', x.merchant, x);
    for (const x of c.daily) row('day', x.day, x);
  }
  return csvDocument(lines);
}
