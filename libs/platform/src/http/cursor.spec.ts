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
    ['an impossible date (30 February)', forged('2026-02-30T00:00:00.000Z')],
    ['a date written in another form', forged('2026-11-21T09:30:00Z')],
    ['a date that is not a string', Buffer.from(JSON.stringify([1764000000000, ID])).toString('base64url')],
    [
      'an extra element',
      Buffer.from(JSON.stringify(['2026-11-21T09:30:00.000Z', ID, 1])).toString('base64url'),
    ],
    [
      'an object, not a pair',
      Buffer.from(JSON.stringify({ 0: '2026-11-21T09:30:00.000Z', 1: ID })).toString('base64url'),
    ],
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
  // Rows newest first, one a second; rows 1 to 150 are not the reader's to see.
  const rows = Array.from({ length: 250 }, (_, i) => ({
    id: `5b0c2b8e-2f64-4a8f-9d1e-${String(999_999_999_999 - i).padStart(12, '0')}`,
    at: new Date(Date.UTC(2026, 11, 4, 12) - i * 1000),
    hidden: i >= 1 && i <= 150,
  }));
  type Row = (typeof rows)[number];
  const reads: number[] = [];
  const read = async (after: Position | null, n: number) => {
    reads.push(n);
    const from = after ? rows.findIndex((r) => r.id === after.id) + 1 : 0;
    return rows.slice(from, from + n);
  };
  const visible = async (r: Row[]) => r.filter((x) => !x.hidden);
  const page = (
    cursor: string | undefined,
    limit: number,
    keep = visible,
    position = (r: Row) => ({ created_at: r.at, id: r.id }),
  ) => pageOfKept({ cursor, limit, read, keep, position }, (r) => r.id);

  beforeEach(() => (reads.length = 0));

  it('reads on in batches of 100 until a page is full, and its cursor is the last row shown', async () => {
    const first = await page(undefined, 2);
    expect(first.data).toEqual([rows[0].id, rows[151].id]);
    expect(decodeCursor(first.next_cursor!).id).toBe(rows[151].id);
    expect(reads).toEqual([100, 100]);
    const shown = [...first.data];
    const cursors = [decodeCursor(first.next_cursor!).id];
    for (let c: string | null = first.next_cursor; c;) {
      const next = await page(c, 40);
      shown.push(...next.data);
      c = next.next_cursor;
      if (c) cursors.push(decodeCursor(c).id);
    }
    expect(shown).toEqual(rows.filter((r) => !r.hidden).map((r) => r.id));
    expect(cursors.filter((id) => rows.find((r) => r.id === id)!.hidden)).toEqual([]);
  });

  it('answers an empty last page with no cursor when only hidden rows are left', async () => {
    const after = encodeCursor({ created_at: rows[0].at, id: rows[0].id });
    const onlyTheFirst = async (r: Row[]) => r.filter((x) => x.id === rows[0].id);
    expect(await page(after, 3, onlyTheFirst)).toEqual({ data: [], next_cursor: null });
    expect(reads).toEqual([100, 100, 100]);
  });

  it('reads once when nothing is left out, and stops on a position that does not move on', async () => {
    expect((await page(undefined, 4, async (r) => r)).data).toHaveLength(4);
    expect(reads).toEqual([100]);
    const stuck = () => ({ created_at: rows[0].at, id: rows[0].id });
    await expect(page(undefined, 1, async () => [], stuck)).rejects.toThrow('did not move the position on');
  });

  it("hands `shown` the page's rows before answering, not those read past it, and answers nothing if it throws", async () => {
    const given: string[][] = [];
    const shown = async (p: Row[]) => void given.push(p.map((r) => r.id));
    const position = (r: Row) => ({ created_at: r.at, id: r.id });
    const answer = await pageOfKept({ limit: 2, read, keep: visible, position, shown }, (r) => r.id);
    expect(given).toEqual([answer.data]);
    expect(answer.data).toEqual([rows[0].id, rows[151].id]);
    const refused = new Error('refused');
    await expect(
      pageOfKept(
        { limit: 2, read, keep: visible, position, shown: () => Promise.reject(refused) },
        (r) => r.id,
      ),
    ).rejects.toBe(refused);
  });
});
