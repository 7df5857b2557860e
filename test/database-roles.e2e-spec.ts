/**
 * The apps' database login has the rows' privileges and nothing more (migration 1763700000031, made a
 * login by migrate): it cannot change the schema, switch off the ledger's append-only triggers, rewrite
 * the journal or the audit trail, or record a backup, on every table of every module's schema, including
 * tables later migrations add. Its password reaches Postgres as the SCRAM verifier Postgres itself would
 * store. Production apps refuse a login that could do more (runtimeRoleProblem).
 *
 * The topologies' apps run as such a login in every other e2e suite, so a privilege the code needs and
 * the grants lack fails there.
 */
import { ensureRuntimeLogin, runtimeRoleProblem, scramVerifier } from '@protobank/platform';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Client } from 'pg';
import { MODULE_SCHEMAS } from '../migrations/1763700000000-Foundation';
import { processes } from './support/processes';
import { createTestEnv, type TestEnv } from './support/test-env';

const APPEND_ONLY = ['transactions.entries', 'transactions.postings', 'users.audit_log'];
const DENIED = '42501'; // insufficient_privilege

describe('the runtime database login', () => {
  let t: TestEnv;
  let owner: Client;
  let app: Client;
  const extraRoles: string[] = [];

  const connectAs = async (user: string) => {
    const url = new URL(t.databaseUrl);
    url.username = user;
    const client = new Client({ connectionString: url.toString() });
    await client.connect();
    return client;
  };
  const problem = (client: Client) => runtimeRoleProblem((sql) => client.query(sql).then((r) => r.rows));
  const refusal = (client: Client, sql: string) =>
    client.query(sql).then(
      () => 'allowed',
      (err: { code?: string }) => err.code,
    );

  beforeAll(async () => {
    t = await createTestEnv('roles');
    await processes.runOnce('migrate', t.env, { logFile: join(t.logDir, 'migrate.log') });
    owner = await t.db();
    app = await connectAs(t.env.DATABASE_RUNTIME_USER);
  });
  afterAll(async () => {
    await app?.end();
    for (const role of extraRoles) await owner?.query(`DROP ROLE IF EXISTS ${role}`);
    await t?.cleanup();
  });

  it('is a plain login in protobank_runtime, which production apps accept; the owner they refuse', async () => {
    const { rows } = await owner.query(
      `SELECT rolsuper, rolcreatedb, rolcreaterole, rolbypassrls, rolcanlogin,
              pg_has_role(rolname, 'protobank_runtime', 'MEMBER') AS runtime
         FROM pg_roles WHERE rolname = $1`,
      [t.env.DATABASE_RUNTIME_USER],
    );
    expect(rows).toEqual([
      {
        rolsuper: false,
        rolcreatedb: false,
        rolcreaterole: false,
        rolbypassrls: false,
        rolcanlogin: true,
        runtime: true,
      },
    ]);
    expect(await problem(app)).toBeUndefined();
    expect(await problem(owner)).toMatch(/^the database login "postgres" is a superuser: /);

    // A login outside the group, and one that owns the schema without being a superuser.
    const outsider = `pbtest_outsider_${randomBytes(4).toString('hex')}`;
    const schemaOwner = `pbtest_owner_${randomBytes(4).toString('hex')}`;
    extraRoles.push(outsider, schemaOwner);
    await owner.query(`CREATE ROLE ${outsider} LOGIN`);
    await owner.query(`CREATE ROLE ${schemaOwner} LOGIN`);
    const asOutsider = await connectAs(outsider);
    expect(await problem(asOutsider)).toMatch(
      new RegExp(`^the database login "${outsider}" is not a member of protobank_runtime: `),
    );
    await asOutsider.end();
    await owner.query(`ALTER SCHEMA transactions OWNER TO ${schemaOwner}`);
    try {
      const asOwner = await connectAs(schemaOwner);
      expect(await problem(asOwner)).toMatch(
        new RegExp(`^the database login "${schemaOwner}" owns the schema: `),
      );
      await asOwner.end();
    } finally {
      await owner.query(`ALTER SCHEMA transactions OWNER TO postgres`);
    }
  });

  it('reads and writes every module table, but never updates or deletes the journal or the audit log', async () => {
    const { rows } = await owner.query<{ name: string; privileges: string }>(
      `SELECT format('%s.%s', schemaname, tablename) AS name,
              concat_ws(',',
                CASE WHEN has_table_privilege($1, c.oid, 'SELECT') THEN 'SELECT' END,
                CASE WHEN has_table_privilege($1, c.oid, 'INSERT') THEN 'INSERT' END,
                CASE WHEN has_table_privilege($1, c.oid, 'UPDATE') THEN 'UPDATE' END,
                CASE WHEN has_table_privilege($1, c.oid, 'DELETE') THEN 'DELETE' END,
                CASE WHEN has_table_privilege($1, c.oid, 'TRUNCATE') THEN 'TRUNCATE' END,
                CASE WHEN has_table_privilege($1, c.oid, 'TRIGGER') THEN 'TRIGGER' END,
                CASE WHEN has_table_privilege($1, c.oid, 'REFERENCES') THEN 'REFERENCES' END) AS privileges
         FROM pg_tables t
         JOIN pg_class c ON c.relname = t.tablename
         JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = t.schemaname
        WHERE schemaname = ANY($2)
        ORDER BY 1`,
      [t.env.DATABASE_RUNTIME_USER, [...MODULE_SCHEMAS, 'ops', 'public']],
    );
    expect(rows.length).toBeGreaterThan(40);
    for (const { name, privileges } of rows) {
      const expected = APPEND_ONLY.includes(name)
        ? 'SELECT,INSERT'
        : name === 'ops.backups' || name === 'public.migrations'
          ? 'SELECT'
          : 'SELECT,INSERT,UPDATE,DELETE';
      expect({ name, privileges }).toEqual({ name, privileges: expected });
    }
    const schemas = await owner.query(
      `SELECT nspname, has_schema_privilege($1, nspname, 'USAGE') AS usage,
              has_schema_privilege($1, nspname, 'CREATE') AS "create"
         FROM pg_namespace WHERE nspname = ANY($2) ORDER BY 1`,
      [t.env.DATABASE_RUNTIME_USER, [...MODULE_SCHEMAS, 'ops']],
    );
    expect(schemas.rows).toEqual(
      [...MODULE_SCHEMAS, 'ops'].sort().map((nspname) => ({ nspname, usage: true, create: false })),
    );
  });

  it('cannot switch off the ledger triggers, rewrite history, record a backup or change the schema', async () => {
    const attempts = [
      'ALTER TABLE transactions.postings DISABLE TRIGGER ALL',
      'UPDATE transactions.postings SET amount = amount',
      'DELETE FROM transactions.entries',
      'DELETE FROM users.audit_log',
      'UPDATE users.audit_log SET reason = reason',
      'TRUNCATE analytics.movements',
      "INSERT INTO ops.backups (file, bytes, seconds) VALUES ('forged', 1, 1)",
      'DELETE FROM public.migrations',
      'CREATE TABLE transactions.scratch (id int)',
      'DROP TABLE accounts.accounts',
      'CREATE SCHEMA scratch',
      'ALTER ROLE CURRENT_USER SUPERUSER',
    ];
    const outcomes = [];
    for (const sql of attempts) outcomes.push({ sql, outcome: await refusal(app, sql) });
    expect(outcomes).toEqual(attempts.map((sql) => ({ sql, outcome: DENIED })));
  });

  it('runs the analytics rebuild steps that need the owner only through their functions', async () => {
    const names = async () =>
      (
        await owner.query<{ oid: string; relname: string }>(
          `SELECT c.oid::text, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'analytics' AND c.relname IN ('movements', 'movements_rebuild') ORDER BY 2`,
        )
      ).rows;
    const before = await names();
    await app.query(`INSERT INTO analytics.movements_rebuild SELECT * FROM analytics.movements LIMIT 0`);
    await app.query('SELECT analytics.clear_rebuild_staging()');
    await app.query('SELECT analytics.swap_rebuild_staging()');
    const swapped = await names();
    // The same two tables, each under the other's name, keeping their grants.
    expect(swapped.map((r) => r.oid)).toEqual([before[1].oid, before[0].oid]);
    expect(await refusal(app, 'SELECT count(*) FROM analytics.movements')).toBe('allowed');
    await app.query('SELECT analytics.swap_rebuild_staging()');
    expect(await names()).toEqual(before);
    // Not callable by a login outside the group.
    const stranger = `pbtest_stranger_${randomBytes(4).toString('hex')}`;
    extraRoles.push(stranger);
    await owner.query(`CREATE ROLE ${stranger} LOGIN`);
    const asStranger = await connectAs(stranger);
    expect(await refusal(asStranger, 'SELECT analytics.swap_rebuild_staging()')).toBe(DENIED);
    await asStranger.end();
  });

  it("sets the login's password as the SCRAM verifier Postgres itself stores for it", async () => {
    const probe = `pbtest_scram_${randomBytes(4).toString('hex')}`;
    extraRoles.push(probe);
    const password = randomBytes(24).toString('hex');
    // Postgres's own verifier for the password, then ours with its salt and iteration count.
    await owner.query(`SET password_encryption = 'scram-sha-256'`);
    await owner.query(`CREATE ROLE ${probe} LOGIN PASSWORD '${password}'`);
    const stored = async () =>
      (await owner.query<{ v: string }>(`SELECT rolpassword AS v FROM pg_authid WHERE rolname = $1`, [probe]))
        .rows[0].v;
    const theirs = await stored();
    const [, iterations, salt] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(theirs)!;
    expect(scramVerifier(password, Buffer.from(salt, 'base64'), Number(iterations))).toBe(theirs);

    // ensureRuntimeLogin sends a verifier for the same password, with a fresh salt.
    await ensureRuntimeLogin(owner, probe, password);
    const ours = await stored();
    expect(ours).not.toBe(theirs);
    const [, ourIterations, ourSalt] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(ours)!;
    expect(scramVerifier(password, Buffer.from(ourSalt, 'base64'), Number(ourIterations))).toBe(ours);
    expect(
      (await owner.query(`SELECT pg_has_role($1, 'protobank_runtime', 'MEMBER') AS m`, [probe])).rows[0].m,
    ).toBe(true);
    // Run again (every migrate does): the same login, still in the group; no password takes it away.
    await ensureRuntimeLogin(owner, probe, undefined);
    expect(await stored()).toBeNull();
    await expect(ensureRuntimeLogin(owner, 'protobank_runtime', undefined)).rejects.toThrow(
      /not a plain role name other than protobank_runtime/,
    );
    await expect(ensureRuntimeLogin(owner, 'bad"name', undefined)).rejects.toThrow(/not a plain role name/);
    await expect(ensureRuntimeLogin(owner, probe, 'with space')).rejects.toThrow(/printable ASCII/);
  });
});
