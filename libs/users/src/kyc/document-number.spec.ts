import { DOCUMENT_NUMBER, normaliseDocumentNumber } from './document-number';

describe('normaliseDocumentNumber', () => {
  const same = [
    'P502135326',
    'p502135326',
    ' p 502 135 326 ',
    'P-502-135-326',
    'P\u2013502\u2014135\u2212326', // en dash, em dash, minus sign
    'P.502/135.326',
    'P\u00a0502\u2009135\u3000326', // no-break, thin and ideographic spaces
    '\uff30\uff15\uff10\uff12\uff11\uff13\uff15\uff13\uff12\uff16', // full-width
    'P\u2464\u24ea2135326', // circled 5 and 0
    'P50213532\u2076', // superscript 6
  ];

  it.each(same)('gives one spelling for %j', (input) => {
    expect(normaliseDocumentNumber(input)).toBe('P502135326');
  });

  it('maps letter look-alikes that Unicode folds to ASCII, and leaves others to be refused', () => {
    expect(normaliseDocumentNumber('\u212a12345678')).toBe('K12345678'); // Kelvin sign
    expect(normaliseDocumentNumber('\u0131d1234567')).toBe('ID1234567'); // dotless i
    expect(normaliseDocumentNumber('\ufb01123456')).toBe('FI123456'); // ligature fi
    // Cyrillic Р and a zero-width space are not letters of the document: the DTO refuses them.
    expect(DOCUMENT_NUMBER.test(normaliseDocumentNumber('\u0420502135326'))).toBe(false);
    expect(DOCUMENT_NUMBER.test(normaliseDocumentNumber('P502\u200b135326'))).toBe(false);
  });

  it('accepts 6 to 20 letters or digits', () => {
    expect(DOCUMENT_NUMBER.test('AB1234')).toBe(true);
    expect(DOCUMENT_NUMBER.test('A'.repeat(20))).toBe(true);
    expect(DOCUMENT_NUMBER.test('AB123')).toBe(false);
    expect(DOCUMENT_NUMBER.test('A'.repeat(21))).toBe(false);
  });
});
