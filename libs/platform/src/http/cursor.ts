import { isUUID } from 'class-validator';
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
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    const created_at = new Date(at);
    if (Number.isNaN(created_at.getTime()) || typeof id !== 'string' || !isUUID(id))
      throw new Error('bad cursor');
    return { created_at, id };
  } catch {
    throw AppError.badRequest('validation_failed', 'Invalid request: cursor', [
      { field: 'cursor', message: 'cursor is not a cursor this API issued' },
    ]);
  }
}

/** Of `limit + 1` rows fetched, the page and the cursor of the next one (null on the last page). */
export function page<T extends Position, V>(
  rows: T[],
  limit: number,
  view: (row: T) => V,
): { data: V[]; next_cursor: string | null } {
  const more = rows.length > limit;
  const slice = more ? rows.slice(0, limit) : rows;
  return { data: slice.map(view), next_cursor: more ? encodeCursor(slice[slice.length - 1]) : null };
}
