import { propagation, ROOT_CONTEXT, SpanStatusCode, trace } from '@opentelemetry/api';
import { NodeSDK, tracing } from '@opentelemetry/sdk-node';
import type { MessageProperties } from 'amqplib';
import { requestContext } from '../context/request-context';
import { AppError } from '../errors/app-error';
import { fromAmqpHeaders, toAmqpHeaders } from '../messaging/amqp-headers';
import { outboxHeaders } from '../messaging/events/outbox.service';
import {
  contextFrom,
  enableTracingForTests,
  SpanKind,
  traceHeaders,
  tracingRequested,
  withSpan,
} from './tracing';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE}-${PARENT}-01`;

describe('tracingRequested: the OTEL_* variables that turn traces on', () => {
  it.each([
    [{}, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: '' }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, true],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }, true],
    [{ OTEL_TRACES_EXPORTER: 'console' }, true],
    [{ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, false],
    [{ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, false],
    [{ OTEL_SERVICE_NAME: 'auth' }, false],
  ])('%j -> %s', (env, on) => {
    expect(tracingRequested(env)).toBe(on);
  });
});

describe('propagation helpers with tracing off', () => {
  it('carry nothing and start no span', async () => {
    expect(traceHeaders()).toBeUndefined();
    expect(contextFrom({ traceparent: TRACEPARENT })).toBe(ROOT_CONTEXT);
    await expect(withSpan('x', { kind: SpanKind.INTERNAL }, async (span) => span)).resolves.toBeUndefined();
    expect(JSON.parse(outboxHeaders())).toEqual({});
    expect(toAmqpHeaders('r1', undefined, undefined)).toEqual({ 'x-request-id': 'r1' });
    expect(
      fromAmqpHeaders({ headers: { traceparent: TRACEPARENT } } as unknown as MessageProperties).trace,
    ).toBeUndefined();
  });
});

describe('propagation helpers with tracing on', () => {
  const exporter = new tracing.InMemorySpanExporter();
  let sdk: NodeSDK;
  beforeAll(() => {
    // The SDK as startTracing builds it (W3C propagators, async-hooks context), exporting to memory.
    sdk = new NodeSDK({
      serviceName: 'unit',
      autoDetectResources: false, // else the first export waits for the asynchronous detectors
      spanProcessors: [new tracing.SimpleSpanProcessor(exporter)],
      instrumentations: [],
      metricReaders: [],
      logRecordProcessors: [],
    });
    sdk.start();
    enableTracingForTests(true);
  });
  afterAll(async () => {
    enableTracingForTests(false);
    await sdk.shutdown();
  });
  beforeEach(() => exporter.reset());

  it('continues a remote W3C parent and hands on the active span', async () => {
    const headers = await withSpan(
      'process x',
      { kind: SpanKind.CONSUMER, parent: contextFrom({ traceparent: TRACEPARENT }) },
      async (span) => {
        expect(span!.spanContext().traceId).toBe(TRACE);
        return traceHeaders();
      },
    );
    const [span] = exporter.getFinishedSpans();
    expect(span.parentSpanContext?.spanId).toBe(PARENT);
    expect(headers).toEqual({ traceparent: `00-${TRACE}-${span.spanContext().spanId}-01` });
  });

  it('starts a trace of its own on a malformed or missing traceparent', async () => {
    for (const headers of [{ traceparent: '00-zz-yy-01' }, { traceparent: 42 }, {}, undefined]) {
      expect(trace.getSpanContext(contextFrom(headers))).toBeUndefined();
    }
    await withSpan(
      'root',
      { kind: SpanKind.INTERNAL, parent: contextFrom({ traceparent: 'x' }) },
      async () => {
        /* nothing */
      },
    );
    expect(exporter.getFinishedSpans()[0].parentSpanContext).toBeUndefined();
  });

  it('keeps tracestate and drops baggage', async () => {
    const parent = contextFrom({ traceparent: TRACEPARENT, tracestate: 'vendor=abc' });
    const withBaggage = propagation.setBaggage(
      parent,
      propagation.createBaggage({ user: { value: 'someone@example.com' } }),
    );
    const headers = await withSpan('x', { kind: SpanKind.INTERNAL, parent: withBaggage }, async () =>
      traceHeaders(),
    );
    expect(headers).toEqual({
      traceparent: expect.stringMatching(`^00-${TRACE}-`),
      tracestate: 'vendor=abc',
    });
  });

  it('round-trips through AMQP headers and outbox rows', async () => {
    await withSpan('POST /transactions', { kind: SpanKind.SERVER }, async (span) => {
      const expected = `00-${span!.spanContext().traceId}-${span!.spanContext().spanId}-01`;
      const amqp = toAmqpHeaders('req-1', undefined, traceHeaders());
      expect(amqp).toEqual({ 'x-request-id': 'req-1', traceparent: expected });
      expect(fromAmqpHeaders({ headers: amqp } as unknown as MessageProperties).trace).toEqual({
        traceparent: expected,
      });
      const row = requestContext.run({ requestId: 'req-1' }, () => JSON.parse(outboxHeaders()));
      expect(row).toEqual({ request_id: 'req-1', traceparent: expected });
      expect(trace.getSpanContext(contextFrom(row))?.spanId).toBe(span!.spanContext().spanId);
    });
  });

  it('marks a failed span with the error type, never the message', async () => {
    await expect(
      withSpan('x', { kind: SpanKind.INTERNAL }, async () => {
        throw new AppError(409, 'idempotency_conflict', 'card 4111111111111111 was declined');
      }),
    ).rejects.toThrow(AppError);
    const [span] = exporter.getFinishedSpans();
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.status.message).toBeUndefined();
    expect(span.attributes).toEqual({ 'error.type': 'idempotency_conflict' });
    expect(span.events).toEqual([]);
  });
});
