import { AppError } from '../errors/app-error';
import { inspectShape, JSON_BODY_LIMITS, QUERY_LIMITS, shapeError, type ShapeLimits } from './json-limits';

const small: ShapeLimits = { values: 5, depth: 3 };
const nested = (levels: number): unknown => (levels === 1 ? {} : { a: nested(levels - 1) });

describe('inspectShape', () => {
  it('passes what every real route sends (the preferences PUT: 20 values, 2 levels)', () => {
    const channels = { in_app: true, email: false, sms: true, push: false };
    const body = { transactions: channels, security: channels, account: channels, marketing: channels };
    expect(inspectShape(body, JSON_BODY_LIMITS)).toBeUndefined();
    expect(inspectShape({ limit: '20', cursor: 'abc', tags: ['a', 'b'] }, QUERY_LIMITS)).toBeUndefined();
  });

  it('counts keys at every depth, in all', () => {
    expect(inspectShape({ a: 1, b: 2, c: { d: 3, e: 4 } }, small)).toBeUndefined();
    expect(inspectShape({ a: 1, b: 2, c: { d: 3, e: 4, f: 5 } }, small)).toEqual({
      kind: 'values',
      path: [],
    });
  });

  it('counts array elements as values, empty containers included, towards the same total', () => {
    // Each element counts whatever it holds: [{}, [], {}] is three values, like three keys.
    expect(inspectShape({ a: [{}, [], {}, 1] }, small)).toBeUndefined();
    expect(inspectShape({ a: [{}, [], {}, 1, null] }, small)).toEqual({ kind: 'values', path: [] });
    expect(inspectShape([[{}], [{}], []], small)).toBeUndefined();
    expect(inspectShape([[{}], [{}], [{}]], small)).toEqual({ kind: 'values', path: [] });
    expect(inspectShape({ a: [1, 2], b: { c: 3, d: [4] } }, small)).toEqual({ kind: 'values', path: [] });
    // The reviewer's body: one key, depth 3, 330,000 empty objects (under 1 MB; 0.4 s of validation).
    const wide = JSON.parse(JSON.stringify({ a: Array(1000).fill(Array(330).fill({})) })) as unknown;
    expect(inspectShape(wide, JSON_BODY_LIMITS)).toEqual({ kind: 'values', path: [] });
    // JSON_BODY_LIMITS.values of them in all pass; one more does not, in any arrangement.
    const n = JSON_BODY_LIMITS.values;
    expect(inspectShape({ a: Array(n - 1).fill({}) }, JSON_BODY_LIMITS)).toBeUndefined();
    expect(inspectShape({ a: Array(n).fill({}) }, JSON_BODY_LIMITS)).toEqual({ kind: 'values', path: [] });
    expect(inspectShape({ a: Array(n / 2).fill([]), b: Array(n / 2 - 2).fill([]) }, JSON_BODY_LIMITS)).toBe(
      undefined,
    );
    expect(inspectShape({ a: Array(n / 2).fill([0]), b: [] }, JSON_BODY_LIMITS)).toEqual({
      kind: 'values',
      path: [],
    });
  });

  it('caps depth, naming where, and never recurses past the cap', () => {
    expect(inspectShape(nested(3), small)).toBeUndefined();
    expect(inspectShape(nested(4), small)).toEqual({ kind: 'depth', path: ['a', 'a', 'a'] });
    // 100,000 levels: a recursive walk without the cap would overflow the stack.
    const deep = JSON.parse('['.repeat(100000) + ']'.repeat(100000)) as unknown;
    expect(inspectShape(deep, small)).toEqual({ kind: 'depth', path: ['0', '0', '0'] });
  });

  it('refuses a long array before walking its elements', () => {
    expect(inspectShape({ x: [1, 2, 3, 4] }, small)).toBeUndefined();
    const long = { x: new Array<unknown>(1e6).fill('\u0000') };
    expect(inspectShape(long, small)).toEqual({ kind: 'values', path: [] });
  });

  it('refuses the keys class-transformer would drop silently, at any depth', () => {
    for (const key of ['constructor', 'toString', 'hasOwnProperty', 'valueOf', '__proto__', 'prototype']) {
      const body = JSON.parse(`{"ok":1,"inner":{"${key}":1}}`) as unknown;
      expect(inspectShape(body, JSON_BODY_LIMITS)).toEqual({ kind: 'reserved_key', path: ['inner', key] });
    }
    // As the query-string parser builds it: an object with no prototype, so `__proto__` is a plain key.
    const query = Object.create(null) as Record<string, string>;
    query['__proto__'] = 'x';
    expect(inspectShape(query, QUERY_LIMITS)).toEqual({ kind: 'reserved_key', path: ['__proto__'] });
    expect(inspectShape({ proto: 2, prototypes: 3 }, JSON_BODY_LIMITS)).toBeUndefined();
  });

  it('finds U+0000 in strings and keys', () => {
    expect(inspectShape({ a: [{ b: 'x\u0000' }] }, JSON_BODY_LIMITS)).toEqual({
      kind: 'nul',
      path: ['a', '0', 'b'],
    });
    expect(inspectShape({ ['k\u0000ey']: 1 }, JSON_BODY_LIMITS)).toEqual({ kind: 'nul', path: ['key'] });
    expect(inspectShape('\u0000', JSON_BODY_LIMITS)).toEqual({ kind: 'nul', path: [] });
  });

  it('finds an unpaired surrogate in strings and keys, and lets pairs (emoji) through', () => {
    for (const lone of ['\ud800', 'a\udbffb', '\udc00', 'x\udfff', '\ude00\ud83d']) {
      const body = JSON.parse(JSON.stringify({ a: { reason: lone } })) as unknown;
      expect(inspectShape(body, JSON_BODY_LIMITS)).toEqual({ kind: 'surrogate', path: ['a', 'reason'] });
    }
    // As a client writes it: the JSON escape, which JSON.parse turns into the lone code unit.
    expect(inspectShape(JSON.parse('{"email":"a\\ud800@example.com"}'), JSON_BODY_LIMITS)).toEqual({
      kind: 'surrogate',
      path: ['email'],
    });
    expect(inspectShape({ ['k\ud800']: 1 }, QUERY_LIMITS)).toEqual({ kind: 'surrogate', path: ['k\ufffd'] });
    expect(inspectShape({ name: 'Zoë \ud83d\ude00', tags: ['\u{1F600}'] }, JSON_BODY_LIMITS)).toBeUndefined();
  });
});

