import { AppError } from '../errors/app-error';
import { decodeCursor, encodeCursor } from './cursor';

const ID = '5b0c2b8e-2f64-4a8f-9d1e-1c8b7d6e5a41';
const forged = (at: string, id = ID) => Buffer.from(JSON.stringify([at, id])).toString('base64url');

describe('cursor', () => {
  it('gives back the position it encoded, to the millisecond', () => {
    const at = new Date('2026-11-21T09:30:00.123Z');
    expect(decodeCursor(encodeCursor({ created_at: at, id: ID }))).toEqual({ created_at: at, id: ID });
  });

  it.each([
    ['a year before anything Postgres stores', forged('-010000-01-01T00:00:00.000Z')],
    ['a year beyond 9999', forged('+020000-01-01T00:00:00.000Z')],
    ['no date', forged('yesterday')],
    ['no uuid', forged('2026-11-21T09:30:00.000Z', 'x')],
    ['not JSON', 'bm90IGpzb24'],
  ])('refuses %s as a 400 naming cursor', (_what, cursor) => {
    let caught: unknown;
    try {
      decodeCursor(cursor);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AppError);
    expect(caught).toMatchObject({ status: 400, details: [{ field: 'cursor' }] });
  });
});
