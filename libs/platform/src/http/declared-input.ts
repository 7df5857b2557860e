import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { GUARDS_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { validationError } from './validation';

/** What a route reads of the request, from its handler's parameter decorators and its OpenAPI params. */
interface Declared {
  body: boolean;
  query: boolean;
  /** Query parameters documented one by one (`@ApiQuery`), e.g. the stream's access_token. */
  queryNames: Set<string>;
  /** The route checks its input after its own guard (DeclaredInputAfterOwnGuard), not globally. */
  deferred: boolean;
}

/** Where @nestjs/swagger keeps @ApiQuery and @ApiHeader (DECORATORS.API_PARAMETERS, not exported). */
const API_PARAMETERS = 'swagger/apiParameters';

const declaredByHandler = new WeakMap<object, Declared>();

function declared(context: ExecutionContext): Declared {
  const handler = context.getHandler();
  let found = declaredByHandler.get(handler);
  if (!found) {
    const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, context.getClass(), handler.name) ?? {}) as Record<
      string,
      unknown
    >;
    const types = new Set(Object.keys(args).map((key) => Number(key.split(':')[0])));
    const params = (Reflect.getMetadata(API_PARAMETERS, handler) ?? []) as {
      in?: string;
      name?: string;
    }[];
    const own = [
      ...((Reflect.getMetadata(GUARDS_METADATA, context.getClass()) ?? []) as unknown[]),
      ...((Reflect.getMetadata(GUARDS_METADATA, handler) ?? []) as unknown[]),
    ];
    found = {
      deferred: own.includes(DeclaredInputAfterOwnGuard),
      body: types.has(RouteParamtypes.BODY) || types.has(RouteParamtypes.RAW_BODY),
      query: types.has(RouteParamtypes.QUERY),
      queryNames: new Set(params.filter((p) => p.in === 'query' && p.name).map((p) => p.name as string)),
    };
    declaredByHandler.set(handler, found);
  }
  return found;
}

function refuseUndeclared(context: ExecutionContext, route: Declared): true {
  const req = context.switchToHttp().getRequest<{ body?: unknown; query?: unknown }>();
  const unknown: string[] = [];
  if (!route.body && req.body && typeof req.body === 'object') unknown.push(...Object.keys(req.body));
  if (!route.query && req.query && typeof req.query === 'object') {
    unknown.push(...Object.keys(req.query).filter((name) => !route.queryNames.has(name)));
  }
  if (unknown.length) {
    throw validationError(unknown.map((field) => ({ field, message: `property ${field} should not exist` })));
  }
  return true;
}

/**
 * Unknown input is refused everywhere, not only where a DTO validates it: a route that takes no body
 * refuses a body with fields (400 naming them), and one that takes no query DTO refuses query parameters
 * it does not document. Without it, `POST /cards/{id}/freeze {"role":"admin"}` or `GET /accounts?limit=abc`
 * answered 2xx as if the client had been understood. HTTP only (contract calls carry their own shapes).
 * A global guard, run after the caller's and the rate limit's (so a stranger still gets 401 first): an
 * interceptor would do, but would put every request through an RxJS pipeline for it. Global guards run
 * before a controller's own, so a route authenticated by its own guard (the card network's signature,
 * the scraper's token) lists DeclaredInputAfterOwnGuard after it instead.
 */
@Injectable()
export class DeclaredInputGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const route = declared(context);
    return route.deferred || refuseUndeclared(context, route);
  }
}

/** DeclaredInputGuard's check for a route with its own authenticating guard: `@UseGuards(Own, this)`. */
@Injectable()
export class DeclaredInputAfterOwnGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return context.getType() !== 'http' || refuseUndeclared(context, declared(context));
  }
}
