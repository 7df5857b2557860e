import { isUUID } from 'class-validator';
import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { AppError } from '../errors/app-error';

/**
 * Keyset pagination over (created_at, id): an opaque cursor, stable under inserts. The timestamp columns
 * paged this way have millisecond precision (timestamptz(3)), exactly what a JS Date and the cursor carry,
 * so no row is skipped at a page boundary.
 */
export interface Position {
  created_at: Date;
  id: string;
}

export function encodeCursor(p: Position): string {
  return Buffer.from(JSON.stringify([p.created_at.toISOString(), p.id])).toString('base64url');
}

export function decodeCursor(cursor: string): Position {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(parsed) || parsed.length !== 2) throw new Error('bad cursor');
    const [at, id] = parsed as unknown[];
    // Exactly what encodeCursor writes: Date also reads other forms, and rolls 2026-02-30 on to March.
    const created_at = new Date(typeof at === 'string' ? at : NaN);
    if (Number.isNaN(created_at.getTime()) || created_at.toISOString() !== at) throw new Error('bad cursor');
    // A forged date beyond what Postgres stores (before 4713 BC) would fail the query: only the years a
    // row of ours can have.
    const year = created_at.getUTCFullYear();
    if (year < 1970 || year > 9999 || typeof id !== 'string' || !isUUID(id)) throw new Error('bad cursor');
    return { created_at, id };
  } catch {
    throw AppError.badRequest('validation_failed', 'Invalid request: cursor', [
      { field: 'cursor', message: 'cursor is not a cursor this API issued' },
    ]);
  }
}

export interface KeysetOptions<T> {
  /** Query alias, and the timestamp and id columns that order the pages (millisecond precision). */
  alias: string;
  at: string;
  id: string;
  order: 'ASC' | 'DESC';
  cursor?: string;
  limit: number;
  position: (row: T) => Position;
}

/** Runs `qb` one page at a time after `cursor`: `{ data, next_cursor }`, next_cursor null on the last page. */
export async function keysetPage<T extends ObjectLiteral, V>(
  qb: SelectQueryBuilder<T>,
  o: KeysetOptions<T>,
  view: (row: T) => V,
): Promise<{ data: V[]; next_cursor: string | null }> {
  const [at, id] = [`${o.alias}.${o.at}`, `${o.alias}.${o.id}`];
  if (o.cursor) {
    const after = decodeCursor(o.cursor);
    qb.andWhere(`(${at}, ${id}) ${o.order === 'DESC' ? '<' : '>'} (:cursorAt, :cursorId)`, {
      cursorAt: after.created_at,
      cursorId: after.id,
    });
  }
  const rows = await qb
    .orderBy(at, o.order)
    .addOrderBy(id, o.order)
    .take(o.limit + 1)
    .getMany();
  return pageOf(rows, o.limit, view, (last) => encodeCursor(o.position(last)));
}

/**
 * A page from `limit + 1` rows read (the one extra says whether another page follows): `{ data,
 * next_cursor }`, next_cursor made from the page's last row, null on the last page.
 */
export function pageOf<R, V>(
  rows: R[],
  limit: number,
  view: (row: R) => V,
  cursorOf: (last: R) => string,
): { data: V[]; next_cursor: string | null } {
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  return { data: page.map(view), next_cursor: more ? cursorOf(page[page.length - 1]) : null };
}

/**
 * A page of the rows `keep` lets a reader see: `read(after, n)` reads up to n rows in page order after a
 * position (null: from the start), and batches are read until `limit + 1` are kept or none are left. The
 * cursor is the last kept row's position, so neither an empty page nor a cursor points at a row left
 * out (a page filtered after reading told both: a colleague's failed payment by its cursor). `shown` is
 * given the page's rows before they are shown (a staff read files them: fileListRead), and only those:
 * not the rows read past the page.
 */
export async function pageOfKept<R, V>(
  o: {
    cursor?: string;
    limit: number;
    read: (after: Position | null, n: number) => Promise<R[]>;
    keep: (rows: R[]) => Promise<R[]>;
    position: (row: R) => Position;
    shown?: (page: R[]) => Promise<void>;
  },
  view: (row: R) => V,
): Promise<{ data: V[]; next_cursor: string | null }> {
  const kept: R[] = [];
  // Batches of at least KEPT_BATCH rows: a reader whose page is behind many rows left out reads them in
  // a few queries, not one per page's worth.
  const size = Math.max(o.limit + 1, KEPT_BATCH);
  let after = o.cursor ? decodeCursor(o.cursor) : null;
  for (;;) {
    const batch = await o.read(after, size);
    kept.push(...(await o.keep(batch)));
    if (kept.length > o.limit || batch.length < size) break;
    const next = o.position(batch[batch.length - 1]);
    // A position that does not move on would read the same rows for ever.
    if (!(next.created_at instanceof Date) || (after && next.id === after.id)) {
      throw new Error('pageOfKept: a batch did not move the position on');
    }
    after = next;
  }
  await o.shown?.(kept.slice(0, o.limit));
  return pageOf(kept, o.limit, view, (last) => encodeCursor(o.position(last)));
}

const KEPT_BATCH = 100;
