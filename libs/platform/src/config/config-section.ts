import type { DynamicModule, FactoryProvider } from '@nestjs/common';
import { MODULE_METADATA } from '@nestjs/common/constants';
import type { AppConfig } from './app-config';
import { ConfigError, readVariables, type ConfigSchema, type ConfigValues } from './variables';

/**
 * A module's own configuration (DESIGN §8): a class next to the module, with the variables it reads
 * (`variables`, specs as in CONFIG_SCHEMA) and a constructor that types them. The module provides it
 * with configProvider(); runApp checks the configuration of every module the app hosts, with the
 * platform's, before anything connects (a bad value stops the app naming it), and an app never reads
 * the variables of a module it does not host.
 */
export interface ConfigSection<T, S extends ConfigSchema = ConfigSchema> {
  readonly variables: S;
  new (values: ConfigValues<S>, production: boolean): T;
  /**
   * Rules over several variables at once (two that go together, one production requires); `platform` is
   * the platform's configuration, for a rule over its variables too (undefined when it did not load).
   */
  problems?(values: ConfigValues<S>, production: boolean, platform: AppConfig | undefined): string[];
}

/** Any module's configuration class, whatever its variables: for what only looks the instance up. */
export type SectionClass<T> = { readonly variables: ConfigSchema; new (...args: never[]): T };

/** The variable a problem names: its first word. */
const named = (problem: string) => problem.slice(0, problem.indexOf(' '));

/** `more` less the problems of a variable `found` already has one of: one problem per variable. */
export function withoutNamed(more: string[], found: string[]): string[] {
  const taken = new Set(found.map(named));
  return more.filter((problem) => !taken.has(named(problem)));
}

/**
 * The environment an app was started with (process.env, or a test's), from which each module's
 * configuration is read, once. It keeps the environment to itself: nothing else reads it.
 */
export class ConfigSource {
  readonly #env: NodeJS.ProcessEnv;
  readonly #platform: AppConfig | undefined;
  readonly #loaded = new Map<object, unknown>();

  /** `platform`: the platform's configuration read from the same environment, for the sections' rules. */
  constructor(env: NodeJS.ProcessEnv, platform?: AppConfig) {
    this.#env = env;
    this.#platform = platform;
  }

  get production(): boolean {
    return this.#env.NODE_ENV === 'production';
  }

  /** The section's variables read, checked and typed (once); ConfigError naming every bad one. */
  load<T, S extends ConfigSchema>(section: ConfigSection<T, S>): T {
    if (this.#loaded.has(section)) return this.#loaded.get(section) as T;
    const { values, problems } = readVariables(section.variables, this.#env);
    problems.push(
      ...withoutNamed(section.problems?.(values, this.production, this.#platform) ?? [], problems),
    );
    if (problems.length) throw new ConfigError(problems);
    const config = new section(values, this.production);
    this.#loaded.set(section, config);
    return config;
  }

  /** Every problem of these sections' variables, in their order (none: all of them load). */
  problems(sections: Iterable<SectionClass<unknown>>): string[] {
    const found: string[] = [];
    for (const section of sections) {
      try {
        this.load(section as unknown as ConfigSection<unknown>);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        found.push(...err.problems);
      }
    }
    return found;
  }
}

/** The provider of a module's configuration class, built from the app's ConfigSource. */
export function configProvider<T, S extends ConfigSchema>(section: ConfigSection<T, S>): FactoryProvider<T> {
  return {
    provide: section,
    useFactory: (source: ConfigSource) => source.load(section),
    inject: [ConfigSource],
  };
}

const isSectionProvider = (p: unknown): p is { provide: SectionClass<unknown> } =>
  typeof p === 'object' &&
  p !== null &&
  'provide' in p &&
  'useFactory' in p &&
  typeof p.provide === 'function' &&
  'variables' in p.provide;

/**
 * The configuration sections (configProvider) that these modules and everything they import provide,
 * read from their @Module metadata: what an app hosting them must be configured for.
 */
export function sectionsOf(modules: readonly unknown[]): Set<SectionClass<unknown>> {
  const found = new Set<SectionClass<unknown>>();
  const seen = new Set<unknown>();
  const visit = (entry: unknown): void => {
    // forwardRef(() => Module); an async dynamic module (a promise) configures only itself.
    const item =
      typeof entry === 'object' && entry !== null && 'forwardRef' in entry
        ? (entry as { forwardRef: () => unknown }).forwardRef()
        : entry;
    if (!item || item instanceof Promise || seen.has(item)) return;
    seen.add(item);
    const dynamic = typeof item === 'object' && 'module' in item ? (item as DynamicModule) : undefined;
    const type = dynamic ? dynamic.module : item;
    const declared = (key: string) => (Reflect.getMetadata(key, type as object) ?? []) as unknown[];
    for (const provider of [...declared(MODULE_METADATA.PROVIDERS), ...(dynamic?.providers ?? [])])
      if (isSectionProvider(provider)) found.add(provider.provide);
    for (const imported of [...declared(MODULE_METADATA.IMPORTS), ...(dynamic?.imports ?? [])])
      visit(imported);
  };
  modules.forEach(visit);
  return found;
}
