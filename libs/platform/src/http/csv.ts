/**
 * One RFC 4180 CSV field: quoted when it holds a comma, quote or line break. Free text (names,
 * references, anything a user or merchant wrote) that a spreadsheet would run as a formula (=, +, -, @,
 * tab, CR first) is defused with a leading apostrophe (CSV injection), and is quoted when not empty: a
 * spreadsheet in a locale that splits on semicolons would otherwise start a new cell, and perhaps a
 * formula, at `;=`.
 */
export function csvCell(value: string, freeText = false): string {
  let v = value;
  if (freeText && /^[=+\-@\t\r]/.test(v)) v = `'${v}`;
  return (freeText && v !== '') || /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** Lines joined with CRLF, the last one terminated too. */
export function csvDocument(lines: string[]): string {
  return `${lines.join('\r\n')}\r\n`;
}
