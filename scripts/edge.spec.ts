import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';

interface EdgeScript {
  createEdge(options: {
    port: number;
    host: string;
    upstreams: Record<string, string>;
    readTimeoutMs?: number;
    maxSockets?: number;
  }): Promise<http.Server>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createEdge } = require('./edge.js') as EdgeScript;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { SERVICE_NAMES } = require('./lib/topology') as { SERVICE_NAMES: string[] };

const READ_TIMEOUT_MS = 300;

/** Every service path of an edge with a 300 ms read timeout goes to `service`; `run` gets the edge. */
async function throughEdge(
  service: http.RequestListener,
  run: (edge: http.Server) => Promise<void>,
  maxSockets?: number,
) {
  const upstream = http.createServer(service);
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const edge = await createEdge({
    port: 0,
    host: '127.0.0.1',
    upstreams: Object.fromEntries(SERVICE_NAMES.map((s) => [s, url])),
    readTimeoutMs: READ_TIMEOUT_MS,
    maxSockets,
  });
  try {
    await run(edge);
  } finally {
    edge.closeAllConnections();
    upstream.closeAllConnections();
    await new Promise((r) => edge.close(r));
    await new Promise((r) => upstream.close(r));
  }
}

/** The edge's 504 for a service that did not answer in time, in the one error shape. */
function expectTimedOut(res: request.Response, requestId: string) {
  expect([res.status, res.body]).toEqual([
    504,
    {
      status: 504,
      code: 'dependency_timeout',
      message: 'The service for this path did not answer in time',
      details: [],
      request_id: requestId,
    },
  ]);
}

describe('scripts/edge.js', () => {
  it('answers 504 in the error shape when a service stays silent past the read timeout, as nginx does', async () => {
    // A service that takes the request and never answers (paused, hung).
    const held: http.ServerResponse[] = [];
    await throughEdge(
      (_req, res) => void held.push(res),
      async (edge) => {
        const res = await request(edge).get('/accounts').set('X-Request-Id', 'silent-1');
        expectTimedOut(res, 'silent-1');
        expect(held.length).toBe(1);
      },
    );
  });

  it('stops the silence timer once the service has answered: a body that follows later arrives whole', async () => {
    // Headers and a first part at once, the rest after more than twice the read timeout.
    await throughEdge(
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"items":[');
        setTimeout(() => res.end('1,2,3]}'), READ_TIMEOUT_MS * 2.5);
      },
      async (edge) => {
        const res = await request(edge).get('/accounts').set('X-Request-Id', 'slow-body-1');
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ items: [1, 2, 3] });
      },
    );
  });
  /** A service whose /notifications/stream answers at once and never ends (as a stream), the rest 200. */
  const streamsAndRest =
    (opened: http.ServerResponse[]): http.RequestListener =>
    (req, res) => {
      if (decodeURIComponent(req.url ?? '') === '/notifications/stream') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('retry: 3000\n\n');
        opened.push(res);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"count":0}');
    };

  /** Opens a stream through the edge and resolves once its first bytes arrive (the response stays open). */
  const openStream = (edge: http.Server, headers: http.OutgoingHttpHeaders, path = '/notifications/stream') =>
    new Promise<http.ClientRequest>((resolve, reject) => {
      const { port } = edge.address() as AddressInfo;
      const req = http.get({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
        expect(res.statusCode).toBe(200);
        res.once('data', () => resolve(req));
      });
      req.on('error', reject);
    });

  it('gives a stream route its own connection even without Accept: text/event-stream, so streams never hold the pool', async () => {
    const opened: http.ServerResponse[] = [];
    await throughEdge(
      streamsAndRest(opened),
      async (edge) => {
        // Twice the pool in streams asked for without the Accept header (helper-133: they took pooled
        // connections, and the service's other routes then waited without end).
        // Also spelled with a percent-encoded letter, which the services' router decodes (helper-135).
        const streams = await Promise.all(
          [
            '/notifications/stream',
            '/notifications/%73tream',
            '/notifications/%73%74ream',
            '/notifications/stream',
          ].map((path) => openStream(edge, { authorization: 'Bearer x' }, path)),
        );
        try {
          expect(opened.length).toBe(4);
          const res = await request(edge)
            .get('/notifications/unread-count')
            .set('X-Request-Id', 'beside-streams');
          expect([res.status, res.body]).toEqual([200, { count: 0 }]);
        } finally {
          for (const s of streams) s.destroy();
        }
      },
      2,
    );
  });

  it('answers 504 for a request that waited the read timeout for a pooled connection, rather than queueing it without end', async () => {
    // Each ordinary request answers its headers and then holds its body: the one pooled connection stays busy.
    const held: http.ServerResponse[] = [];
    await throughEdge(
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"items":[');
        held.push(res);
      },
      async (edge) => {
        const { port } = edge.address() as AddressInfo;
        const first = http.get({ host: '127.0.0.1', port, path: '/accounts', agent: false });
        await new Promise((r) => first.once('response', r));
        const started = Date.now();
        const res = await request(edge).get('/accounts').set('X-Request-Id', 'queued-1');
        expectTimedOut(res, 'queued-1');
        expect(held.length).toBe(1); // the second never reached the service
        expect(Date.now() - started).toBeGreaterThanOrEqual(READ_TIMEOUT_MS - 20);
        first.destroy();
      },
      1,
    );
  });
});
