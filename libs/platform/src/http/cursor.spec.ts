import { AppError } from '../errors/app-error';
import { decodeCursor, encodeCursor, pageOfKept, type Position } from './cursor';

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

describe('pageOfKept', () => {
  // Rows newest first, one a minute; the odd ones are not the reader's to see.
  const rows = Array.from({ length: 9 }, (_, i) => ({
    id: `5b0c2b8e-2f64-4a8f-9d1e-1c8b7d6e5a${String(50 - i).padStart(2, '0')}`,
    at: new Date(Date.UTC(2026, 11, 4, 12, 59 - i)),
    hidden: i % 2 === 1,
  }));
  type Row = (typeof rows)[number];
  const reads: number[] = [];
  const read = async (after: Position | null, n: number) => {
    reads.push(n);
    const from = after ? rows.findIndex((r) => r.id === after.id) + 1 : 0;
    return rows.slice(from, from + n);
  };
  const page = (
    cursor: string | undefined,
    limit: number,
    keep = async (r: Row[]) => r.filter((x) => !x.hidden),
  ) =>
    pageOfKept({ cursor, limit, read, keep, position: (r) => ({ created_at: r.at, id: r.id }) }, (r) => r.id);

  beforeEach(() => (reads.length = 0));

  it('reads on until a page is full, and its cursor is the last row shown', async () => {
    const first = await page(undefined, 2);
    expect(first.data).toEqual([rows[0].id, rows[2].id]);
    expect(decodeCursor(first.next_cursor!).id).toBe(rows[2].id);
    expect(reads).toEqual([3, 3]);
    const rest: string[] = [];
    const cursors: string[] = [];
    for (let c: string | null = first.next_cursor; c;) {
      cursors.push(decodeCursor(c).id);
      const next = await page(c, 2);
      rest.push(...next.data);
      c = next.next_cursor;
    }
    expect(rest).toEqual([rows[4].id, rows[6].id, rows[8].id]);
    expect(cursors.every((id) => !rows.find((r) => r.id === id)!.hidden)).toBe(true);
  });

  it('answers an empty last page with no cursor when only hidden rows are left', async () => {
    const tail = await page(encodeCursor({ created_at: rows[6].at, id: rows[6].id }), 3, async (r) =>
      r.filter((x) => !x.hidden && x.id !== rows[8].id),
    );
    expect(tail).toEqual({ data: [], next_cursor: null });
  });

  it('reads once when nothing is left out', async () => {
    expect((await page(undefined, 4, async (r) => r)).data).toHaveLength(4);
    expect(reads).toEqual([5]);
  });
});
