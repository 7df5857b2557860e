import { AppError } from '@protobank/platform';
import { SCHEME_FALLBACK, schemeCarried, schemeFields, schemeText } from './scheme-text';

const refusal = (value: string) => {
  try {
    schemeText(value, 'name');
  } catch (e) {
    const { status, code, details } = e as AppError;
    return { status, code, details };
  }
  return undefined;
};

describe('schemeText', () => {
  it('passes what the scheme carries unchanged, and no value as none', () => {
    expect(schemeText("INV/1-A(O'N)+&.,?:", 'reference')).toBe("INV/1-A(O'N)+&.,?:");
    expect(schemeText(undefined, 'reference')).toBeUndefined();
    expect(schemeText(null, 'reference')).toBeNull();
  });

  it('maps what banks map: accents off Latin letters, typographic apostrophes and dashes, other spaces', () => {
    expect(schemeText('Zoë O’Neill–Brontë', 'name')).toBe("Zoe O'Neill-Bronte");
    expect(schemeText('Ångström\u00A0‐ Lukáš', 'name')).toBe('Angstrom - Lukas');
    expect(schemeText('Déc—12\u202F‘x’', 'reference')).toBe("Dec-12 'x'");
    expect(schemeText('Søren Łukasz Đorđe Ħal Yılmaz', 'name')).toBe('Soren Lukasz Dorde Hal Yilmaz');
    expect(schemeText('Ǿrsted Ħ\u0301x', 'name')).toBe('Orsted Hx');
  });

  it('drops every accent a Latin letter carries, however many', () => {
    expect(schemeText(`Ze${'\u0301\u0302\u0308'.repeat(3)}n`, 'name')).toBe('Zen');
  });

  it('never lengthens the text, so the field’s length bound still holds', () => {
    for (const text of ['Zoë', 'Ǖ—ü', 'e\u0301\u0302', 'O’N\u00A0A']) {
      expect([...schemeText(text, 'name')].length).toBeLessThanOrEqual([...text.normalize('NFC')].length);
    }
  });

  it('refuses with a 400 naming the field what cannot be mapped: other scripts, emoji, ß, double quotes', () => {
    for (const text of [
      'カフェ',
      'Καφέ',
      'RENT 😀',
      'Straße',
      'Bob “B”',
      '. - /',
      'Пётр',
      'Æsir',
      'Œuvre',
      '£5',
      'Þór',
    ]) {
      expect({ text, refusal: refusal(text) }).toEqual({
        text,
        refusal: {
          status: 400,
          code: 'validation_failed',
          details: [expect.objectContaining({ field: 'name' })],
        },
      });
    }
  });
});

describe('schemeCarried', () => {
  it('passes text the scheme carries unchanged', () => {
    expect(schemeCarried("INV/1-A(O'N)+&.,?:", 'X')).toBe("INV/1-A(O'N)+&.,?:");
  });

  it('maps what it can, drops what it cannot, and falls back when no letter or digit is left', () => {
    expect(schemeCarried('Zoë’s ☕  Café 家', SCHEME_FALLBACK.name)).toBe("Zoe's Cafe");
    expect(schemeCarried('RENT 😀 12', SCHEME_FALLBACK.reference)).toBe('RENT 12');
    expect(schemeCarried('家賃 ☕', SCHEME_FALLBACK.reference)).toBe('PAYMENT');
    expect(schemeCarried('Καφέ', SCHEME_FALLBACK.name)).toBe('PAYEE');
    expect(schemeCarried('— . —', SCHEME_FALLBACK.name)).toBe('PAYEE');
  });
});

describe('schemeFields', () => {
  const refused = (name: string | undefined, reference: string | null | undefined) => {
    try {
      schemeFields(name, reference);
    } catch (e) {
      const { status, code, message, details } = e as AppError;
      return { status, code, message, fields: details.map((d) => d.field) };
    }
    return undefined;
  };

  it('maps both fields, leaving one not given as it is', () => {
    expect(schemeFields('Zoë', 'RENT–MAY')).toEqual({ name: 'Zoe', reference: 'RENT-MAY' });
    expect(schemeFields(undefined, null)).toEqual({ name: undefined, reference: null });
  });

  it('names every field the scheme cannot carry in one 400, and one alone as schemeText does', () => {
    expect(refused('A £', 'B £')).toEqual({
      status: 400,
      code: 'validation_failed',
      message: 'Invalid request: name, reference',
      fields: ['name', 'reference'],
    });
    expect(refused('Cafe', '家賃')).toMatchObject({
      message: 'Invalid request: reference',
      fields: ['reference'],
    });
    expect(refused('カフェ', undefined)).toMatchObject({
      message: 'Invalid request: name',
      fields: ['name'],
    });
  });
});
