import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { AppError } from '../errors/app-error';
import { AllowedMethods } from './allowed-methods';

const OPTIONS = { maxParamLength: 500 };

/**
 * A Fastify app with these routes, indexed as configureHttp does (before the routes are added), each
 * handler answering as Nest's Fastify adapter wraps it: a parameter but `*` that came empty is not found.
 */
async function appWith(routes: [method: string | string[], url: string][]) {
  const app = Fastify({ routerOptions: OPTIONS });
  const allowed = new AllowedMethods(app, OPTIONS);
  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const params = Object.entries(req.params as Record<string, string>);
    if (params.some(([name, value]) => value === '' && name !== '*')) return reply.callNotFound();
    return {};
  };
  for (const [method, url] of routes) app.route({ method, url, handler });
  // What CORS adds: a catch-all OPTIONS route, which must not make every path "allow" OPTIONS.
  app.options('*', async () => ({}));
  await app.ready();
  return { app, allowed };
}

describe('AllowedMethods', () => {
  it("lists the methods a path's routes take, HEAD with GET, safe methods first", async () => {
    const { app, allowed } = await appWith([
      ['DELETE', '/accounts/:id'],
      ['GET', '/accounts/:id'],
      ['PATCH', '/accounts/:id'],
      ['POST', '/accounts'],
      ['GET', '/accounts'],
      ['GET', '/accounts/:id/statements'],
      [['PUT', 'POST'], '/payees/:id'],
    ]);
    expect(allowed.of('/accounts/9f1c')).toEqual(['GET', 'HEAD', 'PATCH', 'DELETE']);
    expect(allowed.of('/accounts')).toEqual(['GET', 'HEAD', 'POST']);
    expect(allowed.of('/accounts/9f1c/statements')).toEqual(['GET', 'HEAD']);
    expect(allowed.of('/payees/1')).toEqual(['POST', 'PUT']);
    expect(allowed.of('/nowhere')).toEqual([]);
    await app.close();
  });

  it('matches a path exactly when Fastify routes it (odd paths included)', async () => {
    const { app, allowed } = await appWith([
      ['GET', '/accounts/:id'],
      ['POST', '/accounts'],
      ['GET', '/accounts/:id/statements'],
      ['GET', '/docs/*'],
    ]);
    const paths = [
      '/accounts',
      '/accounts/',
      '/accounts/x',
      '/Accounts',
      '/accounts/x/statements',
      '/accounts/x/statements/',
      '/accounts/x/y',
      '/accounts//statements',
      '/docs/a/b',
      '/docs/',
      '/docs',
      '//accounts',
    ];
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      for (const url of paths) {
        const routed: string[] = [];
        for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']) {
          const res = await fetch(`${base}${url}`, { method });
          await res.arrayBuffer();
          if (res.status !== 404) routed.push(method);
        }
        expect({ url, methods: allowed.of(url) }).toEqual({ url, methods: routed });
      }
    } finally {
      // Closed also when an expectation fails: an open server would keep Jest from exiting.
      await app.close();
    }
  });

  it('refuses a method the path does not take with 405, Allow and the method named; leaves unknown paths and taken methods alone', async () => {
    const { app, allowed } = await appWith([
      ['GET', '/accounts'],
      ['POST', '/accounts'],
    ]);
    for (const method of ['PUT', 'DELETE', 'TRACE', 'OPTIONS']) {
      const refusal = allowed.refusal(method, '/accounts?limit=5');
      expect(refusal).toBeInstanceOf(AppError);
      expect(refusal!.toBody()).toEqual({
        status: 405,
        code: 'method_not_allowed',
        message: `${method} is not allowed on this path`,
        details: [{ field: 'method', message: 'this path takes GET, HEAD, POST' }],
      });
      expect(refusal!.headers).toEqual({ Allow: 'GET, HEAD, POST' });
    }
    expect(allowed.refusal('TRACE', '/nowhere')).toBeUndefined();
    expect(allowed.refusal('GET', '/accounts')).toBeUndefined();
    await app.close();
  });
});
