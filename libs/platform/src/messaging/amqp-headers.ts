import type { MessageProperties } from 'amqplib';
import { acceptRequestId, CALLER_HEADER, REQUEST_ID_HEADER, type Caller } from '../context/request-context';
import { tracingEnabled, type TraceHeaders } from '../tracing/tracing';

/**
 * The request id, the caller and the W3C trace context (tracing on), as AMQP message headers (for
 * contract calls and events alike).
 */
export function toAmqpHeaders(
  requestId: string | undefined,
  caller: Caller | undefined,
  trace?: TraceHeaders,
): Record<string, string> {
  const headers: Record<string, string> = {};
  if (requestId) headers[REQUEST_ID_HEADER] = requestId;
  if (caller) headers[CALLER_HEADER] = JSON.stringify(caller);
  if (trace?.traceparent) {
    headers.traceparent = trace.traceparent;
    if (trace.tracestate) headers.tracestate = trace.tracestate;
  }
  return headers;
}

/**
 * Reads them back; a malformed header is ignored rather than trusted (the trace context is validated
 * where it is used, by the W3C propagator).
 */
export function fromAmqpHeaders(properties: MessageProperties): {
  requestId?: string;
  caller?: Caller;
  trace?: TraceHeaders;
} {
  const headers = (properties.headers ?? {}) as Record<string, unknown>;
  let caller: Caller | undefined;
  const raw = headers[CALLER_HEADER];
  if (typeof raw === 'string') {
    try {
      const parsed = JSON.parse(raw) as Partial<Caller>;
      if (typeof parsed.user_id === 'string' && typeof parsed.role === 'string') caller = parsed as Caller;
    } catch {
      caller = undefined;
    }
  }
  let trace: TraceHeaders | undefined;
  if (tracingEnabled() && typeof headers.traceparent === 'string') {
    trace = { traceparent: headers.traceparent };
    if (typeof headers.tracestate === 'string') trace.tracestate = headers.tracestate;
  }
  return { requestId: acceptRequestId(headers[REQUEST_ID_HEADER]), caller, trace };
}

/**
 * A contract call's deadline (epoch ms), set by the caller: RabbitMQ's `expiration` drops a request still
 * waiting in its queue, but not one already delivered to the server (up to its prefetch ahead, read while
 * it was paused, swapped out or starved of CPU). The server checks this before it acts. The apps' clocks
 * are those of their hosts (NTP keeps them within milliseconds of each other).
 */
export const DEADLINE_HEADER = 'x-deadline';

/** How long ago the call's deadline passed, in ms; undefined when it has not (or none was given). */
export function pastDeadline(properties: MessageProperties, now = Date.now()): number | undefined {
  const raw = ((properties.headers ?? {}) as Record<string, unknown>)[DEADLINE_HEADER];
  const deadline = typeof raw === 'string' && /^\d{1,16}$/.test(raw) ? Number(raw) : NaN;
  return now > deadline ? now - deadline : undefined;
}
