import type { OpenAPIObject } from '@nestjs/swagger';
import { addCommonResponses } from './common-responses';

const doc = (paths: OpenAPIObject['paths']): OpenAPIObject => ({
  openapi: '3.0.0',
  info: { title: 't', version: '1' },
  paths,
});

describe('addCommonResponses', () => {
  it('adds what the platform answers on every route, and keeps what a controller documents', () => {
    const out = addCommonResponses(
      doc({
        '/payees/{id}': {
          get: {
            parameters: [{ in: 'path', name: 'id', required: true, schema: { type: 'string' } }],
            responses: { '200': { description: 'the payee' }, '404': { description: 'not_found: mine' } },
          },
        },
        '/transactions': {
          post: {
            parameters: [
              { in: 'header', name: 'Idempotency-Key', required: true, schema: { type: 'string' } },
            ],
            requestBody: { content: { 'application/json': { schema: { type: 'object' } } } },
            responses: {
              '201': { description: 'posted' },
              '401': { description: 'no token' },
              '429': { description: 'rate_limited' },
            },
          },
        },
      }),
    );
    const get = out.paths['/payees/{id}'].get!.responses as Record<
      string,
      { description: string; headers?: object }
    >;
    expect(Object.keys(get).sort()).toEqual([
      '200',
      '400',
      '404',
      '408',
      '413',
      '414',
      '417',
      '431',
      '500',
      '503',
      '504',
    ]);
    expect(get['404'].description).toBe('not_found: mine');
    expect(Object.keys(get['200'].headers!)).toEqual(['X-Request-Id']);
    const post = out.paths['/transactions'].post!.responses as Record<string, { headers?: object }>;
    expect(Object.keys(post).sort()).toEqual([
      '201',
      '400',
      '401',
      '408',
      '409',
      '413',
      '415',
      '417',
      '429',
      '431',
      '500',
      '503',
      '504',
    ]);
    expect(Object.keys(post['201'].headers!)).toEqual(['X-Request-Id', 'Idempotent-Replayed']);
    expect(Object.keys(post['401'].headers!)).toEqual(['X-Request-Id', 'WWW-Authenticate']);
    expect(Object.keys(post['429'].headers!)).toEqual(['X-Request-Id', 'Retry-After']);
    expect(post['413']).toMatchObject({
      content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorResponseDto' } } },
    });
  });

  it("fills a status a controller left without a description with the platform's, and a success with its reason phrase", () => {
    const out = addCommonResponses(
      doc({
        '/accounts/{id}': {
          get: {
            security: [{ bearer: [] }],
            parameters: [{ in: 'path', name: 'id', required: true, schema: { type: 'string' } }],
            responses: {
              '200': { description: '' },
              '401': { description: '' },
              '403': { description: '' },
              '404': { description: '' },
            },
          },
        },
      }),
    );
    const get = out.paths['/accounts/{id}'].get!.responses as Record<string, { description: string }>;
    expect(get['200'].description).toBe('OK');
    expect(get['401'].description).toMatch(/^unauthorized: .*token_expired.*session_ended/);
    expect(get['403'].description).toMatch(/^forbidden: /);
    expect(get['404'].description).toMatch(/^not_found: .*\(id\)$/);
    expect(Object.values(get).every((r) => r.description.length > 0)).toBe(true);
  });

  it('documents no 503 or 504 on an operation that needs no dependency (x-no-dependencies), and no 401 on a public one', () => {
    const out = addCommonResponses(
      doc({
        '/health/live': {
          get: { 'x-no-dependencies': true, responses: { '200': { description: 'up' } } } as never,
        },
      }),
    );
    expect(Object.keys(out.paths['/health/live'].get!.responses).sort()).toEqual([
      '200',
      '400',
      '408',
      '413',
      '417',
      '431',
      '500',
    ]);
  });

  it('documents no 404 or 414 on a route without a path parameter, and no 415 or 409 on a GET', () => {
    const out = addCommonResponses(
      doc({ '/accounts': { get: { responses: { '200': { description: 'ok' } } } } }),
    );
    expect(Object.keys(out.paths['/accounts'].get!.responses).sort()).toEqual([
      '200',
      '400',
      '408',
      '413',
      '417',
      '431',
      '500',
      '503',
      '504',
    ]);
  });

  it("adds the platform's codes to a controller's description that leaves one of them out, and leaves one that names them all", () => {
    const out = addCommonResponses(
      doc({
        '/cards/{id}/reveal': {
          post: {
            security: [{ bearer: [] }],
            parameters: [{ in: 'path', name: 'id', required: true, schema: { type: 'string' } }],
            responses: {
              '200': { description: 'the card' },
              '400': {
                description:
                  'validation_failed, malformed_body, body_too_complex, query_too_complex, bad_request',
              },
              '404': { description: 'No such card' },
              '401': { description: 'invalid_password' },
              '403': { description: 'card_blocked' },
              '409': { description: 'card_cancelled' },
              '503': { description: 'try_again' },
            },
          },
        },
      }),
    );
    const post = out.paths['/cards/{id}/reveal'].post!.responses as Record<string, { description: string }>;
    expect(post['400'].description).toBe(
      'validation_failed, malformed_body, body_too_complex, query_too_complex, bad_request',
    );
    expect(post['404'].description).toMatch(/^No such card; not_found: /);
    expect(post['401'].description).toMatch(
      /^invalid_password; unauthorized: .*token_expired.*session_ended/,
    );
    expect(post['403'].description).toBe('card_blocked; forbidden: your role does not allow this');
    expect(post['409'].description).toMatch(/^card_cancelled; concurrent_update: /);
    expect(post['503'].description).toMatch(/^try_again; dependency_unavailable: /);
  });
});
