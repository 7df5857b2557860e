import type { OpenAPIObject } from '@nestjs/swagger';
import { JSON_ERROR } from '../http/error-response.dto';

type Operation = OpenAPIObject['paths'][string]['get'] & object;
type Response = { description: string; headers?: Record<string, unknown>; content?: unknown };

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

const header = (description: string, schema: Record<string, unknown> = { type: 'string' }) => ({
  description,
  schema,
});

/**
 * What the platform answers for every route, whatever its controller documents (helper-141 found a client
 * could get each of these undocumented): 400 (the validation pipe, DeclaredInputGuard's undocumented query
 * parameter or body, malformed JSON), 404 naming the path parameter on a route that has one, 413 and 415 on
 * a route that takes a body; and the headers every answer carries: `X-Request-Id` on all, `Retry-After` on
 * a 429, `WWW-Authenticate` on a 401, `Idempotent-Replayed` on the success of a route keyed by
 * `Idempotency-Key`. A status a controller documents keeps its own description.
 */
export function addCommonResponses(document: OpenAPIObject): OpenAPIObject {
  for (const item of Object.values(document.paths)) {
    for (const method of METHODS) {
      const op = item[method] as Operation | undefined;
      if (!op) continue;
      const responses = (op.responses ??= {}) as Record<string, Response>;
      const add = (status: string, description: string) => {
        responses[status] ??= { description, ...JSON_ERROR };
      };
      add(
        '400',
        'Invalid request: validation_failed naming each field (a body or query parameter the route does not ' +
          'document included), malformed_body, body_too_complex, query_too_complex, bad_request',
      );
      const pathParams = (op.parameters ?? []).filter((p) => 'in' in p && p.in === 'path') as {
        name: string;
      }[];
      if (pathParams.length)
        add(
          '404',
          `not_found: no such resource of yours, naming the path parameter (${pathParams.map((p) => p.name).join(', ')})`,
        );
      if (op.requestBody) {
        add('413', `payload_too_large: a body over BODY_LIMIT`);
        add('415', 'unsupported_media_type: a body that is not JSON in UTF-8');
      }
      const keyed = (op.parameters ?? []).some(
        (p) => 'in' in p && p.in === 'header' && p.name.toLowerCase() === 'idempotency-key',
      );
      for (const [status, response] of Object.entries(responses)) {
        const headers = (response.headers ??= {});
        headers['X-Request-Id'] ??= header(
          "The request's id: the client's X-Request-Id when acceptable, else generated",
        );
        if (status === '429')
          headers['Retry-After'] ??= header('Seconds to wait before trying again', { type: 'integer' });
        if (status === '401') headers['WWW-Authenticate'] ??= header('Bearer, with the error');
        if (keyed && status.startsWith('2'))
          headers['Idempotent-Replayed'] ??= header(
            'true when this is the stored answer to an earlier request with the same Idempotency-Key',
          );
      }
    }
  }
  return document;
}
