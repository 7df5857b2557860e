import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { displayText, IsPlainText } from './plain-text';

class Named {
  @IsPlainText(1, 20)
  name: string;
}

const check = (name: unknown) => {
  const value = plainToInstance(Named, { name });
  return {
    value: value.name,
    errors: validateSync(value).flatMap((e) => Object.values(e.constraints ?? {})),
  };
};

describe('IsPlainText', () => {
  it('accepts ordinary names in any script, trimmed and NFC-normalised', () => {
    expect(check('  Zoë Brontë ')).toEqual({ value: 'Zoë Brontë', errors: [] });
    expect(check('Zoe\u0308').value).toBe('Zoë'); // a decomposed ë becomes the one code point
    expect(check('مهرداد\u200Cی').errors).toEqual([]); // ZWNJ, as Persian writes it
    expect(check('李小龍').errors).toEqual([]);
  });

  it.each([
    ['a right-to-left override', 'Bob\u202Eevil'],
    ['a bidirectional isolate', 'Bob\u2067x\u2069'],
    ['a directional mark', 'Bob\u200F'],
    ['a zero-width space', 'Pro\u200Btobank'],
    ['a line break', 'Bob\nSmith'],
    ['a C1 control', 'Bob\u0085'],
    ['a byte-order mark', 'Bo\uFEFFb'],
    ['a soft hyphen', 'Pro\u00ADtobank'],
  ])('refuses %s, naming the field', (_what, name) => {
    expect(check(name).errors).toEqual([
      'name must not contain control, bidirectional or invisible characters',
    ]);
  });

  it('refuses what is empty once trimmed, too long, or not a string', () => {
    expect(check('   ').errors).toEqual(['name must be longer than or equal to 1 characters']);
    expect(check('x'.repeat(21)).errors).toHaveLength(1);
    expect(check(7).errors).toContain('name must be a string');
  });
});

describe('displayText', () => {
  it('leaves plain text alone and marks each unsafe character with U+FFFD', () => {
    expect(displayText('Zoë Brontë, مهرداد\u200Cی')).toBe('Zoë Brontë, مهرداد\u200Cی');
    expect(displayText('Bob\u202Eevil\u202C')).toBe('Bob\uFFFDevil\uFFFD');
    expect(displayText('Pro\u200Btobank Fraud Team')).toBe('Pro\uFFFDtobank Fraud Team');
    expect(displayText('Dinner\nCall 0800 now')).toBe('Dinner\uFFFDCall 0800 now');
  });
});
