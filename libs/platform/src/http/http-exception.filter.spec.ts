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

  it('logs a 503 or 504 the code chose at warn with its code and details, and any other 5xx at error with the error', async () => {
    const logged: { level: string; fields: Record<string, unknown>; message: string }[] = [];
    const logger = Object.fromEntries(
      ['error', 'warn'].map((level) => [
        level,
        (fields: Record<string, unknown>, message: string) => logged.push({ level, fields, message }),
      ]),
    ) as never;
    const app = Fastify();
    app.setErrorHandler((err, req, reply) => sendError(reply, err, logger, req));
    app.get('/timeout', async () => {
      throw new AppError(504, 'dependency_timeout', 'A service this request needs did not answer in time');
    });
    app.get('/busy', async () => {
      throw new AppError(503, 'ledger_busy', 'The ledger is busy');
    });
    app.get('/not-ready', async () => {
      throw new AppError(503, 'not_ready', 'not ready: postgres', [
        { field: 'postgres', message: 'timeout of 3000ms exceeded' },
      ]).logged({ user_id: 'u1' });
    });
    app.get('/bug', async () => {
      throw new TypeError('x is undefined');
    });
    app.get('/not-here', async () => {
      throw new AppError(501, 'unknown_pattern', 'This operation is not available here');
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };
    const statuses = [];
    for (const path of ['/timeout', '/busy', '/not-ready', '/bug', '/not-here?access_token=secret'])
      statuses.push((await fetch(`http://127.0.0.1:${port}${path}`)).status);
    await app.close();
    expect(statuses).toEqual([504, 503, 503, 500, 501]);
    expect(logged.map((l) => [l.level, l.fields.code ?? (l.fields.err as Error).name])).toEqual([
      ['warn', 'dependency_timeout'],
      ['warn', 'ledger_busy'],
      ['warn', 'not_ready'],
      ['error', 'TypeError'],
      ['error', 'AppError'],
    ]);
    expect(logged[0]).toEqual({
      level: 'warn',
      fields: { status: 504, code: 'dependency_timeout', method: 'GET', path: '/timeout' },
      message: 'unavailable: A service this request needs did not answer in time',
    });
    // What failed (readiness names it in details only) and the fields its thrower marked.
    expect(logged[2].fields).toEqual({
      status: 503,
      code: 'not_ready',
      details: [{ field: 'postgres', message: 'timeout of 3000ms exceeded' }],
      user_id: 'u1',
      method: 'GET',
      path: '/not-ready',
    });
    // The path without its query: a query string may carry an access token.
    expect(logged[4].fields.path).toBe('/not-here');
  });
});
