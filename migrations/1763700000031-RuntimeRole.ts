import type { MigrationInterface, QueryRunner } from 'typeorm';
import { MODULE_SCHEMAS } from './1763700000000-Foundation';

/**
 * protobank_runtime: the privileges the running apps need and nothing more. The apps used to connect as
 * the role that owns the schema (in the compose stack a superuser): one injected statement could then
 * disable the ledger's append-only triggers, rewrite the audit trail or drop a schema. Now they log in as
 * a member of this group role (`migrate` creates the login, DATABASE_RUNTIME_USER), which may read and
 * write rows and nothing else: no DDL, no TRUNCATE, no UPDATE or DELETE on the journal, its postings or
 * the audit log, and only SELECT on the migrations table (readiness) and on ops.backups (the backup-age
 * metric).
 *
 * The analytics rebuild's two catalogue steps (empty the staging twins, swap them with the live tables by
 * renaming) need the owner: two SECURITY DEFINER functions do exactly those and nothing else, with a
 * pinned search_path, executable by this role only.
 *
 * A group role is cluster-wide, so it is created only if missing (parallel migrations of two databases
 * on one server may race to create it). Tables later migrations create get the same grants through
 * default privileges for the role that runs migrations; a migrations test checks every table.
 */
const RUNTIME_ROLE = 'protobank_runtime';
const APPEND_ONLY = ['transactions.entries', 'transactions.postings', 'users.audit_log'];
const TWINS = [
  ['movements', 'movements_rebuild'],
  ['daily_rollups', 'daily_rollups_rebuild'],
];
const OWNER_STEPS = {
  'analytics.clear_rebuild_staging': `TRUNCATE ${TWINS.map(([, staging]) => `analytics.${staging}`).join(', ')};`,
  'analytics.swap_rebuild_staging': TWINS.map(
    ([live, staging]) => `
      ALTER TABLE analytics.${live} RENAME TO ${live}_swapping;
      ALTER TABLE analytics.${staging} RENAME TO ${live};
      ALTER TABLE analytics.${live}_swapping RENAME TO ${staging};`,
  ).join(''),
};

export class RuntimeRole1763700000031 implements MigrationInterface {
  name = 'RuntimeRole1763700000031';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${RUNTIME_ROLE}') THEN
          CREATE ROLE ${RUNTIME_ROLE} NOLOGIN;
        END IF;
      EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
      END $$`);
    for (const schema of MODULE_SCHEMAS) {
      await q.query(`GRANT USAGE ON SCHEMA ${schema} TO ${RUNTIME_ROLE}`);
      await q.query(
        `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${schema} TO ${RUNTIME_ROLE}`,
      );
      await q.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${schema} TO ${RUNTIME_ROLE}`);
      await q.query(
        `ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${RUNTIME_ROLE}`,
      );
      await q.query(
        `ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} GRANT USAGE, SELECT ON SEQUENCES TO ${RUNTIME_ROLE}`,
      );
    }
    for (const table of APPEND_ONLY) {
      await q.query(`REVOKE UPDATE, DELETE ON ${table} FROM ${RUNTIME_ROLE}`);
    }
    for (const [fn, body] of Object.entries(OWNER_STEPS)) {
      await q.query(`
        CREATE FUNCTION ${fn}() RETURNS void LANGUAGE plpgsql SECURITY DEFINER
          SET search_path = pg_catalog, pg_temp
        AS $$ BEGIN ${body} END $$`);
      await q.query(`REVOKE ALL ON FUNCTION ${fn}() FROM PUBLIC`);
      await q.query(`GRANT EXECUTE ON FUNCTION ${fn}() TO ${RUNTIME_ROLE}`);
    }
    // The group is the server's: another database's login in it must not connect here. migrate grants
    // CONNECT to this database's own login.
    await q.query(`
      DO $$ BEGIN
        EXECUTE format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
      END $$`);
    await q.query(`GRANT USAGE ON SCHEMA ops TO ${RUNTIME_ROLE}`);
    await q.query(`GRANT SELECT ON ops.backups TO ${RUNTIME_ROLE}`);
    await q.query(`GRANT SELECT ON public.migrations TO ${RUNTIME_ROLE}`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DO $$ BEGIN
        EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO PUBLIC', current_database());
      END $$`);
    for (const fn of Object.keys(OWNER_STEPS)) await q.query(`DROP FUNCTION ${fn}()`);
    await q.query(`REVOKE ALL ON public.migrations FROM ${RUNTIME_ROLE}`);
    await q.query(`REVOKE ALL ON ALL TABLES IN SCHEMA ops FROM ${RUNTIME_ROLE}`);
    await q.query(`REVOKE ALL ON SCHEMA ops FROM ${RUNTIME_ROLE}`);
    for (const schema of MODULE_SCHEMAS) {
      await q.query(
        `ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} REVOKE ALL ON SEQUENCES FROM ${RUNTIME_ROLE}`,
      );
      await q.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} REVOKE ALL ON TABLES FROM ${RUNTIME_ROLE}`);
      await q.query(`REVOKE ALL ON ALL SEQUENCES IN SCHEMA ${schema} FROM ${RUNTIME_ROLE}`);
      await q.query(`REVOKE ALL ON ALL TABLES IN SCHEMA ${schema} FROM ${RUNTIME_ROLE}`);
      await q.query(`REVOKE ALL ON SCHEMA ${schema} FROM ${RUNTIME_ROLE}`);
    }
    // The group role stays: it is the server's, and another database's grants or logins may use it.
  }
}
