import Fastify from 'fastify';
import { connect } from 'node:net';
import { requestContext } from '../context/request-context';
import { trustProxyOption } from './configure-http';
import { requestHooks } from './request-hooks';
import type { MetricsService } from '../metrics/metrics.service';

const quietLogger = { info: () => undefined, debug: () => undefined } as never;
const metrics = { httpDuration: { observe: () => undefined } } as unknown as MetricsService;

describe('request hooks', () => {
  it("never leave one request's context (request id, caller) for the next on a keep-alive connection", async () => {
    const app = Fastify();
    const seenEarly: unknown[] = [];
    // Stands in for hooks registered before ours (the adapter's CORS and security hooks).
    app.addHook('onRequest', (_req, _reply, done) => {
      seenEarly.push(requestContext.current());
      done();
    });
    requestHooks(app, quietLogger, metrics, [['X-Test', '1']]);
    const seenInHandler: unknown[] = [];
    app.post('/who', async () => {
      seenInHandler.push(requestContext.current()?.requestId);
      requestContext.setCaller({ user_id: 'alice', role: 'admin' });
      return {};
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };
    const socket = connect(port, '127.0.0.1');
    // Each request is sent once the one before has been answered in full (its `{}` body), on one socket.
    let received = '';
    let answered = () => undefined as void;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString();
      answered();
    });
    const responses = () => received.split('\r\n\r\n{}').length - 1;
    const send = (id: string) =>
      new Promise<void>((resolve) => {
        const want = responses() + 1;
        answered = () => {
          if (responses() >= want) resolve();
        };
        socket.write(
          `POST /who HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${id}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`,
        );
      });
    await send('first');
    await send('second');
    socket.destroy();
    await app.close();
    expect(received.match(/HTTP\/1\.1 \d+/g)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 200']);
    expect(seenEarly).toEqual([undefined, undefined]);
    expect(seenInHandler).toEqual(['first', 'second']);
  });

  it('reads TRUST_PROXY hop counts as a function (Fastify ignores a plain number)', () => {
    const trust = trustProxyOption(1) as (address: string, hop: number) => boolean;
    expect([trust('10.0.0.2', 0), trust('203.0.113.7', 1)]).toEqual([true, false]);
    expect(trustProxyOption('loopback')).toBe('loopback');
  });
});
