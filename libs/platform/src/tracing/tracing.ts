import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';

export { SpanKind, type Span };

/**
 * OpenTelemetry traces, off unless the standard OTEL_* variables ask for them.
 *
 * Off (no OTLP endpoint and no OTEL_TRACES_EXPORTER set, or OTEL_SDK_DISABLED=true), nothing but
 * `@opentelemetry/api` is loaded, and every helper below returns at its first line: no span objects,
 * no header work. On, `startTracing` loads the official NodeSDK, which reads every other OTEL_* variable
 * itself (endpoint, protocol, headers, sampler, batch sizes, resource attributes, propagators).
 *
 * Spans are made by hand at our own seams (HTTP hooks, the RabbitMQ client and server, the outbox relay,
 * event delivery); BullMQ's own telemetry seam (bullmq-otel) covers jobs.
 */
let enabled = false;

export const TRACER_NAME = 'protobank';

export function tracingEnabled(): boolean {
  return enabled;
}

const set = (v: string | undefined) => v !== undefined && v.trim() !== '';

/** Whether the environment asks for traces: an OTLP endpoint, or a traces exporter other than none. */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const exporter = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase();
  if (exporter === 'none') return false;
  return set(env.OTEL_EXPORTER_OTLP_ENDPOINT) || set(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) || set(exporter);
}

/**
 * Starts the SDK when the environment asks for it, before the app is built; returns its shutdown (which
 * flushes the spans still batched), or undefined when tracing is off. OTEL_SERVICE_NAME, when set, wins
 * over `service`. Only traces are exported: metrics stay on /metrics (Prometheus) and logs on stdout.
 */
export async function startTracing(
  service: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<(() => Promise<void>) | undefined> {
  if (!tracingRequested(env)) return undefined;
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const sdk = new NodeSDK({
    ...(set(env.OTEL_SERVICE_NAME) ? {} : { serviceName: service }),
    instrumentations: [],
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  enabled = true;
  return async () => {
    enabled = false;
    await sdk.shutdown();
  };
}

/** Turns the helpers on with whatever provider the caller registered (unit tests). */
export function enableTracingForTests(on: boolean): void {
  enabled = on;
}

/** The W3C trace context as it travels in HTTP headers, AMQP headers and outbox rows. */
export interface TraceHeaders {
  traceparent?: string;
  tracestate?: string;
}

/**
 * The active span's context (or `ctx`'s) as headers; undefined when tracing is off or no span is
 * active. Baggage is not carried: it is free text a client could fill.
 */
export function traceHeaders(ctx: Context = context.active()): TraceHeaders | undefined {
  if (!enabled) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  if (!carrier.traceparent) return undefined;
  return carrier.tracestate
    ? { traceparent: carrier.traceparent, tracestate: carrier.tracestate }
    : { traceparent: carrier.traceparent };
}

/**
 * The remote parent in `headers` (HTTP, AMQP, an outbox row), or the root context when there is none or
 * it is malformed (the W3C propagator validates it): the span then starts a trace of its own.
 */
export function contextFrom(
  headers: { readonly traceparent?: unknown; readonly tracestate?: unknown } | null | undefined,
): Context {
  if (!enabled || !headers) return ROOT_CONTEXT;
  const carrier: Record<string, string> = {};
  const { traceparent, tracestate } = headers;
  if (typeof traceparent === 'string') carrier.traceparent = traceparent;
  if (typeof tracestate === 'string') carrier.tracestate = tracestate;
  if (!carrier.traceparent) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, carrier);
}

export interface SpanOptions {
  kind: SpanKind;
  attributes?: Attributes;
  /** The parent; the active context by default. */
  parent?: Context;
}

/**
 * Runs `fn` inside a new span and ends it when `fn` settles; a thrown error marks the span as failed
 * with its type only (`error.type`), never its message, which may quote customer data. With tracing off
 * this is `fn(undefined)`.
 */
export function withSpan<T>(
  name: string,
  options: SpanOptions,
  fn: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  if (!enabled) return fn(undefined);
  const parent = options.parent ?? context.active();
  const span = trace
    .getTracer(TRACER_NAME)
    .startSpan(name, { kind: options.kind, attributes: options.attributes }, parent);
  return context.with(trace.setSpan(parent, span), async () => {
    try {
      return await fn(span);
    } catch (err) {
      failSpan(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/** Starts a span that the caller ends (an HTTP request, ended in a later hook). */
export function startSpan(name: string, options: SpanOptions): Span | undefined {
  if (!enabled) return undefined;
  return trace
    .getTracer(TRACER_NAME)
    .startSpan(name, { kind: options.kind, attributes: options.attributes }, options.parent);
}

/** Runs `fn` with `span` active under `parent`. */
export function runInSpan<T>(span: Span | undefined, parent: Context, fn: () => T): T {
  if (!span) return fn();
  return context.with(trace.setSpan(parent, span), fn);
}

/** Marks a span failed: its status and the error's type (an AppError's code, or the class name). */
export function failSpan(span: Span | undefined, err: unknown, type?: string): void {
  if (!span) return;
  const code = (err as { code?: unknown } | undefined)?.code;
  const errorType =
    type ?? (typeof code === 'string' ? code : err instanceof Error ? err.constructor.name : 'error');
  span.setAttribute('error.type', errorType);
  span.setStatus({ code: SpanStatusCode.ERROR });
}

/** The ids of the active span, for log lines; undefined when tracing is off or no span is active. */
export function activeTraceIds(): { trace_id: string; span_id: string } | undefined {
  if (!enabled) return undefined;
  const span = trace.getActiveSpan();
  if (!span) return undefined;
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

/**
 * Attribute names of the OpenTelemetry semantic conventions. The messaging and RPC ones are still
 * "incubating" upstream, which the semantic-conventions package asks users to copy rather than import.
 */
export const ATTR = {
  HTTP_REQUEST_METHOD: 'http.request.method',
  HTTP_ROUTE: 'http.route',
  HTTP_RESPONSE_STATUS_CODE: 'http.response.status_code',
  URL_SCHEME: 'url.scheme',
  SERVER_PORT: 'server.port',
  MESSAGING_SYSTEM: 'messaging.system',
  MESSAGING_OPERATION_TYPE: 'messaging.operation.type',
  MESSAGING_OPERATION_NAME: 'messaging.operation.name',
  MESSAGING_DESTINATION_NAME: 'messaging.destination.name',
  MESSAGING_RABBITMQ_ROUTING_KEY: 'messaging.rabbitmq.destination.routing_key',
  MESSAGING_MESSAGE_ID: 'messaging.message.id',
  MESSAGING_CONSUMER_GROUP_NAME: 'messaging.consumer.group.name',
  RPC_SYSTEM: 'rpc.system',
  RPC_SERVICE: 'rpc.service',
  RPC_METHOD: 'rpc.method',
  CODE_FUNCTION_NAME: 'code.function.name',
  REQUEST_ID: 'protobank.request_id',
} as const;
