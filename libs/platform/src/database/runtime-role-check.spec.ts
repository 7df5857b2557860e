import type { DataSource } from 'typeorm';
import type { AppConfig } from '../config/app-config';
import { RuntimeRoleCheck } from './runtime-role-check';

/** The boot check itself; what it asks Postgres is in test/database-roles.e2e-spec.ts, on a real server. */
describe('RuntimeRoleCheck', () => {
  const facts = (over: Partial<Record<'superuser' | 'owner' | 'runtime', boolean>>) => [
    { login: 'bank', superuser: false, owner: false, runtime: true, ...over },
  ];
  const check = (nodeEnv: string, rows: unknown[], ownerLogin = false) => {
    const query = jest.fn().mockResolvedValue(rows);
    const boot = new RuntimeRoleCheck(
      { nodeEnv } as AppConfig,
      { query } as unknown as DataSource,
      ownerLogin,
    ).onModuleInit();
    return { boot, query };
  };

  it('lets production start as a plain member of protobank_runtime', async () => {
    await expect(check('production', facts({})).boot).resolves.toBeUndefined();
  });

  it.each([
    [{ superuser: true }, 'is a superuser'],
    [{ owner: true }, 'owns the schema'],
    [{ runtime: false }, 'is not a member of protobank_runtime'],
  ])('refuses production as a login that %j', async (over, reason) => {
    await expect(check('production', facts(over)).boot).rejects.toThrow(
      `the database login "bank" ${reason}: connect as DATABASE_RUNTIME_USER`,
    );
  });

  it('refuses production before the migrations made the schema', async () => {
    await expect(check('production', []).boot).rejects.toThrow('run the migrations first');
  });

  it('does not ask in a context that runs as the owner on purpose (the restore)', async () => {
    const { boot, query } = check('production', facts({ superuser: true }), true);
    await expect(boot).resolves.toBeUndefined();
    expect(query).not.toHaveBeenCalled();
  });

  it('does not ask in development or tests', async () => {
    for (const env of ['development', 'test']) {
      const { boot, query } = check(env, facts({ superuser: true }));
      await expect(boot).resolves.toBeUndefined();
      expect(query).not.toHaveBeenCalled();
    }
  });
});