describe('shapeError', () => {
  const bodyOf = (e: AppError) => e.toBody();

  it('says which cap a body or query string went past, and where when it is one place', () => {
    expect(bodyOf(shapeError({ kind: 'values', path: [] }, JSON_BODY_LIMITS, 'body'))).toEqual({
      status: 400,
      code: 'body_too_complex',
      message: 'Request body too complex: more than 256 values in all (keys and array elements)',
      details: [
        {
          field: 'body',
          message:
            'at most 256 values in all (object keys and array elements, at any depth) and 10 levels of nesting',
        },
      ],
    });
    expect(bodyOf(shapeError({ kind: 'values', path: [] }, QUERY_LIMITS, 'query'))).toMatchObject({
      code: 'query_too_complex',
      message: 'Query string too complex: more than 100 values in all (keys and array elements)',
      details: [{ field: 'query' }],
    });
    expect(bodyOf(shapeError({ kind: 'depth', path: ['tags'] }, QUERY_LIMITS, 'query'))).toMatchObject({
      code: 'query_too_complex',
      message: 'Query string too complex: nested more than 2 levels deep (at tags)',
      details: [{ field: 'tags' }],
    });
    expect(bodyOf(shapeError({ kind: 'depth', path: ['a'] }, JSON_BODY_LIMITS, 'body')).message).toBe(
      'Request body too complex: nested more than 10 levels deep (at a)',
    );
  });

  it('names a reserved key or a NUL like validation does, clipping long names', () => {
    expect(
      bodyOf(shapeError({ kind: 'reserved_key', path: ['constructor'] }, QUERY_LIMITS, 'query')),
    ).toEqual({
      status: 400,
      code: 'validation_failed',
      message: 'Invalid request: constructor',
      details: [{ field: 'constructor', message: 'property constructor should not exist' }],
    });
    expect(
      bodyOf(shapeError({ kind: 'surrogate', path: ['address', 'city'] }, JSON_BODY_LIMITS, 'body')),
    ).toEqual({
      status: 400,
      code: 'validation_failed',
      message: 'Invalid request: address.city',
      details: [
        {
          field: 'address.city',
          message: 'address.city must be well-formed Unicode (it holds an unpaired surrogate)',
        },
      ],
    });
    const long = bodyOf(shapeError({ kind: 'nul', path: ['x'.repeat(100000)] }, JSON_BODY_LIMITS, 'body'));
    expect(long.details[0].field).toHaveLength(64);
    expect(JSON.stringify(long).length).toBeLessThan(400);
  });
});
