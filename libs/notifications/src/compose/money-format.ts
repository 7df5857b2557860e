import { formatMinorUnits, isCurrency } from '@protobank/contracts';

const formats = new Map<string, Intl.NumberFormat>();

/**
 * "£25.50", "€1,000.00", "$3.10", "¥2,550": the amount as a customer reads it. The exact decimal string
 * goes to Intl.NumberFormat (which formats numeric strings without turning them into floats), so a
 * large amount never loses a penny on its way into a message.
 */
export function formatMoney(amount: number | bigint, currency: string): string {
  if (!isCurrency(currency)) return `${String(amount)} ${currency}`;
  let format = formats.get(currency);
  if (!format) {
    format = new Intl.NumberFormat('en-GB', {
      style: 'currency',
      currency,
      currencyDisplay: 'narrowSymbol',
    });
    formats.set(currency, format);
  }
  return format.format(formatMinorUnits(amount, currency) as Intl.StringNumericLiteral);
}
