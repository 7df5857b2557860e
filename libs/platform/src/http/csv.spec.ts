import { csvCell, csvDocument } from './csv';

describe('CSV', () => {
  it('quotes only what needs quoting', () => {
    expect([csvCell('plain'), csvCell('a,b'), csvCell('say "hi"'), csvCell('two\nlines')]).toEqual([
      'plain',
      '"a,b"',
      '"say ""hi"""',
      '"two\nlines"',
    ]);
  });

  it('defuses formulas in free text only, and always quotes free text', () => {
    expect(['=1+1', '+1', '-1', '@SUM(A1)', '\tx'].map((v) => csvCell(v, true))).toEqual([
      `"'=1+1"`,
      `"'+1"`,
      `"'-1"`,
      `"'@SUM(A1)"`,
      `"'\tx"`,
    ]);
    expect(csvCell('-25.50')).toBe('-25.50');
    // A semicolon-splitting spreadsheet sees one cell, not a second one starting with a formula.
    expect(csvCell('Foo;=1+1', true)).toBe('"Foo;=1+1"');
  });

  it('ends every line with CRLF', () => {
    expect(csvDocument(['a', 'b'])).toBe('a\r\nb\r\n');
  });
});
