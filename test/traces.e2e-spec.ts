import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { bearer, firstAdmin } from './support/actors';
import { deposit, openAccount, transfer, verifiedCustomer } from './support/banking';
import { SPAN_KIND, startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver';
import { startReceivers, type Receivers } from './support/receivers';
import { eventually } from './support/test-env';
import { startTopology, type Running } from './support/topologies';

const ROOT = join(__dirname, '..');
/** OTEL_* as an operator who wants no traces leaves them: unset (empty counts as unset). */
const OTEL_OFF = {
  OTEL_EXPORTER_OTLP_ENDPOINT: '',
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '',
  OTEL_TRACES_EXPORTER: '',
  OTEL_SERVICE_NAME: '',
};

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/**
 * Whether no span of the trace waits for its parent: each app exports its spans in its own
 * batches, so a child can arrive before the parent that ends after it (a publish, a call).
 */
const closed = (spans: ReceivedSpan[], rootParentId: string) => {
  const ids = new Set(spans.map((s) => s.spanId));
  return spans.every((s) => s.parentSpanId === rootParentId || ids.has(s.parentSpanId));
};

/** The spans of one trace, once `done` says they are all there. */
async function traceOf(
  receiver: OtlpReceiver,
  traceId: string,
  done: (spans: ReceivedSpan[]) => boolean,
  what: string,
): Promise<ReceivedSpan[]> {
  return eventually(
    async () => {
      const spans = receiver.spans.filter((s) => s.traceId === traceId);
      return done(spans) ? spans : undefined;
    },
    30000,
    what,
  );
}

describe('traces: one transfer through the edge of the split topology is one trace', () => {
  let receiver: OtlpReceiver;
  let running: Running;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    running = await startTopology('split', {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      // Spans leave each app within 200 ms instead of the default 5 s.
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_TRACES_SAMPLER: 'parentbased_always_on',
    });
  });
  afterAll(async () => {
    await running?.stop();
    await receiver?.stop();
  });

  it('joins the caller’s trace: HTTP at transactions, the relay’s publish, notifications and analytics consuming', async () => {
    const admin = await firstAdmin(running);
    const alice = await verifiedCustomer(running, admin, 'traces.alice');
    const bob = await verifiedCustomer(running, admin, 'traces.bob');
    const a = await openAccount(running, alice);
    const b = await openAccount(running, bob);
    await deposit(running, admin, a, 10000);

    // The client's own trace context, as a browser or a gateway in front of the edge would send it.
    const traceId = hex(16);
    const clientSpanId = hex(8);
    const res = await transfer(running, alice, {
      from_account_id: a.id,
      to_account_id: b.id,
      amount: 1234,
      currency: 'GBP',
      reference: 'Traced',
    })
      .set('traceparent', `00-${traceId}-${clientSpanId}-01`)
      .expect(201);

    const spans = await traceOf(
      receiver,
      traceId,
      (all) =>
        ['notifications', 'analytics'].every((service) =>
          all.some((s) => s.service === service && s.kind === SPAN_KIND.CONSUMER),
        ) && closed(all, clientSpanId),
      'the transfer’s trace to reach both consumers, with every parent span',
    );
    const byId = new Map(spans.map((s) => [s.spanId, s]));

    // The HTTP server span at transactions: a child of the client's span, named by route.
    const http = spans.find((s) => s.service === 'transactions' && s.kind === SPAN_KIND.SERVER);
    expect(http).toMatchObject({
      name: 'POST /transactions',
      parentSpanId: clientSpanId,
      attributes: {
        'http.request.method': 'POST',
        'http.route': '/transactions',
        'http.response.status_code': 201,
        'protobank.request_id': res.headers['x-request-id'],
      },
    });

    // The relay's publish span, in the trace of the request that wrote the outbox row.
    const publish = spans.find(
      (s) => s.kind === SPAN_KIND.PRODUCER && s.name === 'publish transaction.created',
    );
    expect(publish).toMatchObject({
      service: 'transactions',
      attributes: {
        'messaging.system': 'rabbitmq',
        'messaging.operation.type': 'send',
        'messaging.rabbitmq.destination.routing_key': 'transaction.created',
      },
    });
    // Its ancestors lead up to the HTTP span (the ledger posting ran inside the request).
    const ancestors: string[] = [];
    for (let p = byId.get(publish!.parentSpanId); p; p = byId.get(p.parentSpanId)) ancestors.push(p.spanId);
    expect(ancestors).toContain(http!.spanId);

    // Each consumer's span is a child of the publish span (its context came in the message headers).
    for (const service of ['notifications', 'analytics']) {
      const consumer = spans.find(
        (s) =>
          s.service === service && s.kind === SPAN_KIND.CONSUMER && s.name === 'process transaction.created',
      );
      expect(consumer).toMatchObject({
        parentSpanId: publish!.spanId,
        attributes: {
          'messaging.system': 'rabbitmq',
          'messaging.operation.type': 'process',
          'messaging.consumer.group.name': service,
          'messaging.message.id': publish!.attributes['messaging.message.id'],
        },
      });
    }

    // Nothing secret rides on any span of the run: no token, no password.
    const everything = JSON.stringify(receiver.spans);
    expect(everything).not.toContain(alice.token);
    expect(everything).not.toContain(running.t.env.ADMIN_PASSWORD);
    // Only traces are exported (metrics stay on /metrics, logs on stdout).
    expect(new Set(receiver.paths)).toEqual(new Set(['/v1/traces']));
  });

  it('follows a contract call over RabbitMQ: the caller’s client span is the parent of the server’s', async () => {
    const admin = await firstAdmin(running);
    const carol = await verifiedCustomer(running, admin, 'traces.carol');
    const traceId = hex(16);
    const clientSpanId = hex(8);
    // Opening an account: accounts asks users (KYC gate) and transactions (the ledger row) by contract.
    await request(running.baseUrl)
      .post('/accounts')
      .set(bearer(carol.token))
      .set('traceparent', `00-${traceId}-${clientSpanId}-01`)
      .send({ type: 'current', currency: 'GBP' })
      .expect(201);
    const spans = await traceOf(
      receiver,
      traceId,
      // Both ends: the caller's client span ends after the reply, so accounts may export it a
      // batch later than transactions exports the server span.
      (all) =>
        all.some((s) => s.service === 'transactions' && s.kind === SPAN_KIND.SERVER) &&
        closed(all, clientSpanId),
      'the contract call to transactions in the trace, with every parent span',
    );
    const server = spans.find((s) => s.service === 'transactions' && s.kind === SPAN_KIND.SERVER)!;
    const client = spans.find((s) => s.spanId === server.parentSpanId);
    expect(client).toMatchObject({
      service: 'accounts',
      kind: SPAN_KIND.CLIENT,
      attributes: { 'messaging.system': 'rabbitmq', 'rpc.method': server.attributes['rpc.method'] },
    });
    expect(server.name).toBe(`process ${server.attributes['rpc.method']}`);
  });
});

