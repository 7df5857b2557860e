import { isCalendarDate } from '../time/calendar-date';
import { developmentSecret, refusal } from './committed-secrets';
import type { VariableSpec } from './config.schema';
import { readVariable } from './env-reader';

/** A set of variables and their specs: the platform's (CONFIG_SCHEMA) or a module's own. */
export type ConfigSchema = Readonly<Record<string, VariableSpec>>;

/** Each variable of a schema as read (its default when unset); undefined when unset without a default. */
export type ConfigValues<S extends ConfigSchema> = { readonly [K in keyof S]: string | undefined };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** The items of a comma-separated variable, trimmed, empty ones left out. */
export const listItems = (value: string) =>
  value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);

const LOOPBACK_HOSTS = /^(localhost|127(\.\d{1,3}){3}|\[::1\]|::1)$/;

/** Whether a URL's host never leaves this machine (a sidecar, a relay on localhost). */
export const isLoopbackHost = (host: string) => LOOPBACK_HOSTS.test(host);

/**
 * Reads every variable of `schema` from `env` (a secret also from NAME_FILE), applies defaults and checks
 * each against its spec; in production, a secret must be set explicitly and must not be a development or
 * committed value. Answers the values and every problem found (each naming its variable, never repeating
 * a secret's value).
 */
export function readVariables<S extends ConfigSchema>(
  schema: S,
  env: NodeJS.ProcessEnv,
): { values: ConfigValues<S>; problems: string[] } {
  const problems: string[] = [];
  const values: Record<string, string | undefined> = {};
  const production = env.NODE_ENV === 'production';
  for (const [name, spec] of Object.entries(schema)) {
    let raw: string | undefined;
    try {
      raw = spec.secret ? readVariable(env, name) : env[name] === '' ? undefined : env[name];
    } catch (err) {
      problems.push((err as Error).message);
      continue;
    }
    const explicit = raw !== undefined;
    const value = raw ?? spec.default;
    if (value !== undefined) {
      const problem = check(name, spec, value);
      if (problem) problems.push(problem);
    }
    if (production && spec.secret && value !== undefined) {
      if (!explicit && spec.default !== undefined) {
        problems.push(`${name} must be set explicitly in production (the default is for development only)`);
      } else {
        const why =
          developmentSecret(value) ??
          (spec.devValues?.some((dev) => value.includes(dev)) ? 'it is a well-known password' : undefined);
        if (why) problems.push(refusal(name, env, why));
      }
    }
    values[name] = value;
  }
  return { values: values as ConfigValues<S>, problems };
}

function check(name: string, spec: VariableSpec, value: string): string | undefined {
  switch (spec.kind) {
    case 'int': {
      if (!/^-?\d+$/.test(value)) return `${name} must be an integer, got "${value}"`;
      const n = Number(value);
      if (spec.min !== undefined && n < spec.min) return `${name} must be at least ${spec.min}, got ${n}`;
      if (spec.max !== undefined && n > spec.max) return `${name} must be at most ${spec.max}, got ${n}`;
      return undefined;
    }
    case 'enum':
      return spec.values!.includes(value)
        ? undefined
        : `${name} must be one of ${spec.values!.join(', ')}, got "${value}"`;
    case 'url': {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        return `${name} is not a valid URL`;
      }
      return spec.protocols && !spec.protocols.includes(url.protocol)
        ? `${name} must use ${spec.protocols.join(' or ')}, got ${url.protocol}`
        : undefined;
    }
    case 'time_zone':
      try {
        new Intl.DateTimeFormat('en-GB', { timeZone: value });
        return undefined;
      } catch {
        return `${name} must be an IANA time zone such as Europe/London, got "${value}"`;
      }
    case 'list': {
      if (!spec.values) return undefined;
      const items = listItems(value);
      const bad = items.filter((v) => !spec.values!.includes(v));
      if (bad.length)
        return `${name} may hold only ${spec.values.join(', ')}, got ${bad.map((v) => `"${v}"`).join(', ')}`;
      if (name === 'BANK_WEEKEND' && new Set(items.filter((v) => v !== 'none')).size >= 7)
        return `${name} must leave at least one working day`;
      return undefined;
    }
    case 'date_list': {
      const bad = listItems(value).filter((d) => !isCalendarDate(d));
      return bad.length
        ? `${name} must hold ISO dates (YYYY-MM-DD), got ${bad.map((d) => `"${d}"`).join(', ')}`
        : undefined;
    }
    case 'email':
      return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value) ? undefined : `${name} must be an e-mail address`;
    default:
      // A secret's value is never repeated (the message ends up in logs).
      return spec.pattern && !spec.pattern.test(value)
        ? `${name} must match ${String(spec.pattern)}${spec.secret ? '' : `, got "${value}"`}`
        : undefined;
  }
}
