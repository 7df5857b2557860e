import { AppError } from '../errors/app-error';

/**
 * Caps on the shape of what a client sends, checked in one linear walk right after parsing and before
 * anything else looks at it. The validation pipe's cost grows with the number of values in a body, not
 * its size in bytes: class-transformer copies every object and array element (an empty object `{}` is a
 * value too, and costs as much as a key), and de-duplicates an object's keys with `indexOf` in a loop,
 * so its cost grows with the square of the key count. So every value counts towards one total: 80,000
 * keys (an 869 KB body) cost seconds of CPU on the event loop, 330,000 empty objects in arrays (under
 * 1 MB, one key) 0.4 s. At 256 values the costliest arrangement measured (256 unknown keys) takes the
 * pipe about 3 ms, 1000 would take 9; no real route comes near: the largest real body, the notification
 * preferences PUT, holds 20 values (4 categories of 4 channels), 2 levels deep, and no route takes an
 * array. A long array is counted before it is walked, so each element costs nothing past the cap.
 */
export interface ShapeLimits {
  /** Values in all, at every depth: each object key and each array element, containers included. */
  values: number;
  /** Levels of nesting: `{}` and `[]` are 1, `{"a":{}}` is 2. */
  depth: number;
}

export const JSON_BODY_LIMITS: ShapeLimits = { values: 256, depth: 10 };
/** A query string is flat: a parameter given twice is an array (depth 2). */
export const QUERY_LIMITS: ShapeLimits = { values: 100, depth: 2 };

/**
 * Keys no DTO declares and class-transformer drops silently instead of leaving to the whitelist (it skips
 * a key whose name is a function on the target, and `__proto__` sets the prototype): `constructor`,
 * `toString`, `hasOwnProperty`, `__proto__`, and `prototype`... They are refused like any other unknown
 * property.
 */
const RESERVED_KEYS = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);

export type ShapeProblem =
  | { kind: 'values' | 'depth'; path: string[] }
  | { kind: 'reserved_key' | 'nul' | 'surrogate' | 'fraction' | 'duplicate_key'; path: string[] };

/**
 * A UTF-16 surrogate without its pair: JSON lets a client write one (`"\ud800"`), but it is no character.
 * PostgreSQL refuses it in jsonb (a 500 where a reason or an address is stored as JSON), the driver turns
 * it into U+FFFD in text (a name or reference silently changed), and validators that encode URIs throw.
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

interface WalkState {
  /** Values seen so far, in all. */
  values: number;
  limits: ShapeLimits;
}

/**
 * The first problem with `value`, or undefined: a cap exceeded, a reserved key, or U+0000 (PostgreSQL
 * cannot store it) or an unpaired surrogate in a key or a string. Stops at the first problem, so the work is bounded by the caps
 * (and the body by BODY_LIMIT). Recursion is at most `limits.depth` deep.
 */
export function inspectShape(value: unknown, limits: ShapeLimits): ShapeProblem | undefined {
  return walk(value, 1, { values: 0, limits });
}

/** What is wrong with a string (or key) as text, if anything: what PostgreSQL cannot store or jsonb carry. */
export function textProblem(text: string): 'nul' | 'surrogate' | undefined {
  if (text.includes('\u0000')) return 'nul';
  return LONE_SURROGATE.test(text) ? 'surrogate' : undefined;
}

/** A key as an error may name it: without the characters that made it unfit. */
const printable = (key: string) => key.replaceAll('\u0000', '').replace(LONE_SURROGATES, '\uFFFD');

function walk(value: unknown, depth: number, state: WalkState): ShapeProblem | undefined {
  if (typeof value === 'string') {
    const kind = textProblem(value);
    return kind ? { kind, path: [] } : undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  if (depth > state.limits.depth) return { kind: 'depth', path: [] };
  if (Array.isArray(value)) {
    // Counted before anything is walked, so a long array stops here at once.
    if ((state.values += value.length) > state.limits.values) return { kind: 'values', path: [] };
    for (let i = 0; i < value.length; i++) {
      const problem = walk(value[i], depth + 1, state);
      if (problem) return within(String(i), problem);
    }
    return undefined;
  }
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    if (++state.values > state.limits.values) return { kind: 'values', path: [] };
    if (RESERVED_KEYS.has(key)) return { kind: 'reserved_key', path: [key] };
    const keyProblem = textProblem(key);
    if (keyProblem) return { kind: keyProblem, path: [printable(key)] };
    const problem = walk((value as Record<string, unknown>)[key], depth + 1, state);
    if (problem) return within(key, problem);
  }
  return undefined;
}

/** The problem, placed inside `segment` (the value count is a total: it is nowhere in particular). */
function within(segment: string, problem: ShapeProblem): ShapeProblem {
  if (problem.kind !== 'values') problem.path.unshift(segment);
  return problem;
}

/** Longest field name (or path) an error repeats back: a key may be as long as the whole body. */
const MAX_FIELD_LENGTH = 64;

/** A client-chosen name, cut to a length an error message can carry. */
export function clip(text: string, max = MAX_FIELD_LENGTH): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A path as errors name fields: `address.line_1`, `lines.0.amount`. */
export function fieldPath(path: string[]): string {
  return clip(path.join('.'));
}

const CAP_TEXT: Record<'values' | 'depth', (l: ShapeLimits) => string> = {
  values: (l) => `more than ${l.values} values in all (keys and array elements)`,
  depth: (l) => `nested more than ${l.depth} levels deep`,
};

/**
 * The 400 for a problem found in the body or the query string: `body_too_complex` or
 * `query_too_complex` saying which cap (and where, when it is one place), or `validation_failed`
 * naming the field, as the validation pipe would.
 */
export function shapeError(problem: ShapeProblem, limits: ShapeLimits, where: 'body' | 'query'): AppError {
  const field = problem.path.length ? fieldPath(problem.path) : undefined;
  if (problem.kind !== 'values' && problem.kind !== 'depth') {
    const name = field ?? where;
    const message = {
      nul: `${name} must not contain NUL characters`,
      surrogate: `${name} must be well-formed Unicode (it holds an unpaired surrogate)`,
      reserved_key: `property ${name} should not exist`,
      fraction: `${name} is a number written with a fraction or an exponent: every number this API takes is whole (money in minor units)`,
      duplicate_key: `property ${name} is given more than once`,
    }[problem.kind];
    return AppError.badRequest('validation_failed', `Invalid request: ${name}`, [{ field: name, message }]);
  }
  const what = where === 'body' ? 'Request body' : 'Query string';
  const cap = CAP_TEXT[problem.kind](limits);
  return AppError.badRequest(
    `${where}_too_complex`,
    `${what} too complex: ${cap}${field ? ` (at ${field})` : ''}`,
    [
      {
        // A total is nowhere in particular: it is the body's (or the query string's), as a body that
        // changes nothing is named `body` (helper-131).
        field: field ?? where,
        message: `at most ${limits.values} values in all (object keys and array elements, at any depth) and ${limits.depth} levels of nesting`,
      },
    ],
  );
}
