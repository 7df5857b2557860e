import { Global, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { configProvider, ConfigSource, sectionsOf, withoutNamed } from './config-section';
import { ConfigError, type ConfigValues } from './variables';

const SHOP_VARIABLES = {
  SHOP_NAME: { kind: 'string', default: 'corner', doc: 'The shop.' },
  SHOP_SECRET: { kind: 'string', secret: true, doc: 'Its secret.' },
  SHOP_SIZE: { kind: 'int', min: 1, max: 9, default: '3', doc: 'How big.' },
} as const;

let built = 0;

class ShopConfig {
  static readonly variables = SHOP_VARIABLES;
  readonly name: string;
  readonly size: number;
  constructor(v: ConfigValues<typeof SHOP_VARIABLES>) {
    built++;
    this.name = v.SHOP_NAME!;
    this.size = Number(v.SHOP_SIZE);
  }
  static problems(v: ConfigValues<typeof SHOP_VARIABLES>, production: boolean): string[] {
    return [
      ...(production && v.SHOP_SECRET === undefined ? ['SHOP_SECRET must be set in production'] : []),
      ...(v.SHOP_SIZE === '9' && v.SHOP_NAME === 'corner' ? ['SHOP_SIZE of 9 is no corner shop'] : []),
    ];
  }
}

class StallConfig {
  static readonly variables = {
    STALL_OPEN: { kind: 'enum', values: ['yes', 'no'], default: 'yes', doc: '' },
  } as const;
}

const problemsOf = (env: NodeJS.ProcessEnv) => new ConfigSource(env).problems([ShopConfig, StallConfig]);

describe('ConfigSource', () => {
  it('types a section from its variables, defaults included, and builds it once', () => {
    const source = new ConfigSource({ SHOP_SIZE: '5' });
    built = 0;
    const config = source.load(ShopConfig);
    expect([config.name, config.size]).toEqual(['corner', 5]);
    expect(source.load(ShopConfig)).toBe(config);
    expect(built).toBe(1);
  });

  it("names every bad variable of every section, each once, and none of a secret's value", () => {
    expect(problemsOf({ SHOP_SIZE: '0', STALL_OPEN: 'maybe' })).toEqual([
      'SHOP_SIZE must be at least 1, got 0',
      'STALL_OPEN must be one of yes, no, got "maybe"',
    ]);
    // A rule over several variables says nothing more of one already refused.
    expect(problemsOf({ NODE_ENV: 'production', SHOP_SIZE: '10' })).toEqual([
      'SHOP_SIZE must be at most 9, got 10',
      'SHOP_SECRET must be set in production',
    ]);
    expect(problemsOf({ SHOP_SIZE: '9' })).toEqual(['SHOP_SIZE of 9 is no corner shop']);
    const refused = problemsOf({ NODE_ENV: 'production', SHOP_SECRET: 'dev-only-shop-secret' });
    expect(refused).toEqual([expect.stringMatching(/^SHOP_SECRET holds a development value/)]);
    expect(refused[0]).not.toContain('dev-only-shop-secret');
    expect(() => new ConfigSource({ SHOP_SIZE: 'x' }).load(ShopConfig)).toThrow(ConfigError);
  });

  it('keeps the environment to itself', () => {
    const source = new ConfigSource({ SHOP_SECRET: 'kept-to-itself' });
    expect(JSON.stringify(source)).not.toContain('kept-to-itself');
    expect(Object.keys(source)).toEqual([]);
  });
});

describe('withoutNamed', () => {
  it('drops the problems of a variable that already has one', () => {
    expect(withoutNamed(['A is bad', 'B is bad'], ['A must be set'])).toEqual(['B is bad']);
  });
});

describe('sections of a module graph', () => {
  @Module({ providers: [configProvider(StallConfig)], exports: [StallConfig] })
  class StallConfigModule {}

  @Module({ imports: [StallConfigModule], providers: [configProvider(ShopConfig)] })
  class ShopModule {}

  @Module({})
  class EmptyModule {}

  it('finds what every module provides, through static and dynamic imports', () => {
    expect([...sectionsOf([ShopModule])]).toEqual([ShopConfig, StallConfig]);
    expect([...sectionsOf([{ module: EmptyModule, imports: [ShopModule] }, EmptyModule])]).toEqual([
      ShopConfig,
      StallConfig,
    ]);
    expect([...sectionsOf([EmptyModule])]).toEqual([]);
  });

  it('provides the section to the module, from the ConfigSource the app was given', async () => {
    // As PlatformModule does: the app's ConfigSource, global.
    @Global()
    @Module({
      providers: [{ provide: ConfigSource, useValue: new ConfigSource({ SHOP_NAME: 'kiosk' }) }],
      exports: [ConfigSource],
    })
    class SourceModule {}
    const app = await Test.createTestingModule({ imports: [SourceModule, ShopModule] }).compile();
    expect(app.get(ShopConfig).name).toBe('kiosk');
    await app.close();
  });
});
