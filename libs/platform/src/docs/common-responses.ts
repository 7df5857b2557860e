import { ApiExtension, type OpenAPIObject } from '@nestjs/swagger';
import { JSON_ERROR } from '../http/error-response.dto';

type Operation = OpenAPIObject['paths'][string]['get'] & object;
type Response = { description: string; headers?: Record<string, unknown>; content?: unknown };

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

const header = (description: string, schema: Record<string, unknown> = { type: 'string' }) => ({
  description,
  schema,
});

/**
 * The OpenAPI extension marking an operation that calls no database, cache or other service, or answers
 * their failure itself (readiness): the platform documents no 503 or 504 for it.
 */
export const NO_DEPENDENCIES = 'x-no-dependencies';

/** Marks a handler, or every handler of a controller, NO_DEPENDENCIES. */
export const NoDependencies = () => ApiExtension(NO_DEPENDENCIES, true);

const REASONS: Record<string, string> = {
  '200': 'OK',
  '201': 'Created',
  '202': 'Accepted',
  '204': 'No Content',
};

/**
 * What the platform answers for every route, whatever its controller documents (helper-141, helper-154 and
 * helper-155 found a client could get each of these undocumented): 400 (the validation pipe,
 * DeclaredInputGuard's undocumented query parameter or body, malformed JSON); 401 on a route that needs a
 * token, and 403 `forbidden` by role where the route has a 403; 404 naming the path parameter and 414 for one
 * over the router's 500 characters, on a route that has one; 413 on all (Content-Length), 415 where a body is
 * parsed; 408, 417 and 431, which Node's server answers before any route, on all; 500, a bug, on all; 409
 * `concurrent_update` on all but GETs, 503 and 504 on all, except on those marked NO_DEPENDENCIES. A
 * controller's own description of one of these statuses is kept, with the platform's added where it leaves
 * out one of the platform's codes (the topology suites check that every code answered is named:
 * test/support/openapi-conformance.ts); an empty one is replaced, and a success's is its reason phrase. And
 * the headers every answer carries: `X-Request-Id` on all, `Retry-After` on a 429, `WWW-Authenticate` on a
 * 401, `Idempotent-Replayed` on the success of a route keyed by `Idempotency-Key`.
 */
export function addCommonResponses(document: OpenAPIObject): OpenAPIObject {
  for (const item of Object.values(document.paths)) {
    for (const method of METHODS) {
      const op = item[method] as (Operation & { [NO_DEPENDENCIES]?: boolean }) | undefined;
      if (!op) continue;
      const responses = (op.responses ??= {}) as Record<string, Response>;
      /**
       * Documents `status` with `description` where the controller did not, and adds it to a description
       * of the controller's that leaves out one of `codes` (the codes the platform answers it with).
       */
      const add = (status: string, codes: string[], description: string) => {
        const documented = responses[status];
        if (!documented) responses[status] = { description, ...JSON_ERROR };
        else if (!documented.description) documented.description = description;
        else if (!codes.every((code) => new RegExp(`\\b${code}\\b`).test(documented.description)))
          documented.description += `; ${description}`;
      };
      add(
        '400',
        ['validation_failed', 'malformed_body', 'body_too_complex', 'query_too_complex', 'bad_request'],
        'validation_failed naming each field (a body or query parameter the route does not document ' +
          'included), malformed_body, body_too_complex, query_too_complex, bad_request',
      );
      const secured = Array.isArray(op.security) && op.security.length > 0;
      if (secured) {
        add(
          '401',
          ['token_expired'],
          'unauthorized: no bearer token; invalid_token; token_expired: refresh it (POST /auth/refresh); ' +
            'session_ended: the session is over, log in again',
        );
        // Refused by role: only where the controller says the route has a 403.
        if (responses['403']) add('403', ['forbidden'], 'forbidden: your role does not allow this');
      }
      const pathParams = (op.parameters ?? []).filter((p) => 'in' in p && p.in === 'path') as {
        name: string;
      }[];
      if (pathParams.length) {
        add(
          '404',
          ['not_found'],
          `not_found: no such resource of yours, naming the path parameter (${pathParams.map((p) => p.name).join(', ')})`,
        );
        add('414', ['uri_too_long'], 'uri_too_long: a path parameter over 500 characters');
      } else if (responses['404']) {
        add('404', ['not_found'], 'not_found: no such resource of yours, naming the field');
      }
      // Every request's Content-Length is checked against BODY_LIMIT; a body is parsed on any method.
      add('413', ['payload_too_large'], 'payload_too_large: a body over BODY_LIMIT');
      // What Node's HTTP server refuses before any route (configure-http.ts: clientErrorHandler and
      // protocolRefusals), in the one error shape, on every operation.
      add(
        '408',
        ['request_timeout'],
        'request_timeout: the request was not received in time (its headers within ' +
          "HTTP_HEADERS_TIMEOUT_MS, all of it within HTTP_REQUEST_TIMEOUT_MS, for a connection's first " +
          'request both counted from its accept, so an app too busy to read it answers this too); nothing ' +
          'was done and the connection is closed: send it again (with the same Idempotency-Key where the ' +
          'route takes one)',
      );
      add(
        '417',
        ['expectation_failed'],
        "expectation_failed: an Expect header other than 100-continue (the split stack's nginx does not " +
          'pass Expect on: there, such a request is served)',
      );
      add(
        '431',
        ['headers_too_large'],
        "headers_too_large: the request's headers are over 16 KiB (Node's limit; at the split stack's " +
          'nginx, one header line over 8 KB)',
      );
      if (op.requestBody || method === 'delete')
        add('415', ['unsupported_media_type'], 'unsupported_media_type: a body that is not JSON in UTF-8');
      add(
        '500',
        ['internal_error'],
        'internal_error: an unexpected failure, a bug; the answer says nothing more, its request_id finds it ' +
          'in the logs',
      );
      if (!op[NO_DEPENDENCIES] && method !== 'get')
        add(
          '409',
          ['concurrent_update'],
          'concurrent_update: a concurrent change got there first (a deadlock or serialization failure ' +
            'rolled this one back); nothing changed, try again',
        );
      if (!op[NO_DEPENDENCIES]) {
        add(
          '503',
          ['dependency_unavailable'],
          'dependency_unavailable: PostgreSQL or Redis (split topology: RabbitMQ) is not answering; nothing ' +
            'changed, try again shortly',
        );
        add(
          '504',
          ['dependency_timeout'],
          'dependency_timeout (split topology): a service this request needs did not answer in time; the ' +
            'change may still be made, so retry with the same Idempotency-Key where the route takes one',
        );
      }
      const keyed = (op.parameters ?? []).some(
        (p) => 'in' in p && p.in === 'header' && p.name.toLowerCase() === 'idempotency-key',
      );
      for (const [status, response] of Object.entries(responses)) {
        if (!response.description && REASONS[status]) response.description = REASONS[status];
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
