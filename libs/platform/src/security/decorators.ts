import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import type { Caller } from '../context/request-context';
import type { Role } from './access-token';

export const PUBLIC_ROUTE = Symbol('PUBLIC_ROUTE');
export const ROLES = Symbol('ROLES');
export const TOKEN_IN_QUERY = Symbol('TOKEN_IN_QUERY');

/** The route needs no access token (health, docs, login, registration). Every other route does. */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);

/** The route is for these roles only (403 for the others); without it any signed-in user may call it. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES, roles);

/**
 * The route also takes the access token as `?access_token=` (a browser's EventSource cannot set headers).
 * Only for long-lived GET streams: a token in a URL can end up in proxy logs, so keep it to where needed.
 */
export const TokenInQuery = () => SetMetadata(TOKEN_IN_QUERY, true);

/** The verified caller of the request: `@CurrentCaller() caller: Caller`. */
export const CurrentCaller = createParamDecorator((_data: unknown, ctx: ExecutionContext): Caller => {
  const caller = ctx.switchToHttp().getRequest<{ caller?: Caller }>().caller;
  if (!caller) throw new Error('CurrentCaller used on a public route');
  return caller;
});
