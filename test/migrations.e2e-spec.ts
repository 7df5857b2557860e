/**
 * Migrations own the schema: after all of them run, the entities describe exactly that schema (so
 * `migration:generate` has nothing to add), and every migration's `down` really undoes its `up`.
 */
import { dataSourceOptions, loadConfig } from '@protobank/platform';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { MIGRATIONS } from '@protobank/migrations';
import { DataSource } from 'typeorm';
import { createTestEnv, type TestEnv } from './support/test-env';
import { ensureDatabase } from '@protobank/platform';

// Every *.entity.ts under libs/, found on disk so a new entity cannot be forgotten here.
const LIBS = join(__dirname, '../libs');
const ENTITIES = readdirSync(LIBS, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.entity.ts'))
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  .flatMap((f) => Object.values(require(join(LIBS, f)) as Record<string, unknown>))
  .filter((v): v is new () => unknown => typeof v === 'function');

describe('migrations', () => {
  let t: TestEnv;
  let ds: DataSource;

  beforeAll(async () => {
    t = await createTestEnv('migrations');
    await ensureDatabase(t.databaseUrl);
    ds = new DataSource({ ...dataSourceOptions(loadConfig(t.env)), entities: ENTITIES });
    await ds.initialize();
  });
  afterAll(async () => {
    await ds?.destroy();
    await t?.cleanup();
  });

  const schemas = async () =>
    (
      (await ds.query(
        `SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg_%' AND nspname <> 'information_schema' ORDER BY 1`,
      )) as { nspname: string }[]
    ).map((r) => r.nspname);

  it('finds the entities', () => {
    expect(ENTITIES.map((e) => e.name).sort()).toEqual(
      expect.arrayContaining(['CredentialEntity', 'NotificationEntity', 'UserEntity']),
    );
  });

  it('applies every migration, leaving nothing for the entities to change', async () => {
    const applied = await ds.runMigrations({ transaction: 'each' });
    expect(applied).toHaveLength(MIGRATIONS.length);
    expect(await ds.showMigrations()).toBe(false);
    const diff = await ds.driver.createSchemaBuilder().log();
    expect(diff.upQueries.map((q) => q.query)).toEqual([]);
  });

  it('reverts every migration down to an empty database, then applies them again', async () => {
    for (let i = 0; i < MIGRATIONS.length; i++) await ds.undoLastMigration({ transaction: 'each' });
    expect(await schemas()).toEqual(['public']);
    const tables = (await ds.query(
      `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'migrations'`,
    )) as { n: number }[];
    expect(tables[0].n).toBe(0);
    await ds.runMigrations({ transaction: 'each' });
    expect(await schemas()).toEqual([
      'accounts',
      'analytics',
      'auth',
      'cards',
      'notifications',
      'payments',
      'public',
      'transactions',
      'users',
    ]);
  });
});
