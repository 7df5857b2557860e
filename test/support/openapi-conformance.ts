import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import supertest from 'supertest';

/**
 * Do the API's answers say what its OpenAPI document says? Every response a suite's supertest requests
 * receive is recorded (recordResponses), then checked against the document the app serves at /docs-json
 * (conformanceProblems): its path, method and status documented, its content type, a JSON body valid
 * against the documented schema with no field the schema leaves out, and an error's code named in its
 * status's description. Not seen: answers read with `fetch` or raw sockets, and event streams' bodies. Generated clients decode by that
 * document: an undocumented enum value or a missing required field fails a whole page in them (helper-154
 * found a card authorisation's currency outside its documented enum).
 */

export interface Recorded {
  test: string | undefined;
  method: string;
  url: string;
  status: number;
  contentType: string;
  body: unknown;
  length: number;
}

const recorded: Recorded[] = [];
let installed = false;

/**
 * Records every response of this test file's supertest requests (each file has its own module registry,
 * so its own copy of supertest and of this list). Hooks `end`, which every request runs through: `await`
 * and `.expect(…)` call it with their callback.
 */
export function recordResponses(): readonly Recorded[] {
  if (installed) return recorded;
  installed = true;
  type End = (this: supertest.Test, fn?: (err: unknown, res: unknown) => void) => supertest.Test;
  const proto = (supertest as unknown as { Test: { prototype: { end: End } } }).Test.prototype;
  const end = proto.end;
  proto.end = function (this: supertest.Test & { method: string; url: string }, fn) {
    return end.call(this, (err, res) => {
      const r = res as
        { status?: number; headers?: Record<string, string>; body?: unknown; text?: unknown } | undefined;
      if (r && typeof r.status === 'number') {
        const contentType = String(r.headers?.['content-type'] ?? '');
        recorded.push({
          test: expect.getState().currentTestName,
          method: this.method,
          url: this.url,
          status: r.status,
          contentType,
          body: /json/.test(contentType) ? r.body : undefined,
          length: typeof r.text === 'string' ? r.text.length : Number(r.headers?.['content-length'] ?? 0),
        });
      }
      fn?.(err, res);
    });
  };
  return recorded;
}

type Schema = Record<string, unknown>;
interface Operation {
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: Schema }> }>;
}
export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}

/** OpenAPI 3.0's keywords JSON Schema does not know, and `nullable`, which becomes a union with null. */
const OPENAPI_ONLY = new Set(['example', 'examples', 'xml', 'externalDocs', 'discriminator', 'deprecated']);

/**
 * An OpenAPI 3.0 schema as JSON Schema: `nullable` as `anyOf [schema, null]`, references into `spec`'s
 * definitions; `closed` adds `additionalProperties: false` to every object that lists its properties.
 */
function jsonSchema(node: unknown, closed: boolean): unknown {
  if (Array.isArray(node)) return node.map((n) => jsonSchema(n, closed));
  if (!node || typeof node !== 'object') return node;
  const out: Schema = {};
  for (const [key, value] of Object.entries(node as Schema)) {
    if (OPENAPI_ONLY.has(key) || key === 'nullable' || key.startsWith('x-')) continue;
    if (key === '$ref' && typeof value === 'string')
      out.$ref = value.replace('#/components/schemas/', 'spec#/definitions/');
    else if (key === 'properties')
      out.properties = Object.fromEntries(
        Object.entries(value as Schema).map(([name, s]) => [name, jsonSchema(s, closed)]),
      );
    else out[key] = jsonSchema(value, closed);
  }
  if (closed && out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  if ((node as Schema).nullable !== true) return out;
  if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  return { anyOf: [out, { type: 'null' }] };
}

/** Paths as patterns, those with fewer parameters first: a literal segment wins over `{id}`. */
function pathPatterns(doc: OpenApiDocument) {
  return Object.keys(doc.paths)
    .map((template) => ({
      template,
      parameters: (template.match(/\{[^}]+\}/g) ?? []).length,
      pattern: new RegExp(
        `^${template
          .split(/\{[^}]+\}/)
          .map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))
          .join('[^/]+')}$`,
      ),
    }))
    .sort((a, b) => a.parameters - b.parameters);
}

export interface Conformance {
  /** Each kind of mismatch once, with how often it was seen and the first test that saw it. */
  problems: string[];
  /** How many responses were checked. */
  checked: number;
  /** The documented operations (`get /accounts/{id}`) no checked response came from. */
  unexercised: string[];
}

/**
 * Checks the responses that came from `origin` against `doc`. Left out: the documents themselves and
 * /metrics; requests whose path or method the document does not have (unknown routes, 405 probes, CORS
 * preflights, HEAD): their own tests check those answers.
 */
