import type { AsyncResource } from 'node:async_hooks';
import type { Span } from '@opentelemetry/api';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Caller } from '../context/request-context';

/** The HTTP request and response as handlers see them (Fastify, through Nest's Fastify adapter). */
export type HttpRequest = FastifyRequest & {
  caller?: Caller;
  /** The access token the guard took from the request, for the passport strategy. */
  accessToken?: string;
  /** When the access token of the request expires (seconds since the epoch). */
  tokenExpiresAt?: number;
  requestId?: string;
  /** The request's context (request id, caller), for the hooks that run in other async scopes. */
  contextScope?: AsyncResource;
  /** The request's server span (tracing on only), ended with the response. */
  span?: Span;
  /** Gives back the rate-limit hit of a route that counts only well-formed requests, when this one is a 400. */
  onMalformed?: () => Promise<void>;
};
export type HttpReply = FastifyReply;

/**
 * For a route with one URL and two representations: marks the reply as varying by Accept and not to be
 * cached (a bank's figures stay out of shared caches), and says whether the client asked for CSV.
 */
export function csvWanted(req: HttpRequest, reply: HttpReply): boolean {
  void reply.header('Vary', 'Accept').header('Cache-Control', 'no-store');
  return prefersCsv(req.headers.accept);
}

/**
 * Whether an Accept header asks for CSV over JSON: text/csv with a q above JSON's (application/json,
 * application/*, or *\/* when JSON is not named). JSON wins ties and is the default.
 */
export function prefersCsv(accept: string | undefined): boolean {
  if (!accept) return false;
  let csv = 0;
  let json = 0;
  let any = 0;
  for (const part of accept.split(',')) {
    const [type, ...params] = part.trim().toLowerCase().split(';');
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    const weight = Number.isFinite(q) ? q : 0;
    if (type === 'text/csv' || type === 'text/*') csv = Math.max(csv, weight);
    else if (type === 'application/json' || type === 'application/*') json = Math.max(json, weight);
    else if (type === '*/*') any = Math.max(any, weight);
  }
  return csv > 0 && csv > Math.max(json, json === 0 ? any : 0);
}
