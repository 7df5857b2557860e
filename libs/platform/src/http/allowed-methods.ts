import type { FastifyInstance } from 'fastify';
import Router from 'find-my-way';
import { AppError } from '../errors/app-error';

/** One order (the safe methods first), so an Allow header reads the same on every route. */
const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

/**
 * Which methods a path has routes for, known from every route the app registers. Fastify answers a
 * method a path lacks as it answers an unknown path (404); with this, the not-found answer can be a 405
 * naming the methods the path takes (RFC 9110 §15.5.6), so a client that sent PUT where the route takes
 * PATCH learns that, not that the resource does not exist.
 *
 * The paths are matched by find-my-way, the router Fastify itself routes with, built with the same
 * options, so a path matches here exactly when it would match a route there; and, as Nest's Fastify
 * adapter answers a route whose parameter came empty (`/accounts/` for `/accounts/:id`) as not found,
 * such a match does not count. OPTIONS routes are left out: the only one is CORS's catch-all preflight
 * route, which would make every path "allow" OPTIONS.
 */
export class AllowedMethods {
  private readonly router: Router.Instance<Router.HTTPVersion.V1>;
  private readonly methods = new Set<string>();

  /** Records each route as Fastify registers it: call before the app's routes are (before `init`). */
  constructor(fastify: FastifyInstance, routerOptions: { maxParamLength: number }) {
    this.router = Router(routerOptions);
    fastify.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) {
        if (method === 'OPTIONS' || this.router.hasRoute(method as never, route.url)) continue;
        this.router.on(method as never, route.url, () => undefined);
        this.methods.add(method);
      }
    });
  }

  /** The methods `path` (no query string) has routes for, in METHOD_ORDER; none for an unknown path. */
  of(path: string): string[] {
    return [...this.methods].filter((method) => this.routes(method, path)).sort((a, b) => rank(a) - rank(b));
  }

  /** Whether a `method` request to `path` reaches a route (Nest's rule: no parameter but `*` empty). */
  private routes(method: string, path: string): boolean {
    const found = this.router.find(method as never, path);
    return (
      found !== null && Object.entries(found.params).every(([name, value]) => value !== '' || name === '*')
    );
  }

  /**
   * For a request Fastify found no route for: 405 with an Allow header when its path takes other
   * methods, or undefined (the 404 stands).
   */
  refusal(method: string, url: string): AppError | undefined {
    const allowed = this.of(url.split('?')[0]);
    if (allowed.length === 0 || allowed.includes(method)) return undefined;
    return new AppError(405, 'method_not_allowed', `${method} is not allowed on this path`, [
      { field: 'method', message: `this path takes ${allowed.join(', ')}` },
    ]).withHeaders({ Allow: allowed.join(', ') });
  }
}

const rank = (method: string) => {
  const i = METHOD_ORDER.indexOf(method);
  return i === -1 ? METHOD_ORDER.length : i;
};
