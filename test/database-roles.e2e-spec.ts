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
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Client } from 'pg';
import { MODULE_SCHEMAS } from '../migrations/1763700000000-Foundation';
import { processes } from './support/processes';
import { createTestEnv, PG_BASE, type TestEnv } from './support/test-env';

const APPEND_ONLY = [
  'transactions.entries',
  'transactions.postings',
  'users.audit_log',
  'users.superseded_documents',
];
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
  /** A login of its own for a probe, allowed to connect here (PUBLIC may not). */
  const login = async (name: string, attributes = '') => {
    extraRoles.push(name);
    await owner.query(`CREATE ROLE ${name} LOGIN ${attributes}`);
    await owner.query(`GRANT CONNECT ON DATABASE "${new URL(t.databaseUrl).pathname.slice(1)}" TO ${name}`);
  };
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
    // The database first: the probes' CONNECT grants on it would keep their roles from being dropped.
    await t?.cleanup();
    const admin = new Client({ connectionString: PG_BASE });
    await admin.connect();
    try {
      for (const role of extraRoles) await admin.query(`DROP ROLE IF EXISTS ${role}`);
    } finally {
      await admin.end();
    }
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
    expect(await runtimeRoleProblem(app)).toBeUndefined();
    expect(await runtimeRoleProblem(owner)).toMatch(/^the database login "postgres" is a superuser: /);

    // A login outside the group, and one that owns the schema without being a superuser.
    const outsider = `pbtest_outsider_${randomBytes(4).toString('hex')}`;
    const schemaOwner = `pbtest_owner_${randomBytes(4).toString('hex')}`;
    await login(outsider);
    await login(schemaOwner);
    const asOutsider = await connectAs(outsider);
    expect(await runtimeRoleProblem(asOutsider)).toMatch(
      new RegExp(`^the database login "${outsider}" is not a member of protobank_runtime: `),
    );
    await asOutsider.end();
    await owner.query(`ALTER SCHEMA transactions OWNER TO ${schemaOwner}`);
    try {
      const asOwner = await connectAs(schemaOwner);
      expect(await runtimeRoleProblem(asOwner)).toMatch(
        new RegExp(`^the database login "${schemaOwner}" owns the schema: `),
      );
      await asOwner.end();
    } finally {
      await owner.query(`ALTER SCHEMA transactions OWNER TO postgres`);
    }
  });

  it("takes connections only from its own login: not another database's in the same group, nor PUBLIC", async () => {
    const name = new URL(t.databaseUrl).pathname.slice(1);
    const { rows } = await owner.query(
      `SELECT has_database_privilege('public', $1, 'CONNECT') AS public_connect,
              has_database_privilege('public', $1, 'TEMPORARY') AS public_temp,
              has_database_privilege($2, $1, 'CONNECT') AS own_connect,
              has_database_privilege($2, $1, 'TEMPORARY') AS own_temp`,
      [name, t.env.DATABASE_RUNTIME_USER],
    );
    expect(rows).toEqual([{ public_connect: false, public_temp: false, own_connect: true, own_temp: false }]);
    // Another Protobank database's login on this server: a member of the same (server-wide) group.
    const neighbour = `pbtest_neighbour_${randomBytes(4).toString('hex')}`;
    extraRoles.push(neighbour);
    await owner.query(`CREATE ROLE ${neighbour} LOGIN IN ROLE protobank_runtime`);
    await expect(connectAs(neighbour)).rejects.toMatchObject({ code: DENIED });
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
      // What a migration keeps for its down (the addresses it rewrote): no app reads it, so none may.
      const keptForDown = name === 'ops.email_spellings_1763700000049';
      const expected = keptForDown
        ? ''
        : APPEND_ONLY.includes(name)
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
    await login(stranger);
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
    // Run again (every migrate does) without a password: the login keeps the one it has.
    await ensureRuntimeLogin(owner, probe, undefined);
    expect(await stored()).toBe(ours);
    await expect(ensureRuntimeLogin(owner, 'protobank_runtime', undefined)).rejects.toThrow(
      /not a plain role name other than protobank_runtime/,
    );
    await expect(ensureRuntimeLogin(owner, 'bad"name', undefined)).rejects.toThrow(/not a plain role name/);
    await expect(ensureRuntimeLogin(owner, probe, 'with space')).rejects.toThrow(/printable ASCII/);
  });

  it('refuses, and leaves as it was, an existing role that can do more than the group', async () => {
    const wide = `pbtest_wide_${randomBytes(4).toString('hex')}`;
    await login(wide, 'CREATEDB');
    const attributes = async (name: string) =>
      (
        await owner.query(
          `SELECT rolsuper, rolcreatedb, rolpassword IS NULL AS no_password,
                  pg_has_role(rolname, 'protobank_runtime', 'MEMBER') AS runtime
             FROM pg_authid WHERE rolname = $1`,
          [name],
        )
      ).rows[0];
    const before = { wide: await attributes(wide), postgres: await attributes('postgres') };
    for (const name of [wide, 'postgres']) {
      await expect(ensureRuntimeLogin(owner, name, 'a0b1c2d3e4f5')).rejects.toThrow(
        `DATABASE_RUNTIME_USER "${name}" is a role that can do more than protobank_runtime`,
      );
    }
    expect({ wide: await attributes(wide), postgres: await attributes('postgres') }).toEqual(before);
  });

  it('migrate in production will not make the login without its password (the apps would be locked out)', () => {
    const res = spawnSync(process.execPath, [join(__dirname, '../dist/apps/migrate/src/main.js')], {
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        DATABASE_URL: `postgres://bank:${randomBytes(12).toString('hex')}@127.0.0.1:5432/protobank_never`,
        REDIS_URL: 'redis://127.0.0.1:6379',
        RABBITMQ_URL: `amqp://bank:${randomBytes(12).toString('hex')}@127.0.0.1:5672`,
        DATABASE_RUNTIME_USER: 'protobank_app',
      },
      encoding: 'utf8',
    });
    expect(res.status).toBe(1);
    expect(res.stderr).toContain(
      'DATABASE_RUNTIME_USER needs DATABASE_RUNTIME_PASSWORD (or DATABASE_RUNTIME_PASSWORD_FILE) in production',
    );
  });
});
