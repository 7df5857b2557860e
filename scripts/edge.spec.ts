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

describe('scripts/edge.js', () => {
  it('answers 504 in the error shape when a service stays silent past the read timeout, as nginx does', async () => {
    // A service that takes the request and never answers (paused, hung).
    const held: http.ServerResponse[] = [];
    const silent = http.createServer((_req, res) => void held.push(res));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const edge = await createEdge({
      port: 0,
      host: '127.0.0.1',
      upstreams: Object.fromEntries(SERVICE_NAMES.map((s) => [s, url])),
      readTimeoutMs: 300,
    });
    try {
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
    } finally {
      for (const res of held) res.destroy();
      edge.closeAllConnections();
      silent.closeAllConnections();
      await new Promise((r) => edge.close(r));
      await new Promise((r) => silent.close(r));
    }
  });
});
