import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';

interface EdgeScript {
  createEdge(options: {
    port: number;
    host: string;
    upstreams: Record<string, string>;
    readTimeoutMs?: number;
  }): Promise<http.Server>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createEdge } = require('./edge.js') as EdgeScript;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { SERVICE_NAMES } = require('./lib/topology') as { SERVICE_NAMES: string[] };

const READ_TIMEOUT_MS = 300;

/** Every service path of an edge with a 300 ms read timeout goes to `service`; `run` gets the edge. */
async function throughEdge(service: http.RequestListener, run: (edge: http.Server) => Promise<void>) {
  const upstream = http.createServer(service);
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  const edge = await createEdge({
    port: 0,
    host: '127.0.0.1',
    upstreams: Object.fromEntries(SERVICE_NAMES.map((s) => [s, url])),
    readTimeoutMs: READ_TIMEOUT_MS,
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

describe('scripts/edge.js', () => {
  it('answers 504 in the error shape when a service stays silent past the read timeout, as nginx does', async () => {
    // A service that takes the request and never answers (paused, hung).
    const held: http.ServerResponse[] = [];
    await throughEdge(
      (_req, res) => void held.push(res),
      async (edge) => {
        const res = await request(edge).get('/accounts').set('X-Request-Id', 'silent-1');
        expect(res.status).toBe(504);
        expect(res.body).toEqual({
          status: 504,
          code: 'dependency_timeout',
          message: 'The service for this path did not answer in time',
          details: [],
          request_id: 'silent-1',
        });
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
});
