import { AppError } from '../errors/app-error';
import { inspectShape, JSON_BODY_LIMITS, QUERY_LIMITS, shapeError, type ShapeLimits } from './json-limits';

const small: ShapeLimits = { keys: 5, depth: 3, arrayLength: 4 };
const nested = (levels: number): unknown => (levels === 1 ? {} : { a: nested(levels - 1) });

describe('inspectShape', () => {
  it('passes what every real route sends (the preferences PUT: 20 keys, 2 levels)', () => {
    const channels = { in_app: true, email: false, sms: true, push: false };
    const body = { transactions: channels, security: channels, account: channels, marketing: channels };
    expect(inspectShape(body, JSON_BODY_LIMITS)).toBeUndefined();
    expect(inspectShape({ limit: '20', cursor: 'abc', tags: ['a', 'b'] }, QUERY_LIMITS)).toBeUndefined();
  });

  it('counts keys at every depth, in all', () => {
    expect(inspectShape({ a: 1, b: 2, c: { d: 3, e: 4 } }, small)).toBeUndefined();
    expect(inspectShape({ a: 1, b: 2, c: { d: 3, e: 4, f: 5 } }, small)).toEqual({ kind: 'keys', path: [] });
    expect(
      inspectShape(
        [
          { a: 1, b: 2, c: 3 },
          { d: 4, e: 5, f: 6 },
        ],
        small,
      ),
    ).toEqual({
      kind: 'keys',
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

  it('caps the length of any one array', () => {
    expect(inspectShape({ x: [1, 2, 3, 4] }, small)).toBeUndefined();
    expect(inspectShape({ x: [[1], [1, 2, 3, 4, 5]] }, small)).toEqual({
      kind: 'array_length',
      path: ['x', '1'],
    });
  });

  it('refuses the keys class-transformer would drop silently, at any depth', () => {
    for (const key of ['constructor', 'toString', 'hasOwnProperty', 'valueOf', '__proto__']) {
      const body = JSON.parse(`{"ok":1,"inner":{"${key}":1}}`) as unknown;
      expect(inspectShape(body, JSON_BODY_LIMITS)).toEqual({ kind: 'reserved_key', path: ['inner', key] });
    }
    // As the query-string parser builds it: an object with no prototype, so `__proto__` is a plain key.
    const query = Object.create(null) as Record<string, string>;
    query['__proto__'] = 'x';
    expect(inspectShape(query, QUERY_LIMITS)).toEqual({ kind: 'reserved_key', path: ['__proto__'] });
    expect(inspectShape({ prototype: 1, proto: 2 }, JSON_BODY_LIMITS)).toBeUndefined();
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
    expect(bodyOf(shapeError({ kind: 'keys', path: [] }, JSON_BODY_LIMITS, 'body'))).toEqual({
      status: 400,
      code: 'body_too_complex',
      message: 'Request body too complex: more than 1000 keys in all',
      details: [{ message: 'at most 1000 keys in all, 10 levels of nesting and 1000 elements per array' }],
    });
    expect(bodyOf(shapeError({ kind: 'array_length', path: ['tags'] }, QUERY_LIMITS, 'query'))).toMatchObject(
      {
        code: 'query_too_complex',
        message: 'Query string too complex: an array of more than 100 elements (at tags)',
        details: [{ field: 'tags' }],
      },
    );
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
