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
            responses: { '200': { description: 'the payee' }, '404': { description: 'mine' } },
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
    expect(Object.keys(get).sort()).toEqual(['200', '400', '404', '414', '500', '503', '504']);
    expect(get['404'].description).toBe('mine');
    expect(Object.keys(get['200'].headers!)).toEqual(['X-Request-Id']);
    const post = out.paths['/transactions'].post!.responses as Record<string, { headers?: object }>;
    expect(Object.keys(post).sort()).toEqual(['201', '400', '401', '413', '415', '429', '500', '503', '504']);
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
    expect(Object.keys(out.paths['/health/live'].get!.responses).sort()).toEqual(['200', '400', '500']);
  });

  it('documents no 404 or 414 on a route without a path parameter, nor 413 and 415 on one without a body', () => {
    const out = addCommonResponses(
      doc({ '/accounts': { get: { responses: { '200': { description: 'ok' } } } } }),
    );
    expect(Object.keys(out.paths['/accounts'].get!.responses).sort()).toEqual([
      '200',
      '400',
      '500',
      '503',
      '504',
    ]);
  });
});
