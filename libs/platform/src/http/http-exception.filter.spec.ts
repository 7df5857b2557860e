import Fastify from 'fastify';
import { AppError } from '../errors/app-error';
import { sendError } from './http-exception.filter';

const quietLogger = { error: () => undefined } as never;

describe('sendError', () => {
  it('marks an error no-store even on a route whose answers may be cached', async () => {
    const app = Fastify();
    app.setErrorHandler((err, req, reply) => sendError(reply, err, quietLogger, req));
    app.get('/public', async (_req, reply) => {
      void reply.header('Cache-Control', 'public, max-age=300');
      throw AppError.notFound('key');
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };
    const res = await fetch(`http://127.0.0.1:${port}/public`);
    const body: unknown = await res.json();
    await app.close();
    expect(res.status).toBe(404);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(body).toMatchObject({ status: 404, code: 'not_found' });
  });
});
