import { inspectLexical } from './json-lexical';
import { JSON_BODY_LIMITS, shapeError } from './json-limits';

describe('inspectLexical', () => {
  it('passes whole numbers, strings holding anything, literals and nesting', () => {
    for (const text of [
      '{}',
      '{"amount":100,"currency":"GBP","reference":"1.5e3 \\" , : { [ -2.5"}',
      '\uFEFF{"a":-0,"b":[1,2,{"c":true,"d":null,"e":false}],"f":{"g":{"h":9007199254740993}}}',
      '{"a":{"x":1},"b":{"x":2}}',
      '{"a":[{"x":1},{"x":2}]}',
      ' {\n\t"a" : 1 ,\r\n "b" : [ 1 , 2 ] } ',
      '{"\\u0061":1,"b":2}',
    ]) {
      expect({ text, problem: inspectLexical(text) }).toEqual({ text, problem: undefined });
    }
  });

  it('finds a number written with a fraction or an exponent, where it is', () => {
    expect(inspectLexical('{"amount":0.99999999999999999}')).toEqual({ kind: 'fraction', path: ['amount'] });
    expect(inspectLexical('{"amount":100.0}')).toEqual({ kind: 'fraction', path: ['amount'] });
    expect(inspectLexical('{"a":1,"limits":{"daily":2E4}}')).toEqual({
      kind: 'fraction',
      path: ['limits', 'daily'],
    });
    expect(inspectLexical('{"x":[1,2,-1e-7]}')).toEqual({ kind: 'fraction', path: ['x', '2'] });
    expect(inspectLexical('{"x":[{"a":1},{"b":3.5}]}')).toEqual({ kind: 'fraction', path: ['x', '1', 'b'] });
  });

  it('finds a key given twice in one object, however it is escaped', () => {
    expect(inspectLexical('{"amount":1,"amount":2}')).toEqual({ kind: 'duplicate_key', path: ['amount'] });
    expect(inspectLexical('{"amount":1,"\\u0061mount":2}')).toEqual({
      kind: 'duplicate_key',
      path: ['amount'],
    });
    expect(inspectLexical('{"a":{"b":1,"c":{},"b":2}}')).toEqual({ kind: 'duplicate_key', path: ['a', 'b'] });
  });

  it('is answered as a 400 naming the field', () => {
    const fraction = shapeError(inspectLexical('{"amount":1.5}')!, JSON_BODY_LIMITS, 'body').toBody();
    expect([fraction.status, fraction.code, fraction.details]).toEqual([
      400,
      'validation_failed',
      [
        {
          field: 'amount',
          message:
            'amount is a number written with a fraction or an exponent: every number this API takes is whole (money in minor units)',
        },
      ],
    ]);
    const twice = shapeError(inspectLexical('{"amount":1,"amount":2}')!, JSON_BODY_LIMITS, 'body').toBody();
    expect(twice.details).toEqual([{ field: 'amount', message: 'property amount is given more than once' }]);
  });
});
