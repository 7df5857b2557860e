import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

/** The group role migration 1763700000031 grants the apps' privileges to (rows only: no DDL). */
export const RUNTIME_ROLE = 'protobank_runtime';

/** What a runtime login may be called: a plain, unquoted Postgres identifier that is not the group. */
export const RUNTIME_USER_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

interface Queryable {
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

/**
 * Makes `user` a login in RUNTIME_ROLE, creating it when missing, so the apps connect with the rows'
 * privileges rather than the owner's (run by `migrate` after the migrations, as the owner). With a
 * password, the login's password is set to it, sent as a SCRAM-SHA-256 verifier as psql's \password does,
 * so the plain password never reaches the server's statement log or pg_stat_statements; without one
 * (trust or peer authentication, as in the tests) the login has none. The login gets nothing else: not
 * superuser, no CREATEDB or CREATEROLE, no bypass of row security, and it is never the schema's owner.
 */
export async function ensureRuntimeLogin(
  db: Queryable,
  user: string,
  password: string | undefined,
): Promise<void> {
  if (!RUNTIME_USER_PATTERN.test(user) || user === RUNTIME_ROLE) {
    throw new Error(`DATABASE_RUNTIME_USER "${user}" is not a plain role name other than ${RUNTIME_ROLE}`);
  }
  // Postgres normalises a non-ASCII password (SASLprep) before hashing it; this verifier does not.
  if (password !== undefined && !/^[\x21-\x7e]{1,1024}$/.test(password)) {
    throw new Error(
      'DATABASE_RUNTIME_PASSWORD must be printable ASCII without spaces (openssl rand -hex 24)',
    );
  }
  const secret = password === undefined ? 'NULL' : `'${scramVerifier(password)}'`;
  const attributes = `LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION PASSWORD ${secret}`;
  // The name is checked above (no quoting needed); the verifier is base64 and `$`, `:` only.
  await db.query(`
    DO $$ BEGIN
      IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${user}') THEN
        ALTER ROLE ${user} ${attributes};
      ELSE
        CREATE ROLE ${user} ${attributes};
      END IF;
    END $$`);
  await db.query(`GRANT ${RUNTIME_ROLE} TO ${user}`);
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
