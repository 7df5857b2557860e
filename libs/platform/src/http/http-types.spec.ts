import { prefersCsv } from './http-types';

describe('prefersCsv', () => {
  it('answers CSV only when text/csv outranks JSON', () => {
    expect(prefersCsv('text/csv')).toBe(true);
    expect(prefersCsv('text/csv, application/json;q=0.9')).toBe(true);
    expect(prefersCsv('text/csv;q=0.5, application/json;q=0.4')).toBe(true);
    expect(prefersCsv('text/csv;q=0.4, application/json;q=0.5')).toBe(false);
    expect(prefersCsv('application/json, text/csv')).toBe(false);
  });

  it('defaults to JSON', () => {
    expect(prefersCsv(undefined)).toBe(false);
    expect(prefersCsv('*/*')).toBe(false);
    expect(prefersCsv('text/html')).toBe(false);
    expect(prefersCsv('text/csv;q=0')).toBe(false);
  });
});
