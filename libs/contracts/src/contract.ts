/** The services of the split topology; the monolith hosts them all. */
export type ServiceName =
  'auth' | 'users' | 'accounts' | 'transactions' | 'cards' | 'payments' | 'notifications' | 'analytics';

type AsyncMethods<T> = {
  [K in keyof T]: T[K] extends (...args: never[]) => Promise<unknown> ? K : never;
}[keyof T];

/**
 * A module's public API: the DI token callers inject, the service that owns it and one message pattern
 * per method. The monolith binds the token to the module's own implementation; a split app binds it to
 * a RabbitMQ client built generically from `patterns`, so no module hand-writes proxy code.
 * Arguments and results must be JSON values (bigint is allowed: the codec keeps it).
 */
export interface ContractDef<T> {
  service: ServiceName;
  token: symbol;
  patterns: { [K in AsyncMethods<T>]: string };
}

export function defineContract<T>(def: ContractDef<T>): ContractDef<T> {
  return def;
}
