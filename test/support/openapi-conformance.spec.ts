import { conformanceProblems, type OpenApiDocument, type Recorded } from './openapi-conformance';

const json = { 'application/json': { schema: { $ref: '#/components/schemas/Card' } } };
const doc: OpenApiDocument = {
  paths: {
    '/cards/{id}': {
      get: {
        responses: {
          '200': { content: json },
          '404': {},
          '409': {
            description: 'card_cancelled, or card_blocked',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
        },
      },
    },
    '/cards/mine': { get: { responses: { '200': { content: json } } } },
    '/cards/{id}/statement': {
      get: { responses: { '200': { content: { 'text/csv': { schema: { type: 'string' } } } } } },
    },
    '/metrics': { get: { responses: { '200': {} } } },
  },
  components: {
    schemas: {
      Card: {
        type: 'object',
        required: ['id', 'currency'],
        properties: {
          id: { type: 'string', format: 'uuid' },
          currency: { type: 'string', enum: ['GBP', 'EUR'] },
          closed_at: { type: 'string', format: 'date-time', nullable: true, example: '2026-12-07T00:00:00Z' },
        },
      },
    },
  },
};
const ORIGIN = 'http://127.0.0.1:3000';
const ID = '5b0c2b8e-2f64-4a8f-9d1e-1c8b7d6e5a41';
const card = { id: ID, currency: 'GBP', closed_at: null };
const answer = (over: Partial<Recorded>): Recorded => ({
  test: 'a test',
  method: 'GET',
  url: `${ORIGIN}/cards/${ID}`,
  status: 200,
  contentType: 'application/json; charset=utf-8',
  body: card,
  length: JSON.stringify(card).length,
  ...over,
});
const check = (...answers: Recorded[]) => conformanceProblems(doc, answers, ORIGIN);

describe('conformanceProblems', () => {
  it('finds nothing in answers the document describes, a nullable field null or set', () => {
    const result = check(
      answer({}),
      answer({ body: { ...card, closed_at: '2026-12-07T10:00:00.000Z' } }),
      answer({ status: 404, contentType: '', body: undefined, length: 0 }),
      answer({ url: `${ORIGIN}/cards/mine` }),
      answer({ url: `${ORIGIN}/cards/${ID}/statement`, contentType: 'text/csv', body: undefined, length: 9 }),
    );
    expect(result).toEqual({ problems: [], checked: 5, unexercised: ['get /metrics'] });
  });

  it('names a value outside an enum, a missing required field, a wrong type or format and an undocumented field, once each with a count', () => {
    const { problems } = check(
      answer({ body: { ...card, currency: 'XYZ' } }),
      answer({ body: { ...card, currency: 'CHF' } }),
      answer({ body: { currency: 'GBP' } }),
      answer({ body: { ...card, id: 'not-a-uuid', closed_at: 7 } }),
      answer({ body: { ...card, pan: '5355221234567897' } }),
    );
    expect(problems).toEqual([
      'GET /cards/{id} 200: /currency must be equal to one of the allowed values: ["GBP","EUR"] (2×, first in "a test")',
      'GET /cards/{id} 200: (the body) must have required property \'id\' (1×, first in "a test")',
      'GET /cards/{id} 200: /id must match format "uuid" (1×, first in "a test")',
      'GET /cards/{id} 200: /closed_at must be string (1×, first in "a test")',
      'GET /cards/{id} 200: /pan is not documented (1×, first in "a test")',
    ]);
  });

  it('names an undocumented status, another content type, a body where none is documented and none where one is', () => {
    const { problems } = check(
      answer({ status: 422 }),
      answer({ contentType: 'text/html' }),
      answer({ status: 404, body: { code: 'not_found' } }),
      answer({ body: undefined, length: 0 }),
    );
    expect(problems.map((p) => p.replace(/ \(1×.*$/, ''))).toEqual([
      'GET /cards/{id} 422: status not documented',
      'GET /cards/{id} 200: text/html where application/json is documented',
      'GET /cards/{id} 404: a application/json body where none is documented',
      'GET /cards/{id} 200: no body where application/json is documented',
    ]);
  });

  it('leaves out other origins, /metrics, paths and methods the document does not have, and lists what was not called', () => {
    const result = check(
      answer({ url: `http://127.0.0.1:3004/cards/${ID}`, body: {} }),
      answer({ url: `${ORIGIN}/metrics`, contentType: 'text/plain', body: undefined }),
      answer({ url: `${ORIGIN}/no/such/route`, status: 404 }),
      answer({ method: 'DELETE', status: 405 }),
    );
    expect(result).toEqual({
      problems: [],
      checked: 0,
      unexercised: ['get /cards/{id}', 'get /cards/mine', 'get /cards/{id}/statement', 'get /metrics'],
    });
  });

  it("names an error code its status's description does not, and not one it does", () => {
    const error = (code: string) => answer({ status: 409, body: { code }, length: 20 });
    expect(
      check(error('card_blocked'), error('card_cancelled'), error('card'), error('already_frozen')).problems,
    ).toEqual([
      'GET /cards/{id} 409: code card is not in its description (1×, first in "a test")',
      'GET /cards/{id} 409: code already_frozen is not in its description (1×, first in "a test")',
    ]);
  });
});