describe('traces in the monolith: the in-process event bus and BullMQ jobs carry the trace', () => {
  let receiver: OtlpReceiver;
  let receivers: Receivers;
  let running: Running;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    // Notification e-mails go through a BullMQ delivery job.
    receivers = await startReceivers();
    running = await startTopology('monolith', {
      ...receivers.env,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '200',
    });
  });
  afterAll(async () => {
    await running?.stop();
    await receivers?.stop();
    await receiver?.stop();
  });

  it('one transfer: HTTP, relay publish, one in-process delivery running each module’s handler, the delivery job', async () => {
    const admin = await firstAdmin(running);
    const alice = await verifiedCustomer(running, admin, 'traces.mono.alice');
    const bob = await verifiedCustomer(running, admin, 'traces.mono.bob');
    const a = await openAccount(running, alice);
    const b = await openAccount(running, bob);
    await deposit(running, admin, a, 10000);
    const traceId = hex(16);
    const clientSpanId = hex(8);
    await transfer(running, alice, {
      from_account_id: a.id,
      to_account_id: b.id,
      amount: 500,
      currency: 'GBP',
    })
      .set('traceparent', `00-${traceId}-${clientSpanId}-01`)
      .expect(201);

    const isJob = (s: ReceivedSpan) => s.kind === SPAN_KIND.CONSUMER && 'bullmq.queue.name' in s.attributes;
    const spans = await traceOf(
      receiver,
      traceId,
      (all) =>
        all.filter((s) => s.kind === SPAN_KIND.INTERNAL && s.name.endsWith('.onTransactionCreated')).length >=
          2 &&
        all.some(isJob) &&
        closed(all, clientSpanId),
      'the transfer’s handlers and a delivery job in its trace',
    );
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const ancestry = (s: ReceivedSpan) => {
      const names: string[] = [];
      for (let p = byId.get(s.parentSpanId); p; p = byId.get(p.parentSpanId)) names.push(p.name);
      return names;
    };
    expect(spans.every((s) => s.service === 'monolith')).toBe(true);
    const publish = spans.find((s) => s.name === 'publish transaction.created')!;
    expect(publish.attributes['messaging.system']).toBe('protobank.in_process');
    expect(ancestry(publish)).toContain('POST /transactions');
    const delivery = spans.find((s) => s.name === 'process transaction.created')!;
    expect(delivery).toMatchObject({ kind: SPAN_KIND.CONSUMER, parentSpanId: publish.spanId });
    const handlers = spans.filter((s) => s.parentSpanId === delivery.spanId).map((s) => s.name);
    expect(handlers).toEqual(
      expect.arrayContaining([
        'TransactionNoticesHandler.onTransactionCreated',
        'TransactionCreatedHandler.onTransactionCreated',
      ]),
    );
    // The delivery job's span descends from the notifications handler that queued it.
    const job = spans.find(isJob)!;
    expect(ancestry(job)).toContain('TransactionNoticesHandler.onTransactionCreated');
  });
});