export function conformanceProblems(
  doc: OpenApiDocument,
  responses: readonly Recorded[],
  origin: string,
): Conformance {
  const validators = new Map<string, ValidateFunction>();
  const ajvs = [false, true].map((closed) => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    const definitions = Object.fromEntries(
      Object.entries(doc.components?.schemas ?? {}).map(([name, s]) => [name, jsonSchema(s, closed)]),
    );
    ajv.addSchema({ $id: 'spec', definitions });
    return ajv;
  });
  const validator = (schema: Schema, closed: boolean) => {
    const key = `${closed}${JSON.stringify(schema)}`;
    let validate = validators.get(key);
    if (!validate) {
      validate = ajvs[Number(closed)].compile(jsonSchema(schema, closed) as Schema);
      validators.set(key, validate);
    }
    return validate;
  };
  const patterns = pathPatterns(doc);
  const found = new Map<string, { count: number; test: string | undefined }>();
  const exercised = new Set<string>();
  let checked = 0;
  for (const r of responses) {
    const url = new URL(r.url);
    if (url.origin !== origin || /^\/(docs|metrics)(\/|-json|$)/.test(url.pathname)) continue;
    const method = r.method.toLowerCase();
    // The router's choice: the most literal path that has this method (GET /notifications/read-all is
    // /notifications/{id}'s, read-all taking POST only).
    const matching = patterns.filter((p) => p.pattern.test(url.pathname));
    const template = (matching.find((p) => doc.paths[p.template][method]) ?? matching[0])?.template;
    const operation = template ? doc.paths[template][method] : undefined;
    if (!template || !operation) continue;
    checked++;
    exercised.add(`${method} ${template}`);
    const note = (what: string) => {
      const key = `${r.method} ${template} ${r.status}: ${what}`;
      const seen = found.get(key);
      if (seen) seen.count++;
      else found.set(key, { count: 1, test: r.test });
    };
    const documented = operation.responses?.[String(r.status)];
    if (!documented) {
      note('status not documented');
      continue;
    }
    const type = r.contentType.split(';')[0].trim().toLowerCase();
    const content = documented.content ?? {};
    if (type === 'text/event-stream') continue;
    if (Object.keys(content).length === 0) {
      if (r.length > 0) note(`a ${type} body where none is documented`);
      continue;
    }
    if (r.length === 0) {
      note(`no body where ${Object.keys(content).join(', ')} is documented`);
      continue;
    }
    if (!content[type]) {
      note(`${type} where ${Object.keys(content).join(', ')} is documented`);
      continue;
    }
    const schema = content[type].schema;
    if (!/json/.test(type) || !schema) continue;
    // An error's code is what a client switches on: the answer's description must name it.
    const code = r.status >= 400 ? (r.body as { code?: unknown } | undefined)?.code : undefined;
    if (typeof code === 'string' && !new RegExp(`\\b${code}\\b`).test(documented.description ?? ''))
      note(`code ${code} is not in its description`);
    for (const closed of [false, true]) {
      const validate = validator(schema, closed);
      if (validate(r.body)) continue;
      for (const e of validate.errors ?? []) if (relevant(e, closed)) note(describe(e));
      if (!closed) break; // the open schema's errors say it all
    }
  }
  const problems = [...found].map(
    ([key, { count, test }]) => `${key} (${count}×, first in "${test ?? 'a hook'}")`,
  );
  const unexercised = Object.entries(doc.paths).flatMap(([template, item]) =>
    Object.keys(item)
      .map((method) => `${method} ${template}`)
      .filter((op) => !exercised.has(op)),
  );
  return { problems, checked, unexercised };
}

/**
 * The errors that say something: the failing branches of a nullable field's union do not (its null branch
 * always fails beside the real one), and with the closed schema only the extra properties are new.
 */
function relevant(e: ErrorObject, closed: boolean): boolean {
  if (closed) return e.keyword === 'additionalProperties';
  if (['anyOf', 'oneOf', 'allOf', 'if'].includes(e.keyword)) return false;
  return !(e.keyword === 'type' && (e.params as { type?: string }).type === 'null');
}

/** An error with array indexes left out, so one mismatch in every element of a list is one problem. */
function describe(e: ErrorObject): string {
  const path = e.instancePath.replace(/\/\d+(?=\/|$)/g, '/*');
  if (e.keyword === 'additionalProperties')
    return `${path}/${(e.params as { additionalProperty: string }).additionalProperty} is not documented`;
  const at = path || '(the body)';
  if (e.keyword === 'enum')
    return `${at} ${e.message}: ${JSON.stringify((e.params as { allowedValues: unknown[] }).allowedValues)}`;
  return `${at} ${e.message}`;
}
