import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

/** The group role migration 1763700000031 grants the apps' privileges to (rows only: no DDL). */
export const RUNTIME_ROLE = 'protobank_runtime';

/** What a runtime login may be called: a plain, unquoted Postgres identifier that is not the group. */
export const RUNTIME_USER_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

/** A pg client or a TypeORM DataSource. */
export interface Queryable {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

/**
 * Creates the group role when this server lacks it (as migration 1763700000031 does; two databases'
 * migrations or restores may race to create it). The restore runs it before pg_restore, whose grants
 * name it.
 */
export async function ensureRuntimeGroup(db: Queryable): Promise<void> {
  await db.query(`
    DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${RUNTIME_ROLE}') THEN
        CREATE ROLE ${RUNTIME_ROLE} NOLOGIN;
      END IF;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END $$`);
}

/** DATABASE_RUNTIME_USER is a plain role name (no quoting needed) other than the group's. */
export function assertRuntimeUserName(user: string): void {
  if (!RUNTIME_USER_PATTERN.test(user) || user === RUNTIME_ROLE) {
    throw new Error(`DATABASE_RUNTIME_USER "${user}" is not a plain role name other than ${RUNTIME_ROLE}`);
  }
}

/**
 * Makes `user` a login in RUNTIME_ROLE, creating it when missing, so the apps connect with the rows'
 * privileges rather than the owner's (run by `migrate` after the migrations, as the owner, which needs
 * CREATEROLE and, from Postgres 16, ADMIN on the group: it created it). A password is sent as a
 * SCRAM-SHA-256 verifier, as psql's \password does, so the plain password never reaches the server's
 * statement log or pg_stat_statements; without one, a new login gets none (trust or peer authentication,
 * as in the tests) and an existing one keeps its own.
 *
 * A role that exists already is only made a login, given the password and put in the group, and only if
 * it could do no more than the group: a superuser, a role with CREATEROLE, CREATEDB, REPLICATION or
 * BYPASSRLS, the login running this, or a member of the schema's owner is refused, never altered (a
 * DATABASE_RUNTIME_USER naming the owner by mistake would otherwise be stripped of what migrate needs, or
 * keep it and run the apps with it).
 */
export async function ensureRuntimeLogin(
  db: Queryable,
  user: string,
  password: string | undefined,
): Promise<void> {
  assertRuntimeUserName(user);
  // Postgres normalises a non-ASCII password (SASLprep) before hashing it; this verifier does not.
  if (password !== undefined && !/^[\x21-\x7e]{1,1024}$/.test(password)) {
    throw new Error(
      'DATABASE_RUNTIME_PASSWORD must be printable ASCII without spaces (openssl rand -hex 24)',
    );
  }
  const found = await rows<{ wider: boolean }>(
    db,
    `SELECT r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication OR r.rolbypassrls
            OR r.rolname = current_user
            OR pg_has_role(r.oid, (SELECT nspowner FROM pg_namespace WHERE nspname = 'transactions'), 'MEMBER')
            AS wider
       FROM pg_roles r WHERE r.rolname = $1`,
    [user],
  );
  if (found[0]?.wider) {
    throw new Error(
      `DATABASE_RUNTIME_USER "${user}" is a role that can do more than ${RUNTIME_ROLE} (a superuser, the owner, or a role that may create roles or databases): name a login of its own, e.g. protobank_app`,
    );
  }
  // The name is checked above (no quoting needed); the verifier is base64 and `$`, `:` only.
  const secret = password === undefined ? '' : ` PASSWORD '${scramVerifier(password)}'`;
  await db.query(found.length ? `ALTER ROLE ${user} LOGIN${secret}` : `CREATE ROLE ${user} LOGIN${secret}`);
  await db.query(`GRANT ${RUNTIME_ROLE} TO ${user}`);
  await connectOnlyAs(db, user);
}

/**
 * This database takes connections from its owner, superusers and `user` only: PUBLIC's CONNECT and
 * TEMPORARY are revoked (migration 1763700000031 does it too; a restored database has them back, since a
 * dump holds no database grants). The group role is the server's, so another Protobank database's login
 * on the same server, a member of the same group, could otherwise reach this one's rows.
 */
export async function connectOnlyAs(db: Queryable, user: string): Promise<void> {
  if (!RUNTIME_USER_PATTERN.test(user)) throw new Error(`"${user}" is not a plain role name`);
  await db.query(`
    DO $$ BEGIN
      EXECUTE format('REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
      EXECUTE format('GRANT CONNECT ON DATABASE %I TO ${user}', current_database());
    END $$`);
}

/** The rows of a query, whether `db` is a pg client (result.rows) or a TypeORM DataSource (the rows). */
export async function rows<T>(db: Queryable, sql: string, params: unknown[] = []): Promise<T[]> {
  const result = (await db.query(sql, params)) as T[] | { rows: T[] };
  return Array.isArray(result) ? result : result.rows;
}

/**
 * The SCRAM-SHA-256 verifier Postgres stores for `password` (RFC 5802/7677, as PQencryptPasswordConn
 * makes it): `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, base64. Passwords are taken as
 * given (Postgres applies SASLprep only to non-ASCII ones; secrets:init writes hex).
 */
export function scramVerifier(password: string, salt = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, 32, 'sha256');
  const hmac = (key: Buffer, text: string) => createHmac('sha256', key).update(text).digest();
  const storedKey = createHash('sha256').update(hmac(salted, 'Client Key')).digest();
  const serverKey = hmac(salted, 'Server Key');
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