describe('traces off: with OTEL_* unset no SDK is loaded', () => {
  let running: Running;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'protobank-otel-off-'));
    running = await startTopology('monolith', {
      ...OTEL_OFF,
      PB_LOADED_MODULES_DIR: dir,
      NODE_OPTIONS: `--require ${join(ROOT, 'test/support/loaded-modules.js')}`,
    });
  });
  afterAll(async () => {
    await running?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves a transfer having loaded only @opentelemetry/api', async () => {
    const admin = await firstAdmin(running);
    const alice = await verifiedCustomer(running, admin, 'untraced.alice');
    const a = await openAccount(running, alice);
    const b = await openAccount(running, alice);
    await deposit(running, admin, a, 10000);
    await transfer(running, alice, {
      from_account_id: a.id,
      to_account_id: b.id,
      amount: 100,
      currency: 'GBP',
    }).expect(201);
    await running.stop();
    running = undefined as unknown as Running;

    const reports = readdirSync(dir).map(
      (f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as { entry: string; loaded: string[] },
    );
    const monolith = reports.find((r) => r.entry.includes('monolith'));
    expect(monolith).toBeDefined();
    const packages = new Set(
      monolith!.loaded.map((f) => /node_modules[\\/](@opentelemetry[\\/][^\\/]+|bullmq-otel)/.exec(f)?.[1]),
    );
    expect([...packages]).toEqual(['@opentelemetry/api']);
  });

  it('loads the SDK when an OTLP endpoint is set, and not when OTEL_SDK_DISABLED=true (control)', () => {
    const probe = (env: Record<string, string>) =>
      JSON.parse(
        execFileSync(
          process.execPath,
          [
            '-e',
            `require('./dist/libs/platform/src/tracing/tracing.js').startTracing('probe', ${JSON.stringify(env)})
               .then(async (stop) => { const loaded = Object.keys(require.cache).some((f) => f.includes('sdk-node'));
                 await stop?.(); console.log(JSON.stringify({ on: !!stop, loaded })); })`,
          ],
          { cwd: ROOT, encoding: 'utf8' },
        ),
      ) as { on: boolean; loaded: boolean };
    expect(probe({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' })).toEqual({ on: true, loaded: true });
    expect(probe({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_SDK_DISABLED: 'true' })).toEqual({
      on: false,
      loaded: false,
    });
    expect(probe({})).toEqual({ on: false, loaded: false });
  });
});
